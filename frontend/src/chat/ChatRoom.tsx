// One room: its history, live, with action cards, and the composer. The Chat page and the dock both show this.

import { forwardRef } from 'react';

import { useSession } from '../auth/AuthContext';
import { EmptyState, ErrorState, LoadingState } from '../components/states';
import { Composer } from './Composer';
import { MessageList } from './MessageList';
import { useRoom } from './useRoom';

export const ChatRoom = forwardRef<HTMLTextAreaElement, { room: string }>(function ChatRoom({ room }, composerRef) {
  const session = useSession();
  const view = useRoom(room);
  return (
    <div className="flex h-full min-h-0 flex-col gap-3" data-testid="chat-room" data-room={room}>
      {view.loading ? (
        <div className="flex-1">
          <LoadingState label="Loading messages…" />
        </div>
      ) : view.error ? (
        <div className="flex-1">
          <ErrorState error={view.error} onRetry={view.reload} />
        </div>
      ) : view.messages.length === 0 ? (
        <div className="flex-1">
          <EmptyState title="No messages yet">Say hello, or ask the bot for help.</EmptyState>
        </div>
      ) : (
        <MessageList
          messages={view.messages}
          actions={view.actions}
          me={session}
          hasOlder={view.hasOlder}
          loadingOlder={view.loadingOlder}
          onLoadOlder={() => void view.loadOlder()}
          onDecide={view.decide}
        />
      )}
      {view.liveError && (
        <p role="status" className="text-xs text-warn">
          Live updates are off for this room: {view.liveError}
        </p>
      )}
      <Composer ref={composerRef} room={room} onSend={view.send} />
    </div>
  );
});
