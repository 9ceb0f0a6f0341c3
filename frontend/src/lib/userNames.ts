// People's display names for the user ids the API carries (who triggered a pipeline, who owns a project), for every
// signed-in role. Ids asked for in the same moment — every row of a list asks in the same commit — go to the gateway
// as one `GET /api/v1/users/names` (at most 100 ids a request), and names are kept for the session. Until a name
// arrives, and for ids that have none (deleted users; service accounts are no UUIDs and are never asked),
// `personLabel` says what `who()` always said: "you", or a short id.

import { createContext, useContext, useEffect, useMemo, useSyncExternalStore } from 'react';

import { api, type ApiClient } from '../api/client';
import { useAuth } from '../auth/AuthContext';
import { who } from './format';

/** Who a user id is: the gateway answers nothing else about a user. */
export interface UserName {
  id: string;
  name: string;
}

export type FetchNames = (ids: string[]) => Promise<UserName[]>;

/** The most ids the gateway takes in one request. */
export const MAX_IDS_PER_REQUEST = 100;

const USER_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether `value` looks like a user id (a UUID); anything else (`service:gateway`, `github`) has no name to ask for. */
export function isUserId(value: string | null | undefined): value is string {
  return !!value && USER_ID.test(value);
}

/** `GET /api/v1/users/names?id=…&id=…`: the known users among `ids`. */
export async function fetchUserNames(ids: string[], client: ApiClient = api): Promise<UserName[]> {
  const query = ids.map((id) => `id=${encodeURIComponent(id)}`).join('&');
  const body = await client.get<{ users: UserName[] }>(`/api/v1/users/names?${query}`);
  return body.users;
}

/**
 * Names by id, filled in batches. An id is asked for once: its answer (a name, or "no such user") is kept until
 * `clear()`. A failed request forgets its ids, so a later page asks again instead of showing short ids for good.
 */
export class UserNameCache {
  /** Lower-cased id → name, or null when the gateway knows no such user. */
  private readonly known = new Map<string, string | null>();
  /** Lower-cased ids queued or in flight. */
  private readonly waiting = new Set<string>();
  private queue: string[] = [];
  private timer: ReturnType<typeof setTimeout> | null = null;
  private readonly listeners = new Set<() => void>();
  private version = 0;
  /** Bumped by `clear()`: answers to requests of an earlier session are dropped. */
  private generation = 0;

  /** `delayMs`: how long ids gather before a request goes (the rows of one render all land well within it). */
  constructor(
    private readonly fetchNames: FetchNames,
    private readonly delayMs = 10,
  ) {}

  /** The name of `id`: a string once known, null when there is none, undefined while unknown. */
  name(id: string): string | null | undefined {
    return this.known.get(id.toLowerCase());
  }

  /** Queues the ids not known nor asked for yet; the next batch goes after `delayMs`. */
  request(ids: Iterable<string>): void {
    for (const raw of ids) {
      if (!isUserId(raw)) continue;
      const id = raw.toLowerCase();
      if (this.known.has(id) || this.waiting.has(id)) continue;
      this.waiting.add(id);
      this.queue.push(id);
    }
    if (this.queue.length > 0 && this.timer === null) {
      this.timer = setTimeout(() => this.flush(), this.delayMs);
    }
  }

  /** Forgets every name (another user signed in, or nobody is). */
  clear(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.queue = [];
    this.known.clear();
    this.waiting.clear();
    this.generation += 1;
    this.changed();
  }

  /** For useSyncExternalStore: called whenever names arrive or are forgotten. */
  readonly subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  /** For useSyncExternalStore: changes whenever what `name()` answers may have. */
  readonly snapshot = (): number => this.version;

  private flush(): void {
    this.timer = null;
    const ids = this.queue;
    this.queue = [];
    for (let start = 0; start < ids.length; start += MAX_IDS_PER_REQUEST) {
      void this.load(ids.slice(start, start + MAX_IDS_PER_REQUEST));
    }
  }

  private async load(ids: string[]): Promise<void> {
    const generation = this.generation;
    let users: UserName[] | null = null;
    try {
      users = await this.fetchNames(ids);
    } catch {
      // Leave them unknown: the fallback label stands, and the next page that shows them asks again.
    }
    if (generation !== this.generation) return;
    for (const id of ids) this.waiting.delete(id);
    if (users) {
      for (const user of users) this.known.set(user.id.toLowerCase(), user.name);
      for (const id of ids) if (!this.known.has(id)) this.known.set(id, null);
    }
    this.changed();
  }

  private changed(): void {
    this.version += 1;
    for (const listener of this.listeners) listener();
  }
}

/** The application's cache, asking the gateway through the application's client. */
export const userNames = new UserNameCache((ids) => fetchUserNames(ids));

// Names are kept for one session: forget them when someone else signs in or nobody is.
let sessionUser: string | null = null;
api.onSession((session) => {
  const next = session?.userId ?? null;
  if (next !== sessionUser) {
    sessionUser = next;
    userNames.clear();
  }
});

/** Which cache `useUserNames` reads: the application's, or a test's. */
export const UserNamesContext = createContext<UserNameCache>(userNames);

/**
 * The names known so far of the users among `ids` (by id as given), asking for the missing ones. The caller's own id
 * is not asked for (`personLabel` says "you"), nor anything that is not a user id.
 */
export function useUserNames(ids: readonly (string | null | undefined)[]): ReadonlyMap<string, string> {
  const cache = useContext(UserNamesContext);
  const me = useAuth().session?.userId;
  const key = [...new Set(ids.filter((id): id is string => isUserId(id) && id !== me))].sort().join(' ');
  const version = useSyncExternalStore(cache.subscribe, cache.snapshot);

  useEffect(() => {
    if (key) cache.request(key.split(' '));
  }, [cache, key]);

  return useMemo(() => {
    const names = new Map<string, string>();
    for (const id of key ? key.split(' ') : []) {
      const name = cache.name(id);
      if (name) names.set(id, name);
    }
    return names;
    // `version` is what changes when names arrive.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [cache, key, version]);
}

/** Who did something, as the viewer reads it: "you", the person's name once known, else `who()`'s short id. */
export function personLabel(
  subject: string | null | undefined,
  me: string | null | undefined,
  names: ReadonlyMap<string, string>,
): string {
  if (subject && subject !== me) {
    const name = names.get(subject);
    if (name) return name;
  }
  return who(subject, me);
}
