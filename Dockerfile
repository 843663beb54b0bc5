# Tributary on Node 24: a production image.
#
#   docker build -t tributary .
#   docker run --rm -p 8787:8787 -v "$PWD/examples:/config:ro" \
#     -e TRIBUTARY_CONFIG=/config/dashboard.config.json -e USERS_API_KEY=... tributary
#
# Two stages: the first installs the production dependencies from the lockfile (npm ci, no dev
# dependencies: not the `node` package the repository uses for development, not wrangler,
# vitest or TypeScript); the second copies them and the source into a clean image and runs
# as the unprivileged `node` user. Node 24 runs the TypeScript source as it is (type
# stripping), so there is no build step.

ARG NODE_IMAGE=node:24-slim

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# No install scripts: no production dependency needs one (protobufjs's only prints a warning).
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force

FROM ${NODE_IMAGE}
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8787
WORKDIR /app
# Owned by root, run by `node`: the process cannot rewrite its own code or dependencies.
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY src ./src
# `node bin/tributary.js check /config/tributary.json` validates a config with this very image.
COPY bin ./bin
USER node
EXPOSE 8787
# Liveness. Readiness (GET /readyz: 503 once SIGTERM has started the drain) is for the load balancer.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8787) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Node is PID 1 and receives the signal itself: no npm or shell in between to swallow it.
# `docker stop` waits 10 s by default before SIGKILL: give it more than TRIBUTARY_GRACE_MS
# (+ TRIBUTARY_SHUTDOWN_DELAY_MS), e.g. `docker stop -t 15`, `stop_grace_period: 15s`.
STOPSIGNAL SIGTERM
CMD ["node", "src/node.ts"]
