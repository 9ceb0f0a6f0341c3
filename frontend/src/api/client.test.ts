import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { ApiClient } from './client';
import { ApiError, describeError } from './errors';

type Handler = (url: string, init: RequestInit) => Response | Promise<Response>;

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(body === undefined ? null : JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json', ...headers },
  });
}

const user = { id: 'u1', email: 'a@b.c', name: 'Ada', role: 'admin', disabled: false };
const grant = (token: string, expiresIn = 900) => ({ accessToken: token, tokenType: 'Bearer', expiresIn, user });

function client(handler: Handler) {
  const calls: { url: string; method: string; auth: string | null }[] = [];
  const fetch = vi.fn(async (input: RequestInfo | URL, init: RequestInit = {}) => {
    const url = String(input);
    const headers = (init.headers ?? {}) as Record<string, string>;
    calls.push({ url, method: init.method ?? 'GET', auth: headers.authorization ?? null });
    return handler(url, init);
  });
  const api = new ApiClient({ fetch: fetch as unknown as typeof globalThis.fetch, lock: (_n, run) => run() });
  return { api, calls, fetch };
}

describe('ApiClient', () => {
  beforeEach(() => vi.useRealTimers());
  afterEach(() => vi.useRealTimers());

  it('keeps the access token in memory and sends it as a bearer token', async () => {
    const { api, calls } = client((url) =>
      url.endsWith('/auth/login') ? json(200, grant('t1')) : json(200, { items: [] }),
    );
    const session = await api.login('a@b.c', 'pw');
    expect(session).toMatchObject({ userId: 'u1', name: 'Ada', role: 'admin' });
    await api.get('/api/v1/projects', { query: { q: 'api', pageToken: undefined } });
    expect(calls[1]).toEqual({ url: '/api/v1/projects?q=api', method: 'GET', auth: 'Bearer t1' });
    expect(localStorage.length + sessionStorage.length).toBe(0);
  });

  it('refreshes once for concurrent 401s and retries each request with the new token', async () => {
    let refreshes = 0;
    const { api, calls } = client(async (url, init) => {
      const auth = (init.headers as Record<string, string>).authorization;
      if (url.endsWith('/auth/login')) return json(200, grant('old'));
      if (url.endsWith('/auth/refresh')) {
        refreshes += 1;
        await new Promise((r) => setTimeout(r, 10));
        return json(200, grant('new'));
      }
      return auth === 'Bearer new' ? json(200, { ok: url }) : json(401, { error: { code: 'unauthenticated', message: 'token expired' } });
    });
    await api.login('a@b.c', 'pw');
    const answers = await Promise.all([api.get('/a'), api.get('/b'), api.get('/c')]);
    expect(answers).toEqual([{ ok: '/a' }, { ok: '/b' }, { ok: '/c' }]);
    expect(refreshes).toBe(1);
    expect(calls.filter((c) => c.auth === 'Bearer new')).toHaveLength(3);
  });

  it('ends the session when the refresh cookie is refused', async () => {
    const { api } = client((url) => {
      if (url.endsWith('/auth/login')) return json(200, grant('old'));
      if (url.endsWith('/auth/refresh')) return json(401, { error: { code: 'unauthenticated', message: 'refresh token reused' } });
      return json(401, { error: { code: 'unauthenticated', message: 'expired' } });
    });
    await api.login('a@b.c', 'pw');
    const seen: unknown[] = [];
    api.onSession((s) => seen.push(s));
    const error = await api.get('/x').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).kind).toBe('unauthenticated');
    expect(seen).toEqual([null]);
    expect(api.getAccessToken()).toBeNull();
  });

  it('restores a session from the cookie on load, or says there is none', async () => {
    const ok = client((url) => (url.endsWith('/auth/refresh') ? json(200, grant('t')) : json(404, {})));
    expect(await ok.api.restore()).toBe(true);
    expect(ok.api.getSession()?.name).toBe('Ada');
    const none = client(() => json(401, { error: { code: 'unauthenticated', message: 'no refresh token' } }));
    expect(await none.api.restore()).toBe(false);
  });

  it('refreshes on a timer before the token expires', async () => {
    vi.useFakeTimers();
    let refreshes = 0;
    const { api } = client((url) => {
      if (url.endsWith('/auth/login')) return json(200, grant('t0', 900));
      refreshes += 1;
      return json(200, grant(`t${refreshes}`, 900));
    });
    await api.login('a@b.c', 'pw');
    await vi.advanceTimersByTimeAsync(838_000);
    expect(refreshes).toBe(0);
    await vi.advanceTimersByTimeAsync(3_000); // 60 s before expiry
    expect(refreshes).toBe(1);
    expect(api.getAccessToken()).toBe('t1');
  });

  it('asks /auth/me for the caller when a grant carries no user', async () => {
    const { api } = client((url) => {
      if (url.endsWith('/auth/refresh')) return json(200, { accessToken: 't', tokenType: 'Bearer', expiresIn: 900 });
      if (url.endsWith('/auth/me')) return json(200, { id: 'u2', name: 'Bo', role: 'viewer', expiresAt: null });
      return json(404, {});
    });
    await api.refresh();
    expect(api.getSession()).toMatchObject({ userId: 'u2', role: 'viewer' });
  });

  it('logs out even when the server cannot be reached', async () => {
    const { api } = client((url) => {
      if (url.endsWith('/auth/login')) return json(200, grant('t'));
      throw new TypeError('Failed to fetch');
    });
    await api.login('a@b.c', 'pw');
    await expect(api.logout()).rejects.toMatchObject({ kind: 'network' });
    expect(api.getSession()).toBeNull();
  });
});

