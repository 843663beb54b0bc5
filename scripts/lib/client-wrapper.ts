/**
 * The typed fetch wrapper `npm run client` appends to the types openapi-typescript generates.
 * Kept as text because it refers to the generated `paths`; tests/client/typed-client.test.ts
 * type-checks and runs the result.
 */
export const CLIENT_WRAPPER = `
// ---- A tiny typed fetch wrapper over the types above (written by \`npm run client\`). ----

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';
/** The paths that answer \`M\`. */
export type PathsWith<M extends Method> = { [P in keyof paths]: paths[P] extends { [K in M]: { responses: unknown } } ? P : never }[keyof paths];
type Operation<P extends keyof paths, M extends Method> = paths[P] extends { [K in M]: infer O } ? O : never;
type Empty<T> = [T] extends [never] ? true : [T] extends [undefined] ? true : false;

/** What a request takes: \`params\` (path), \`query\` and \`body\`, each only where the endpoint declares it. */
export type RequestOptions<O> = (O extends { parameters: { path: infer T } } ? (Empty<T> extends true ? {} : { params: T }) : {}) &
  (O extends { parameters: { query?: infer Q } } ? (Empty<Q> extends true ? {} : { query?: Q }) : {}) &
  (O extends { requestBody: { content: { 'application/json': infer B } } } ? { body: B } : {}) & {
    signal?: AbortSignal;
    headers?: Record<string, string>;
  };

/** The answer, by status: narrow on \`status\` to get the body's type (200: \`data\`, \`errors\`, \`meta\`). */
export type Answer<O> = O extends { responses: infer R }
  ? { [S in keyof R]: { status: S; headers: Headers; body: R[S] extends { content: { 'application/json': infer B } } ? B : unknown } }[keyof R]
  : never;

type Args<O> = {} extends RequestOptions<O> ? [options?: RequestOptions<O>] : [options: RequestOptions<O>];

export interface ClientOptions {
  /** Sent with every request (an \`authorization\` header, say). */
  headers?: Record<string, string>;
  /** Default: the global \`fetch\`. */
  fetch?: (input: string, init: RequestInit) => Promise<Response>;
}

/**
 * A client for the gateway at \`baseUrl\`: \`client.get('/v1/users/{userId}', { params: { userId: '42' } })\`.
 * Path, parameters, body and answer are all typed from the gateway's OpenAPI document.
 */
export function createClient(baseUrl: string, options: ClientOptions = {}) {
  const send = options.fetch ?? ((input: string, init: RequestInit) => fetch(input, init));
  const base = baseUrl.replace(/\\/+$/, '');
  async function request<M extends Method, P extends PathsWith<M>>(method: M, path: P, ...[given]: Args<Operation<P, M>>): Promise<Answer<Operation<P, M>>> {
    const o = (given ?? {}) as { params?: Record<string, unknown>; query?: Record<string, unknown>; body?: unknown; signal?: AbortSignal; headers?: Record<string, string> };
    const target = String(path).replace(/\\{([^}]+)\\}/g, (_, name: string) => encodeURIComponent(String(o.params?.[name] ?? '')));
    const search = new URLSearchParams();
    for (const [name, value] of Object.entries(o.query ?? {})) {
      if (value === undefined) continue;
      for (const item of Array.isArray(value) ? value : [value]) search.append(name, String(item));
    }
    const query = search.size > 0 ? \`?\${search}\` : '';
    const headers: Record<string, string> = { accept: 'application/json', ...options.headers, ...o.headers };
    if (o.body !== undefined) headers['content-type'] = 'application/json';
    const response = await send(base + target + query, {
      method: method.toUpperCase(),
      headers,
      ...(o.body === undefined ? {} : { body: JSON.stringify(o.body) }),
      ...(o.signal ? { signal: o.signal } : {}),
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: text === '' ? undefined : JSON.parse(text) } as Answer<Operation<P, M>>;
  }
  return {
    request,
    get: <P extends PathsWith<'get'>>(path: P, ...args: Args<Operation<P, 'get'>>) => request('get', path, ...args),
    post: <P extends PathsWith<'post'>>(path: P, ...args: Args<Operation<P, 'post'>>) => request('post', path, ...args),
    put: <P extends PathsWith<'put'>>(path: P, ...args: Args<Operation<P, 'put'>>) => request('put', path, ...args),
    patch: <P extends PathsWith<'patch'>>(path: P, ...args: Args<Operation<P, 'patch'>>) => request('patch', path, ...args),
    delete: <P extends PathsWith<'delete'>>(path: P, ...args: Args<Operation<P, 'delete'>>) => request('delete', path, ...args),
  };
}
`;
