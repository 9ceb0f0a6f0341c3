// The dock's panel: a room picker and the room (loaded with the chat's code on first open, not with the shell).

import { X } from 'lucide-react';
import { useEffect, useRef, useState } from 'react';

import { useResource } from '../lib/useResource';
import { listRooms } from './api';
import { ChatRoom } from './ChatRoom';
import { GENERAL, roomLabel, sortRooms } from './rooms';

const STORE_KEY = 'devopstrack.dock.room';

export default function DockPanel({ titleId, onClose }: { titleId: string; onClose: () => void }) {
  const [room, setRoom] = useState(() => sessionStorage.getItem(STORE_KEY) ?? GENERAL);
  const rooms = useResource((signal) => listRooms(signal), []);
  const composer = useRef<HTMLTextAreaElement>(null);
  const ids = sortRooms(rooms.data?.map((r) => r.id) ?? [GENERAL]);
  const known = ids.includes(room) ? room : GENERAL;

  useEffect(() => composer.current?.focus(), [known]);

  return (
    <section
      role="dialog"
      aria-modal="false"
      aria-labelledby={titleId}
      data-testid="chat-dock"
      onKeyDown={(e) => {
        if (e.key === 'Escape') {
          e.stopPropagation();
          onClose();
        }
      }}
      className="fixed right-4 bottom-20 z-40 flex h-[min(36rem,calc(100vh-7rem))] w-[min(26rem,calc(100vw-2rem))] flex-col gap-3 rounded-xl border border-line bg-ink p-4 shadow-2xl"
    >
      <header className="flex items-center gap-2">
        <h2 id={titleId} className="font-semibold text-white">
          Chat
        </h2>
        <label className="sr-only" htmlFor={`${titleId}-room`}>
          Room
        </label>
        <select
          id={`${titleId}-room`}
          className="input ml-auto max-w-[14rem] py-1 text-sm"
          value={known}
          onChange={(e) => {
            setRoom(e.target.value);
            sessionStorage.setItem(STORE_KEY, e.target.value);
          }}
        >
          {ids.map((id) => (
            <option key={id} value={id}>
              {roomLabel(id)}
            </option>
          ))}
        </select>
        <button type="button" className="btn btn-ghost p-1.5" aria-label="Close the chat (Escape)" title="Close (Escape)" onClick={onClose}>
          <X aria-hidden className="h-4 w-4" />
        </button>
      </header>
      <div className="min-h-0 flex-1">
        <ChatRoom key={known} ref={composer} room={known} />
      </div>
    </section>
  );
}