describe('error mapping', () => {
  const fail = async (response: Response) => {
    const { api } = client((url) => (url.endsWith('/auth/login') ? json(200, grant('t')) : response));
    await api.login('a@b.c', 'pw');
    return (await api.get('/x').catch((e: unknown) => e)) as ApiError;
  };

  it('reads the gateway JSON error body', async () => {
    const e = await fail(json(400, { error: { code: 'invalid_argument', message: 'slug: must be lowercase' } }, { 'x-request-id': 'r1' }));
    expect(e).toMatchObject({ kind: 'invalid', status: 400, code: 'invalid_argument', message: 'slug: must be lowercase', requestId: 'r1' });
  });

  it.each([
    [403, 'forbidden'],
    [404, 'not_found'],
    [409, 'conflict'],
    [503, 'unavailable'],
    [500, 'server'],
  ] as const)('maps %i to %s, with a message even without a JSON body', async (status, kind) => {
    const e = await fail(new Response('<html>oops</html>', { status }));
    expect(e.kind).toBe(kind);
    expect(e.message.length).toBeGreaterThan(5);
  });

  it('tells a lockout from a rate limit and says how long to wait', async () => {
    const locked = await fail(json(429, { error: { code: 'account_locked', message: 'account_locked: too many failures' } }, { 'retry-after': '840' }));
    expect(locked).toMatchObject({ kind: 'locked', retryAfterSeconds: 840 });
    expect(describeError(locked)).toBe('Too many failed sign-ins: this account is locked. Try again in 14 minutes.');
    const limited = await fail(json(429, { error: { code: 'rate_limited', message: 'slow down' } }, { 'retry-after': '5' }));
    expect(limited.kind).toBe('rate_limited');
    expect(describeError(limited)).toBe('Too many attempts. Try again in 5 seconds.');
  });

  it('turns a failed fetch into a network error', async () => {
    const { api } = client((url) => {
      if (url.endsWith('/auth/login')) return json(200, grant('t'));
      throw new TypeError('Failed to fetch');
    });
    await api.login('a@b.c', 'pw');
    await expect(api.get('/x')).rejects.toMatchObject({ kind: 'network', status: 0 });
  });
});
