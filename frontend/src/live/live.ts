// The application's one live socket, bound to the API client's in-memory token, and the hooks views use.

import { useEffect, useRef, useState } from 'react';

import { api } from '../api/client';
import { LiveSocket, type LiveEvent, type LiveStatus } from './socket';

function wsUrl(): string {
  const { protocol, host } = window.location;
  return `${protocol === 'https:' ? 'wss:' : 'ws:'}//${host}/api/v1/ws`;
}

export const live = new LiveSocket({
  url: wsUrl,
  token: () => api.getAccessToken(),
  refreshToken: () => api.refresh().then(
    () => true,
    () => false,
  ),
});

// Every refresh re-authenticates the socket, so it outlives each 15-minute token; sign-out closes it.
api.onSession((session) => (session ? live.connect() : live.close()));

/** Calls `onEvent` for each event of `topics`, and `onResync` after a reconnect, while mounted. */
export function useLive(topics: string[], onEvent: (e: LiveEvent) => void, onResync?: () => void): void {
  const handlers = useRef({ onEvent, onResync });
  handlers.current = { onEvent, onResync };
  const key = [...new Set(topics)].sort().join(' ');
  useEffect(() => {
    if (!key) return undefined;
    return live.subscribe(key.split(' '), {
      onEvent: (e) => handlers.current.onEvent(e),
      onResync: () => handlers.current.onResync?.(),
    });
  }, [key]);
}

export function useLiveStatus(): LiveStatus {
  const [status, setStatus] = useState<LiveStatus>(live.status);
  useEffect(() => live.onStatus(setStatus), []);
  return status;
}

/** A function that runs `fn` at most once per `ms`, trailing (for refetches triggered by bursts of events). */
export function useDebounced(fn: () => void, ms: number): () => void {
  const ref = useRef(fn);
  ref.current = fn;
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  useEffect(() => () => {
    if (timer.current) clearTimeout(timer.current);
  }, []);
  const stable = useRef(() => {
    if (timer.current) return;
    timer.current = setTimeout(() => {
      timer.current = null;
      ref.current();
    }, ms);
  });
  return stable.current;
}
