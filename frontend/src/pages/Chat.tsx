// The chat: the rooms you see (general, one per project, your private room with the bot) and the chosen room, live.
// The room is in the URL (`/chat?room=project:api`), so a link opens it.

import { Hash, Lock } from 'lucide-react';
import { useSearchParams } from 'react-router-dom';

import { listRooms } from '../chat/api';
import { ChatRoom } from '../chat/ChatRoom';
import { SHORTCUT_LABEL } from '../chat/ChatDock';
import { GENERAL, roomLabel, roomPurpose, sortRooms } from '../chat/rooms';
import { ErrorState, PageHeader, Skeleton } from '../components/states';
import { useResource } from '../lib/useResource';

export default function Chat() {
  const rooms = useResource((signal) => listRooms(signal), []);
  const [params, setParams] = useSearchParams();
  const ids = sortRooms(rooms.data?.map((r) => r.id) ?? []);
  const wanted = params.get('room') ?? GENERAL;
  const room = rooms.data && !ids.includes(wanted) ? GENERAL : wanted;

  return (
    <>
      <PageHeader
        title="Chat"
        subtitle={
          <>
            Ask the bot in English or French; risky commands wait for your confirmation. From any page:{' '}
            <kbd className="rounded border border-line px-1 font-mono text-xs">{SHORTCUT_LABEL}</kbd>.
          </>
        }
      />
      <div className="grid gap-4 lg:grid-cols-[14rem_1fr]">
        <nav aria-label="Rooms" className="card p-3">
          {rooms.error ? (
            <ErrorState compact error={rooms.error} onRetry={rooms.reload} />
          ) : !rooms.data ? (
            <Skeleton lines={3} />
          ) : (
            <ul className="space-y-1">
              {ids.map((id) => {
                const Icon = id.startsWith('dm:') ? Lock : Hash;
                const active = id === room;
                return (
                  <li key={id}>
                    <button
                      type="button"
                      title={roomPurpose(id)}
                      aria-current={active ? 'page' : undefined}
                      data-room={id}
                      onClick={() => setParams({ room: id }, { replace: true })}
                      className={`flex w-full items-center gap-2 rounded-lg px-3 py-2 text-left text-sm ${
                        active ? 'bg-cyan/10 text-cyan' : 'text-muted hover:bg-surface-2 hover:text-white'
                      }`}
                    >
                      <Icon aria-hidden className="h-4 w-4 shrink-0" />
                      <span className="truncate">{roomLabel(id).replace(/^# /, '')}</span>
                    </button>
                  </li>
                );
              })}
            </ul>
          )}
        </nav>
        <section aria-label={`Room ${roomLabel(room)}`} className="card flex h-[calc(100vh-14rem)] min-h-[24rem] flex-col p-4">
          <header className="mb-3">
            <h2 className="font-semibold text-white">{roomLabel(room)}</h2>
            <p className="text-xs text-muted">{roomPurpose(room)}</p>
          </header>
          <div className="min-h-0 flex-1">
            <ChatRoom key={room} room={room} />
          </div>
        </section>
      </div>
    </>
  );
}
