// A room's messages, oldest at the top: earlier ones load upward (a button, or scrolling to the top), the view stays
// at the bottom while new ones arrive (unless the reader scrolled up), and the scroll position holds when older
// messages are put above. Text is rendered as text (React escapes it): a message never becomes HTML.

import { Bot, Info } from 'lucide-react';
import { useLayoutEffect, useRef, type ReactNode } from 'react';

import type { Session } from '../api/client';
import { dateTime, relativeTime } from '../lib/format';
import { ActionCard } from './ActionCard';
import type { ChatAction, ChatMessage, Decision } from './types';

export function senderLabel(message: ChatMessage, me: string): string {
  switch (message.sender.kind) {
    case 'user':
      return message.sender.id === me ? 'You' : message.sender.name;
    case 'bot':
      return 'DevOpsTrack bot';
    default:
      return 'DevOpsTrack';
  }
}

export function MessageItem({ message, me, children }: { message: ChatMessage; me: string; children?: ReactNode }) {
  const kind = message.sender.kind;
  const mine = kind === 'user' && message.sender.kind === 'user' && message.sender.id === me;
  return (
    <li data-testid="chat-message" data-event-id={message.eventId} data-sender={kind} className="flex gap-2.5">
      <div
        aria-hidden
        className={`mt-0.5 flex h-7 w-7 shrink-0 items-center justify-center rounded-full text-xs font-semibold ${
          kind === 'user' ? (mine ? 'bg-cyan/20 text-cyan' : 'bg-surface-2 text-white') : 'bg-ok/15 text-ok'
        }`}
      >
        {kind === 'user' ? senderLabel(message, me).slice(0, 1).toUpperCase() : kind === 'bot' ? <Bot className="h-4 w-4" /> : <Info className="h-4 w-4" />}
      </div>
      <div className="min-w-0 flex-1">
        <p className="text-xs">
          <span className="font-medium text-white">{senderLabel(message, me)}</span>{' '}
          <time className="text-muted" dateTime={message.createdAt} title={dateTime(message.createdAt)}>
            {relativeTime(message.createdAt)}
          </time>
        </p>
        <p className="text-sm break-words whitespace-pre-wrap text-white/90" data-testid="message-text">
          {message.text}
        </p>
        {children}
      </div>
    </li>
  );
}

export function MessageList({
  messages,
  actions,
  me,
  hasOlder,
  loadingOlder,
  onLoadOlder,
  onDecide,
}: {
  messages: ChatMessage[];
  actions: Record<string, ChatAction>;
  me: Pick<Session, 'userId' | 'role'>;
  hasOlder: boolean;
  loadingOlder: boolean;
  onLoadOlder: () => void;
  onDecide: (id: string, decision: Decision) => Promise<unknown>;
}) {
  const box = useRef<HTMLDivElement>(null);
  const firstId = messages[0]?.eventId ?? 0;
  const lastId = messages[messages.length - 1]?.eventId ?? 0;
  const seen = useRef({ firstId: 0, lastId: 0, height: 0, atBottom: true });

  // Keep the reader's place: older messages above do not move the view; new ones below (and action cards arriving)
  // follow it only at the bottom.
  useLayoutEffect(() => {
    const el = box.current;
    if (!el) return;
    const before = seen.current;
    if (before.firstId !== 0 && firstId < before.firstId && lastId === before.lastId) {
      el.scrollTop += el.scrollHeight - before.height;
    } else if (before.atBottom || before.lastId === 0) {
      el.scrollTop = el.scrollHeight;
    }
    seen.current = { firstId, lastId, height: el.scrollHeight, atBottom: seen.current.atBottom };
  }, [firstId, lastId, messages.length, actions]);

  const onScroll = () => {
    const el = box.current;
    if (!el) return;
    seen.current.atBottom = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
    seen.current.height = el.scrollHeight;
    if (el.scrollTop === 0 && hasOlder && !loadingOlder) onLoadOlder();
  };

  // The first message that names an action carries its card; later notes about it are text only.
  const carded = new Set<string>();
  return (
    <div ref={box} onScroll={onScroll} className="min-h-0 flex-1 overflow-y-auto pr-1" data-testid="message-list">
      {hasOlder && (
        <div className="mb-3 flex justify-center">
          <button type="button" className="btn btn-ghost text-xs" onClick={onLoadOlder} disabled={loadingOlder}>
            {loadingOlder ? 'Loading…' : 'Load earlier messages'}
          </button>
        </div>
      )}
      <ol className="space-y-3" aria-label="Messages" aria-live="polite" aria-relevant="additions">
        {messages.map((message) => {
          const id = message.payload?.actionId;
          const action = typeof id === 'string' && !carded.has(id) ? actions[id] : undefined;
          if (action) carded.add(action.id);
          return (
            <MessageItem key={message.eventId} message={message} me={me.userId}>
              {action && <ActionCard action={action} me={me} onDecide={onDecide} />}
            </MessageItem>
          );
        })}
      </ol>
    </div>
  );
}
