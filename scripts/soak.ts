/**
 * `npm run soak`: a bounded soak of the real Node process. Starts the gateway (`node src/node.ts`)
 * over a faulty loopback upstream in its own process (slow answers, 5xx, 429, resets, bad and
 * hostile JSON, hangs), drives an open-loop mix of requests at a fixed rate (valid and invalid,
 * GET and POST, `each` fan-outs, required calls that fail), checks every answer against the
 * response contract, and prints a short table: answers by status, violations, RSS and open file
 * descriptors at start and end. Exit 1 on any violation. Not part of `npm test`.
 *
 *   npm run soak                          60 s at 100 requests/s
 *   npm run soak -- --seconds 15 --rate 200 [--max-in-flight 50] [--seed 7]
 *
 * Violations: the gateway exited; an error-level log line (an internal fault) or anything on its
 * stderr (warnings, unhandled rejections); a 5xx other than 502, 503 (`overloaded`) and 504; an
 * answer missing, late (10 s) or reset; an answer that breaks the contract (scripts/lib/contract.ts);
 * open fds still above their idle count (+ 8) once the load is over and connections idle out.
 * RSS is reported, not judged: a heap grows until the collector decides otherwise.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { aggregateProblems, errorCode, generalProblems, type EndpointShape } from './lib/contract.ts';
import { loadClient, openLoop, percentile, prng, type Answer, type Shot } from './lib/load.ts';
import { exitOnSignals, freePort, lineMatching, openFds, rssMb, sampleRss, startChild, startUpstreamProcess } from './lib/processes.ts';

const FD_SLACK = 8;
const WARM_UP_S = 2;
const SETTLE_MS = 15_000;
const ANSWER_TIMEOUT_MS = 10_000;

function settings(): { seconds: number; rate: number; maxInFlight?: string; seed: number } {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '60' },
      rate: { type: 'string', default: '100' },
      'max-in-flight': { type: 'string' },
      seed: { type: 'string', default: '1' },
    },
  });
  const seconds = Number(values.seconds);
  const rate = Number(values.rate);
  if (!(Number.isInteger(seconds) && seconds >= 10 && seconds <= 3600)) throw new Error(`--seconds must be a whole number from 10 to 3600, got ${values.seconds}`);
  if (!(Number.isInteger(rate) && rate >= 1 && rate <= 2000)) throw new Error(`--rate must be a whole number of requests per second from 1 to 2000, got ${values.rate}`);
  return { seconds, rate, seed: Number(values.seed) || 1, ...(values['max-in-flight'] ? { maxInFlight: values['max-in-flight'] } : {}) };
}

const ID = { type: 'string', pattern: '^[0-9]+$' };

function config(upstream: string) {
  return {
    upstreams: {
      core: { baseUrl: upstream, timeoutMs: 1000, maxConcurrency: 64 },
      slow: { baseUrl: upstream, timeoutMs: 100, maxConcurrency: 32, maxQueue: 200 },
      faulty: {
        baseUrl: upstream,
        timeoutMs: 200,
        maxConcurrency: 32,
        retry: { attempts: 2, backoffMs: 20 },
        circuitBreaker: { failureRatio: 0.9, minimumRequests: 20, openMs: 1000 },
      },
    },
    endpoints: [
      {
        path: '/v1/page/:id',
        deadlineMs: 1500,
        input: {
          params: { id: ID },
          query: {
            ms: { type: 'integer', minimum: 0, maximum: 1000, required: true },
            fault: { type: 'string', enum: ['ok', 'reset', 'badjson', 'deep', 'hang'], required: true },
            status: { type: 'integer', enum: [200, 429, 500, 503], required: true },
          },
        },
        calls: {
          profile: { upstream: 'core', path: '/ok/{params.id}', required: true },
          slow: { upstream: 'slow', path: '/delay/{query.ms}/{params.id}', fallback: [] },
          extra: { upstream: 'faulty', path: '/{query.fault}/{params.id}' },
          flaky: { upstream: 'faulty', path: '/status/{query.status}/{params.id}', fallback: { status: 'unknown' } },
        },
      },
      {
        path: '/v1/strict/:id',
        deadlineMs: 800,
        input: {
          params: { id: ID },
          query: { ms: { type: 'integer', minimum: 0, maximum: 1000, required: true }, status: { type: 'integer', enum: [200, 500, 503], required: true } },
        },
        calls: {
          must: { upstream: 'faulty', path: '/status/{query.status}/{params.id}', required: true, retry: false },
          also: { upstream: 'slow', path: '/delay/{query.ms}/{params.id}', required: true },
        },
      },
      {
        path: '/v1/items',
        deadlineMs: 2000,
        maxConcurrency: 4,
        input: { query: { ids: { type: 'array', items: ID, maxItems: 20, required: true } } },
        calls: { items: { upstream: 'core', path: '/ok/{item}', each: '{query.ids}' } },
      },
      {
        method: 'POST',
        path: '/v1/echo',
        deadlineMs: 1000,
        input: { body: { name: { type: 'string', maxLength: 50, required: true }, tags: { type: 'array', maxItems: 10 } } },
        calls: { echo: { upstream: 'core', path: '/echo', method: 'POST', body: { name: '{body.name}', tags: '{body.tags}' }, required: true } },
      },
    ],
  };
}

const SHAPES: Record<string, EndpointShape> = {
  page: { calls: ['profile', 'slow', 'extra', 'flaky'], required: ['profile'] },
  strict: { calls: ['must', 'also'], required: ['must', 'also'] },
  items: { calls: ['items'], required: [] },
  echo: { calls: ['echo'], required: ['echo'] },
};

/** The request mix: mostly valid aggregates with faults inside, some invalid and unknown requests. */
function mix(random: () => number): () => Shot {
  const pick = <T>(weighted: [T, number][]): T => {
    let r = random() * weighted.reduce((n, [, w]) => n + w, 0);
    for (const [value, w] of weighted) if ((r -= w) < 0) return value;
    return weighted[0]![0];
  };
  const id = (): number => 1 + Math.floor(random() * 100_000);
  return () => {
    const kind = pick<string>([['page', 50], ['strict', 15], ['items', 15], ['echo', 10], ['invalid', 5], ['unknown', 5]]);
    switch (kind) {
      case 'page': {
        const ms = pick([[0, 4], [20, 3], [50, 2], [150, 1]]);
        const fault = pick([['ok', 70], ['reset', 8], ['badjson', 8], ['deep', 7], ['hang', 7]]);
        const status = pick([[200, 80], [500, 8], [503, 8], [429, 4]]);
        return { tag: JSON.stringify({ kind, ms, fault, status }), path: `/v1/page/${id()}?ms=${ms}&fault=${fault}&status=${status}` };
      }
      case 'strict': {
        const ms = pick([[0, 6], [20, 2], [150, 2]]);
        const status = pick([[200, 8], [500, 1], [503, 1]]);
        return { tag: JSON.stringify({ kind, ms, status }), path: `/v1/strict/${id()}?ms=${ms}&status=${status}` };
      }
      case 'items': {
        const ids = Array.from({ length: 1 + Math.floor(random() * 20) }, id);
        return { tag: JSON.stringify({ kind, ids }), path: `/v1/items?ids=${ids.join(',')}` };
      }
      case 'echo': {
        const name = `n${id()}`;
        return {
          tag: JSON.stringify({ kind, name }),
          path: '/v1/echo',
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ name, tags: ['a', 'b'] }),
        };
      }
      case 'invalid':
        return { tag: JSON.stringify({ kind }), path: `/v1/page/not-a-number?ms=0&fault=ok&status=200` };
      default:
        return { tag: JSON.stringify({ kind }), path: `/v1/nowhere/${id()}` };
    }
  };
}

