// One room as a view holds it: the newest page of history over REST, older pages on demand (`before`), then the live
// feed of its `room:<id>` topic, resumed from the last event id held (`after`) after a reconnect. A gap in event ids
// or `resync_required` refetches what is missing over REST (`after`), so nothing is lost or shown twice. Actions
// referenced by messages are fetched once and kept current by `chat.action` events and the decision answers.

import { useCallback, useEffect, useRef, useState } from 'react';

import { live } from '../live/live';
import type { TopicMessage } from '../live/socket';
import { decideAction, getAction, HISTORY_PAGE, listMessages, postMessage } from './api';
import { roomTopic } from './rooms';
import type { ChatAction, ChatMessage, Decision } from './types';

/** The most messages one catch-up request asks for (the gateway's limit). */
const CATCH_UP_PAGE = 100;

export interface RoomView {
  messages: ChatMessage[];
  actions: Record<string, ChatAction>;
  loading: boolean;
  error: unknown;
  /** Older messages exist (the first one held is not event 1). */
  hasOlder: boolean;
  loadingOlder: boolean;
  /** Why the live feed refused this room, if it did. */
  liveError: string | null;
  loadOlder: () => Promise<void>;
  send: (text: string) => Promise<void>;
  decide: (id: string, decision: Decision) => Promise<ChatAction>;
  reload: () => void;
}

/** Merges `incoming` into `held` by event id (the newer copy wins), oldest first. */
export function mergeMessages(held: ChatMessage[], incoming: ChatMessage[]): ChatMessage[] {
  if (incoming.length === 0) return held;
  const byId = new Map(held.map((m) => [m.eventId, m]));
  for (const m of incoming) byId.set(m.eventId, m);
  return [...byId.values()].sort((a, b) => a.eventId - b.eventId);
}

function newClientMsgId(): string {
  const c = globalThis.crypto;
  if (c && 'randomUUID' in c) return c.randomUUID();
  return `m-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
}

export function useRoom(room: string): RoomView {
  const [messages, setMessages] = useState<ChatMessage[]>([]);
  const [actions, setActions] = useState<Record<string, ChatAction>>({});
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<unknown>(null);
  const [hasOlder, setHasOlder] = useState(false);
  const [loadingOlder, setLoadingOlder] = useState(false);
  const [liveError, setLiveError] = useState<string | null>(null);
  const [generation, setGeneration] = useState(0);
  const [loaded, setLoaded] = useState(false);

  // The newest event id held (the resume cursor) and the oldest (the `before` cursor), read by callbacks.
  const last = useRef(0);
  const first = useRef(0);
  const current = useRef(room);
  const asked = useRef(new Set<string>());
  const catchingUp = useRef<Promise<void> | null>(null);

  const upsertAction = useCallback((action: ChatAction) => {
    setActions((held) => {
      const old = held[action.id];
      // Events may arrive out of order with REST answers: keep the later state.
      if (old && old.updatedAt > action.updatedAt) return held;
      return { ...held, [action.id]: action };
    });
  }, []);

  const fetchAction = useCallback(
    (id: string) => {
      getAction(id).then(upsertAction, () => asked.current.delete(id));
    },
    [upsertAction],
  );

  const accept = useCallback(
    /** `fresh`: an action already held as of these messages (a post's answer), not to be read again. */
    (incoming: ChatMessage[], forRoom: string, fresh?: string) => {
      if (forRoom !== current.current) return;
      const mine = incoming.filter((m) => m.room === forRoom);
      if (mine.length === 0) return;
      for (const m of mine) {
        if (m.eventId > last.current) last.current = m.eventId;
        if (first.current === 0 || m.eventId < first.current) first.current = m.eventId;
        const id = m.payload?.actionId;
        // A note about an action (decided, executed, expired): its card changes, so read the action again.
        if (typeof id === 'string' && id !== fresh && (!asked.current.has(id) || m.payload?.kind === 'action')) {
          asked.current.add(id);
          fetchAction(id);
        }
      }
      setMessages((held) => mergeMessages(held, mine));
    },
    [fetchAction],
  );

  /** Fetches everything after the last event id held, page by page. One at a time. */
  const catchUp = useCallback((): Promise<void> => {
    if (catchingUp.current) return catchingUp.current;
    const forRoom = room;
    const run = async () => {
      for (;;) {
        const page = await listMessages(forRoom, { after: last.current, limit: CATCH_UP_PAGE });
        accept(page, forRoom);
        if (page.length < CATCH_UP_PAGE || forRoom !== current.current) return;
      }
    };
    catchingUp.current = run()
      .catch(() => undefined)
      .finally(() => {
        catchingUp.current = null;
      });
    return catchingUp.current;
  }, [room, accept]);

  // The newest page.
  useEffect(() => {
    current.current = room;
    last.current = 0;
    first.current = 0;
    asked.current = new Set();
    setMessages([]);
    setActions({});
    setLoading(true);
    setLoaded(false);
    setError(null);
    setLiveError(null);
    const controller = new AbortController();
    listMessages(room, { limit: HISTORY_PAGE }, controller.signal).then(
      (page) => {
        if (controller.signal.aborted) return;
        accept(page, room);
        setHasOlder(page.length === HISTORY_PAGE && (page[0]?.eventId ?? 1) > 1);
        setLoading(false);
        setLoaded(true);
      },
      (e: unknown) => {
        if (controller.signal.aborted) return;
        setError(e);
        setLoading(false);
      },
    );
    return () => controller.abort();
  }, [room, generation, accept]);

  // The live feed, once the newest page is held (so the subscription resumes right after it).
  useEffect(() => {
    if (!loaded) return undefined;
    const topic = roomTopic(room);
    const onMessage = (message: TopicMessage) => {
      switch (message.type) {
        case 'chat.message': {
          const m = message.message as ChatMessage;
          if (m.eventId > last.current + 1 && last.current > 0) void catchUp();
          else accept([m], room);
          return;
        }
        case 'chat.action':
          upsertAction(message.action as ChatAction);
          return;
        case 'resync_required':
          void catchUp();
          return;
        case 'error':
          setLiveError(typeof message.message === 'string' ? message.message : 'The live feed refused this room.');
          return;
        default:
          return;
      }
    };
    return live.subscribe([topic], {
      onEvent: () => undefined,
      onMessage,
      after: () => last.current,
    });
  }, [room, loaded, accept, catchUp, upsertAction]);

  const loadOlder = useCallback(async () => {
    if (loadingOlder || first.current <= 1) return;
    const forRoom = room;
    setLoadingOlder(true);
    try {
      const page = await listMessages(forRoom, { before: first.current, limit: HISTORY_PAGE });
      accept(page, forRoom);
      if (forRoom === current.current) setHasOlder(page.length === HISTORY_PAGE && (page[0]?.eventId ?? 1) > 1);
    } finally {
      setLoadingOlder(false);
    }
  }, [room, loadingOlder, accept]);

  const send = useCallback(
    async (text: string) => {
      const posted = await postMessage(room, newClientMsgId(), text);
      if (posted.action) {
        asked.current.add(posted.action.id);
        upsertAction(posted.action);
      }
      accept([posted.message, ...posted.replies], room, posted.action?.id);
    },
    [room, accept, upsertAction],
  );

  const decide = useCallback(
    async (id: string, decision: Decision) => {
      const action = await decideAction(id, decision);
      upsertAction(action);
      return action;
    },
    [upsertAction],
  );

  const reload = useCallback(() => setGeneration((g) => g + 1), []);

  return { messages, actions, loading, error, hasOlder, loadingOlder, liveError, loadOlder, send, decide, reload };
}
