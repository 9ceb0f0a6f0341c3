// The API client: a fetch wrapper that keeps the access token in memory only (never in storage), refreshes it through
// the httpOnly refresh cookie (one refresh at a time, shared by every caller that got a 401, and across tabs through
// the Web Locks API), refreshes it on a timer before it expires, and maps failures to typed ApiErrors.

import { ApiError, errorFromResponse, networkError } from './errors';
import type { Me, Role, TokenGrant } from './types';

export interface Session {
  userId: string;
  name: string;
  role: Role;
  email: string | null;
  /** When the access token expires (ms since the epoch). */
  expiresAt: number;
}

export type Query = Record<string, string | number | boolean | null | undefined>;

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  signal?: AbortSignal;
}

export interface ClientOptions {
  baseUrl?: string;
  fetch?: typeof fetch;
  /** Seconds before expiry at which the timer refreshes (capped at a fifth of the token's life). */
  refreshMarginSeconds?: number;
  /** Serialises refreshes across tabs (a refresh token is single-use); default: navigator.locks when present. */
  lock?: <T>(name: string, run: () => Promise<T>) => Promise<T>;
}

type Listener = (session: Session | null) => void;

const AUTH = '/api/v1/auth';

function defaultLock<T>(name: string, run: () => Promise<T>): Promise<T> {
  const locks = typeof navigator !== 'undefined' ? navigator.locks : undefined;
  return locks ? (locks.request(name, run) as Promise<T>) : run();
}

export class ApiClient {
  private accessToken: string | null = null;
  private session: Session | null = null;
  private refreshing: Promise<string> | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private readonly listeners = new Set<Listener>();
  private readonly baseUrl: string;
  private readonly fetchImpl: typeof fetch;
  private readonly margin: number;
  private readonly lock: <T>(name: string, run: () => Promise<T>) => Promise<T>;

  constructor(options: ClientOptions = {}) {
    this.baseUrl = options.baseUrl ?? '';
    this.fetchImpl = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.margin = options.refreshMarginSeconds ?? 60;
    this.lock = options.lock ?? defaultLock;
  }

  // ---- session ----

  getSession(): Session | null {
    return this.session;
  }

  /** The current access token (for the WebSocket's `auth` message). */
  getAccessToken(): string | null {
    return this.accessToken;
  }

  /** Called with the new session on login and every refresh, and with null when the session ends. */
  onSession(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async login(email: string, password: string): Promise<Session> {
    const grant = await this.send<TokenGrant>('POST', `${AUTH}/login`, { body: { email, password } }, null);
    return this.accept(grant);
  }

  /** Resumes a session from the refresh cookie (page load); false when there is none. */
  async restore(): Promise<boolean> {
    try {
      await this.refresh();
      return true;
    } catch (error) {
      if (error instanceof ApiError && error.kind === 'unauthenticated') return false;
      throw error;
    }
  }

  async logout(): Promise<void> {
    try {
      await this.send<void>('POST', `${AUTH}/logout`, {}, null);
    } finally {
      this.end();
    }
  }

  /** One refresh at a time: concurrent callers share it. Rejects (and ends the session) when the cookie is refused. */
  refresh(): Promise<string> {
    if (!this.refreshing) {
      this.refreshing = this.lock('devopstrack-refresh', async () => {
        const grant = await this.send<TokenGrant>('POST', `${AUTH}/refresh`, {}, null);
        await this.accept(grant);
        return grant.accessToken;
      })
        .catch((error: unknown) => {
          if (error instanceof ApiError && error.kind === 'unauthenticated') this.end();
          throw error;
        })
        .finally(() => {
          this.refreshing = null;
        });
    }
    return this.refreshing;
  }

  private async accept(grant: TokenGrant): Promise<Session> {
    this.accessToken = grant.accessToken;
    const expiresAt = Date.now() + grant.expiresIn * 1000;
    let session: Session;
    if (grant.user?.role) {
      session = {
        userId: grant.user.id,
        name: grant.user.name,
        role: grant.user.role,
        email: grant.user.email,
        expiresAt,
      };
    } else {
      const me = await this.send<Me>('GET', `${AUTH}/me`, {}, grant.accessToken);
      session = { userId: me.id, name: me.name, role: me.role, email: this.session?.email ?? null, expiresAt };
    }
    this.session = session;
    this.schedule(grant.expiresIn);
    this.emit();
    return session;
  }

  private schedule(expiresIn: number): void {
    if (this.timer) clearTimeout(this.timer);
    const margin = Math.min(this.margin, expiresIn / 5);
    const delay = Math.max(1, expiresIn - margin) * 1000;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.refresh().catch((error: unknown) => {
        // A network blip: try again shortly while the token is still valid; a refused cookie ended the session.
        if (error instanceof ApiError && error.kind !== 'unauthenticated' && this.session) this.schedule(10 + margin);
      });
    }, delay);
  }

  private end(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const had = this.session !== null || this.accessToken !== null;
    this.accessToken = null;
    this.session = null;
    if (had) this.emit();
  }

  private emit(): void {
    for (const listener of this.listeners) listener(this.session);
  }

  // ---- requests ----

  get<T>(path: string, options: RequestOptions = {}): Promise<T> {
    return this.request<T>('GET', path, options);
  }
  post<T>(path: string, body?: unknown, options: RequestOptions = {}): Promise<T> {
    return this.request<T>('POST', path, { ...options, body });
  }
  put<T>(path: string, body?: unknown, options: RequestOptions = {}): Promise<T> {
    return this.request<T>('PUT', path, { ...options, body });
  }
  patch<T>(path: string, body?: unknown, options: RequestOptions = {}): Promise<T> {
    return this.request<T>('PATCH', path, { ...options, body });
  }
  delete<T = void>(path: string, options: RequestOptions = {}): Promise<T> {
    return this.request<T>('DELETE', path, options);
  }

  /** An authenticated request: on 401 it refreshes once (shared) and retries; a refused refresh ends the session. */
  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const token = this.accessToken ?? (await this.refresh());
    try {
      return await this.send<T>(method, path, options, token);
    } catch (error) {
      if (!(error instanceof ApiError) || error.kind !== 'unauthenticated') throw error;
      // Another caller may have refreshed meanwhile; otherwise join (or start) the one refresh.
      const retryToken = this.accessToken && this.accessToken !== token ? this.accessToken : await this.refresh();
      return this.send<T>(method, path, options, retryToken);
    }
  }

  private async send<T>(method: string, path: string, options: RequestOptions, token: string | null): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (token) headers.authorization = `Bearer ${token}`;
    let body: string | undefined;
    if (options.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(options.body);
    }
    let response: Response;
    try {
      response = await this.fetchImpl(this.url(path, options.query), {
        method,
        headers,
        body,
        credentials: 'same-origin',
        signal: options.signal,
      });
    } catch (error) {
      if (error instanceof DOMException && error.name === 'AbortError') throw error;
      throw networkError(error);
    }
    if (!response.ok) throw await errorFromResponse(response);
    if (response.status === 204) return undefined as T;
    const text = await response.text();
    return (text ? JSON.parse(text) : undefined) as T;
  }

  private url(path: string, query?: Query): string {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value !== undefined && value !== null && value !== '') params.set(key, String(value));
    }
    const qs = params.toString();
    return `${this.baseUrl}${path}${qs ? `?${qs}` : ''}`;
  }
}

/** The application's one client. */
export const api = new ApiClient();
