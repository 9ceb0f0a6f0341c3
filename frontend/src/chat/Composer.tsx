// The message box: Enter sends, Shift+Enter starts a new line; below it, what the bot understood so far.

import { SendHorizontal } from 'lucide-react';
import { forwardRef, useId, useState, type KeyboardEvent } from 'react';

import { describeError } from '../api/errors';
import { ParsePreview } from './ParsePreview';
import { roomLabel } from './rooms';
import { useParsePreview } from './useParsePreview';

export const MAX_CHARS = 2000;

export const Composer = forwardRef<HTMLTextAreaElement, { room: string; onSend: (text: string) => Promise<void> }>(
  function Composer({ room, onSend }, ref) {
    const [text, setText] = useState('');
    const [busy, setBusy] = useState(false);
    const [error, setError] = useState<string | null>(null);
    const preview = useParsePreview(text, room);
    const blank = text.trim() === '';

    const submit = () => {
      if (blank || busy) return;
      setBusy(true);
      setError(null);
      onSend(text.trim()).then(
        () => {
          setText('');
          setBusy(false);
        },
        (e: unknown) => {
          setError(describeError(e));
          setBusy(false);
        },
      );
    };

    const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>) => {
      if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
        e.preventDefault();
        submit();
      }
    };

    const id = useId();
    const previewId = `${id}-preview`;
    return (
      <form
        className="space-y-1.5 border-t border-line pt-3"
        onSubmit={(e) => {
          e.preventDefault();
          submit();
        }}
      >
        <label htmlFor={id} className="sr-only">
          Message {roomLabel(room)}
        </label>
        <div className="flex items-end gap-2">
          <textarea
            id={id}
            ref={ref}
            rows={2}
            maxLength={MAX_CHARS}
            value={text}
            onChange={(e) => setText(e.target.value)}
            onKeyDown={onKeyDown}
            aria-describedby={previewId}
            placeholder='Ask the bot, e.g. "status of api" or "deploy api 2.5.0 to staging"'
            className="input min-h-[2.75rem] flex-1 resize-y"
          />
          <button type="submit" className="btn btn-primary px-3" disabled={blank || busy} aria-label="Send">
            <SendHorizontal aria-hidden className="h-4 w-4" />
          </button>
        </div>
        <ParsePreview id={previewId} parsed={preview.parsed} error={preview.error} pending={preview.pending} />
        {error && (
          <p role="alert" className="text-xs text-bad">
            {error}
          </p>
        )}
      </form>
    );
  },
);