type Tag = { kind: string; ms?: number; fault?: string; status?: number; ids?: number[]; name?: string };

/** Problems with one answer, general and per endpoint. */
function check(answer: Answer): string[] {
  const problems = generalProblems(answer);
  if (answer.status === 0 || answer.status === 503 || problems.length > 0) return problems;
  const tag = JSON.parse(answer.shot.tag) as Tag;
  if (tag.kind === 'invalid') return answer.status === 400 && errorCode(answer.body) === 'invalid_request' ? [] : [`invalid input answered ${answer.status}`];
  if (tag.kind === 'unknown') return answer.status === 404 && errorCode(answer.body) === 'not_found' ? [] : [`unknown route answered ${answer.status}`];
  if (![200, 502, 504].includes(answer.status)) return [`${tag.kind} answered ${answer.status}: ${answer.body.slice(0, 200)}`];
  const { problems: shape, body } = aggregateProblems(answer, SHAPES[tag.kind]!);
  problems.push(...shape);
  if (!body) return problems;
  const failed = new Set(body.errors.map((e) => e.call));
  if (tag.kind === 'page') {
    // A fault in the upstream's answer must fail that call, never pass as data.
    if (tag.fault !== 'ok' && !failed.has('extra') && answer.status === 200) problems.push(`page: extra answered /${tag.fault} but did not fail`);
    if (tag.status !== 200 && !failed.has('flaky') && answer.status === 200) problems.push(`page: flaky answered ${tag.status} but did not fail`);
    if (failed.has('slow') && JSON.stringify(body.data.slow) !== '[]') problems.push('page: failed slow call without its fallback');
  }
  if (tag.kind === 'strict' && answer.status === 200 && (tag.status !== 200 || (tag.ms ?? 0) >= 100)) problems.push(`strict: 200 for status ${tag.status} after ${tag.ms} ms`);
  if (tag.kind === 'items' && answer.status === 200) {
    const items = body.data.items as ({ id?: string } | null)[];
    if (!Array.isArray(items) || items.length !== tag.ids?.length) problems.push('items: not one element per id');
    else items.forEach((item, i) => item !== null && item.id !== String(tag.ids?.[i]) && problems.push('items: element out of order'));
  }
  if (tag.kind === 'echo' && answer.status === 200) {
    const echoed = (body.data.echo as { echo?: { name?: string } } | null)?.echo?.name;
    if (echoed !== tag.name) problems.push('echo: body not passed on');
  }
  return problems;
}

