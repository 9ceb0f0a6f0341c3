import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { ApiClient } from '../api/client';
import { fetchUserNames, MAX_IDS_PER_REQUEST, personLabel, UserNameCache, type UserName } from './userNames';

const ADA = '0190f0a8-1111-7000-8000-00000000000a';
const GRACE = '0190f0a8-2222-7000-8000-00000000000b';
const GONE = '0190f0a8-3333-7000-8000-00000000dead';

/** A cache whose gateway knows `people`, and the id lists it was asked for. */
function cacheOf(people: UserName[], delayMs = 10) {
  const asked: string[][] = [];
  const fetchNames = vi.fn(async (ids: string[]) => {
    asked.push(ids);
    return people.filter((p) => ids.includes(p.id));
  });
  return { cache: new UserNameCache(fetchNames, delayMs), asked, fetchNames };
}

const ADA_NAME: UserName = { id: ADA, name: 'Ada Lovelace' };
const GRACE_NAME: UserName = { id: GRACE, name: 'Grace Hopper' };
const PEOPLE = [ADA_NAME, GRACE_NAME];

describe('UserNameCache', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('batches the ids asked in the same moment into one request, once each, leaving out what is no user id', async () => {
    const { cache, asked } = cacheOf(PEOPLE);

    const changes = vi.fn();
    cache.subscribe(changes);

    cache.request([ADA, 'service:gateway']);
    cache.request([GRACE, ADA, 'github', '']);
    cache.request([GONE]);
    expect(asked).toEqual([]); // nothing goes before the batch window ends
    await vi.advanceTimersByTimeAsync(10);

    expect(asked).toEqual([[ADA, GRACE, GONE]]);
    expect(changes).toHaveBeenCalledTimes(1);
    expect(cache.name(ADA)).toBe('Ada Lovelace');
    expect(cache.name(GRACE)).toBe('Grace Hopper');
    expect(cache.name(GONE)).toBeNull(); // asked, and nobody has that id
    expect(cache.name('service:gateway')).toBeUndefined();
  });

  it('keeps names for the session: known and unknown ids are not asked again', async () => {
    const { cache, asked } = cacheOf(PEOPLE);
    cache.request([ADA, GONE]);
    await vi.advanceTimersByTimeAsync(10);

    cache.request([ADA, GONE, ADA.toUpperCase()]);
    cache.request([GRACE]);
    await vi.advanceTimersByTimeAsync(10);

    expect(asked).toEqual([[ADA, GONE], [GRACE]]);
    expect(cache.name(ADA.toUpperCase())).toBe('Ada Lovelace');
  });

  it('does not ask again for ids already in flight', async () => {
    let answer: (users: UserName[]) => void = () => {};
    const fetchNames = vi.fn(() => new Promise<UserName[]>((resolve) => (answer = resolve)));
    const cache = new UserNameCache(fetchNames, 10);
    cache.request([ADA]);
    await vi.advanceTimersByTimeAsync(10);

    cache.request([ADA]);
    await vi.advanceTimersByTimeAsync(10);
    answer([ADA_NAME]);
    await vi.advanceTimersByTimeAsync(0);

    expect(fetchNames).toHaveBeenCalledTimes(1);
    expect(cache.name(ADA)).toBe('Ada Lovelace');
  });

  it('splits more ids than the gateway takes into several requests', async () => {
    const { cache, asked } = cacheOf([]);
    const ids = Array.from({ length: MAX_IDS_PER_REQUEST + 5 }, (_, i) => `0190f0a8-0000-7000-8000-${String(i).padStart(12, '0')}`);

    cache.request(ids);
    await vi.advanceTimersByTimeAsync(10);

    expect(asked.map((batch) => batch.length)).toEqual([MAX_IDS_PER_REQUEST, 5]);
    expect(asked.flat()).toEqual(ids);
  });

  it('forgets the ids of a failed request, so a later page asks again', async () => {
    const fetchNames = vi.fn().mockRejectedValueOnce(new Error('gateway down')).mockResolvedValueOnce([ADA_NAME]);
    const cache = new UserNameCache(fetchNames, 10);
    const changes = vi.fn();
    cache.subscribe(changes);

    cache.request([ADA]);
    await vi.advanceTimersByTimeAsync(10);
    expect(cache.name(ADA)).toBeUndefined();
    expect(changes).toHaveBeenCalled(); // the waiting is over; the fallback label stands

    cache.request([ADA]);
    await vi.advanceTimersByTimeAsync(10);
    expect(fetchNames).toHaveBeenCalledTimes(2);
    expect(cache.name(ADA)).toBe('Ada Lovelace');
  });

  it('clear() forgets every name and drops answers to the previous session', async () => {
    let answer: (users: UserName[]) => void = () => {};
    const cache = new UserNameCache(() => new Promise((resolve) => (answer = resolve)), 10);
    const changes = vi.fn();
    const unsubscribe = cache.subscribe(changes);
    cache.request([ADA]);
    await vi.advanceTimersByTimeAsync(10);
    const before = cache.snapshot();

    cache.clear();
    answer([ADA_NAME]); // the answer to the previous session's request
    await vi.advanceTimersByTimeAsync(0);

    expect(cache.name(ADA)).toBeUndefined();
    expect(cache.snapshot()).not.toBe(before);
    expect(changes).toHaveBeenCalledTimes(1);
    unsubscribe();
  });
});

describe('personLabel', () => {
  const names = new Map([[ADA, 'Ada Lovelace']]);

  it("says the person's name once known", () => {
    expect(personLabel(ADA, GRACE, names)).toBe('Ada Lovelace');
  });

  it('falls back to what who() says: "you", a short id, or the subject as it is', () => {
    expect(personLabel(ADA, ADA, names)).toBe('you');
    expect(personLabel(GONE, ADA, names)).toBe('user 0000dead');
    expect(personLabel('service:gateway', ADA, names)).toBe('service:gateway');
    expect(personLabel(null, ADA, names)).toBe('unknown');
  });
});

describe('fetchUserNames', () => {
  it('asks the gateway with one repeated id parameter per user, as the signed-in caller', async () => {
    const calls: { url: string; auth: string | undefined }[] = [];
    const fetch = vi.fn(async (input: RequestInfo | URL, init: RequestInit = {}) => {
      const url = String(input);
      calls.push({ url, auth: (init.headers as Record<string, string>).authorization });
      const body = url.endsWith('/auth/login')
        ? { accessToken: 't1', tokenType: 'Bearer', expiresIn: 900, user: { id: ADA, email: 'a@b.c', name: 'Ada', role: 'viewer', disabled: false } }
        : { users: [GRACE_NAME] };
      return new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' } });
    });
    const client = new ApiClient({ fetch: fetch as unknown as typeof globalThis.fetch, lock: (_n, run) => run() });
    await client.login('a@b.c', 'pw');

    const users = await fetchUserNames([GRACE, GONE], client);

    expect(users).toEqual([GRACE_NAME]);
    expect(calls.at(-1)).toEqual({ url: `/api/v1/users/names?id=${GRACE}&id=${GONE}`, auth: 'Bearer t1' });
  });
});