async function main(): Promise<void> {
  exitOnSignals();
  const s = settings();
  const dir = await mkdtemp(join(tmpdir(), 'tributary-soak-'));
  const upstream = await startUpstreamProcess();
  const configFile = join(dir, 'soak.config.json');
  await writeFile(configFile, JSON.stringify(config(upstream.url), null, 2));
  const port = await freePort();
  const gateway = startChild('src/node.ts', {
    TRIBUTARY_CONFIG: configFile,
    PORT: String(port),
    TRIBUTARY_ACCESS_LOG: '0',
    ...(s.maxInFlight ? { TRIBUTARY_MAX_IN_FLIGHT: s.maxInFlight } : {}),
  });
  const base = `http://127.0.0.1:${port}`;
  const violations = new Map<string, { count: number; example: string }>();
  const violate = (kind: string, example: string): void => {
    const v = violations.get(kind) ?? { count: 0, example };
    v.count++;
    violations.set(kind, v);
  };
  const byStatus = new Map<number, number>();
  const latencies: number[] = [];
  try {
    await lineMatching(gateway, /listening on/);
    const limitLine = await lineMatching(gateway, /requests in flight/);
    const idle = { rss: rssMb(gateway.pid), fds: openFds(gateway.pid) };
    const client = loadClient(512);
    let start = idle;
    const warm = setTimeout(() => (start = { rss: rssMb(gateway.pid), fds: openFds(gateway.pid) }), WARM_UP_S * 1000);
    const peak = sampleRss(gateway.pid, 250);
    // RSS at each quarter of the load: a leak climbs steadily, a heap finding its size flattens.
    const quarters: number[] = [];
    const quarterTimers = [1, 2, 3, 4].map((q) => setTimeout(() => quarters.push(rssMb(gateway.pid)), (q * s.seconds * 1000) / 4 - 50));
    let crashed: number | string | undefined;
    void gateway.exited.then((code) => (crashed = code));
    const limit = /at most (\d+)/.exec(limitLine)?.[1] ?? '?';
    console.error(`soak: ${s.seconds} s at ${s.rate} requests/s against ${base} (pid ${gateway.pid}, at most ${limit} in flight)`);

    const load = await openLoop({
      base,
      client,
      rate: s.rate,
      seconds: s.seconds,
      timeoutMs: ANSWER_TIMEOUT_MS,
      next: mix(prng(s.seed)),
      onAnswer: (answer) => {
        byStatus.set(answer.status, (byStatus.get(answer.status) ?? 0) + 1);
        if (answer.status !== 0) latencies.push(answer.latencyMs);
        for (const problem of check(answer)) violate(problem.replace(/\d+/g, 'N'), `${problem} (${answer.shot.path})`);
      },
    });
    clearTimeout(warm);
    for (const timer of quarterTimers) clearTimeout(timer);
    const peakRss = peak.stop();
    await client.close();
    // Idle connections close on their own (the upstream's keep-alive is 5 s): wait for the fds to come back, bounded.
    const settleUntil = performance.now() + SETTLE_MS;
    while (crashed === undefined && performance.now() < settleUntil && openFds(gateway.pid) > idle.fds) await new Promise((r) => setTimeout(r, 250));
    const end = crashed === undefined ? { rss: rssMb(gateway.pid), fds: openFds(gateway.pid) } : { rss: Number.NaN, fds: Number.NaN };
    if (crashed !== undefined) violate('the gateway exited during the soak', `exit ${crashed}`);
    else if (end.fds > idle.fds + FD_SLACK) violate('open fds above their idle count after the load', `${end.fds} vs ${idle.fds} idle`);

    const exit = await gateway.stop(10_000);
    if (crashed === undefined && exit !== 0) violate('the gateway did not exit 0 on SIGTERM', `exit ${exit}`);
    for (const line of gateway.stdoutLines()) {
      if (/"level":"(error|fatal)"/.test(line)) violate('an error logged by the gateway', line.slice(0, 300));
    }
    if (gateway.stderr().trim() !== '') violate('output on the gateway’s stderr', gateway.stderr().trim().split('\n').slice(0, 5).join(' | '));

    latencies.sort((a, b) => a - b);
    const total = [...byStatus.values()].reduce((a, b) => a + b, 0);
    const statuses = [...byStatus].sort(([a], [b]) => a - b).map(([status, n]) => `${status === 0 ? 'none' : status}: ${n}`).join('  ');
    const count = [...violations.values()].reduce((n, v) => n + v.count, 0);
    const row = (label: string, ...cells: string[]): string => label.padEnd(18) + cells.map((c) => c.padStart(10)).join('');
    console.log(
      [
        `soak: ${s.seconds} s at ${s.rate} req/s, ${load.sent} requests, ${total} answered, last answer ${((load.lastAnswerAt - load.loadEndedAt) / 1000).toFixed(1)} s after the load`,
        `answers           ${statuses}`,
        `latency           p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms, max ${(latencies.at(-1) ?? Number.NaN).toFixed(0)} ms`,
        row('', 'idle', 'start', 'end', 'peak'),
        row('RSS MB', idle.rss.toFixed(1), start.rss.toFixed(1), end.rss.toFixed(1), peakRss.toFixed(1)),
        row('open fds', String(idle.fds), String(start.fds), String(end.fds), ''),
        `RSS by quarter    ${quarters.map((q) => q.toFixed(0)).join(' → ')} MB`,
        `violations        ${count}`,
        ...[...violations].map(([kind, v]) => `  ${String(v.count).padStart(6)} × ${kind}\n           e.g. ${v.example}`),
        `(start: after ${WARM_UP_S} s of load; end: after the load, once idle connections closed; fds may stay up to ${FD_SLACK} above idle)`,
      ].join('\n'),
    );
    process.exitCode = count > 0 ? 1 : 0;
  } finally {
    await gateway.stop(2000);
    await upstream.child.stop(2000);
    await rm(dir, { recursive: true, force: true });
  }
}

try {
  await main();
} catch (error) {
  console.error((error as Error).message);
  process.exitCode = 2;
}
