// What the bot would understand of the composer's text, asked of `POST /api/v1/chat/parse` once typing pauses
// (debounced; a newer text aborts the older request). Executes nothing.

import { useEffect, useState } from 'react';

import { parseText } from './api';
import type { Parsed } from './types';

export const PREVIEW_DELAY_MS = 300;

export interface Preview {
  parsed: Parsed | null;
  /** The text `parsed` is for (it may lag the composer by one pause). */
  text: string;
  pending: boolean;
  error: unknown;
}

const EMPTY: Preview = { parsed: null, text: '', pending: false, error: null };

export function useParsePreview(text: string, room: string, delayMs = PREVIEW_DELAY_MS): Preview {
  const [preview, setPreview] = useState<Preview>(EMPTY);
  useEffect(() => {
    const trimmed = text.trim();
    if (!trimmed) {
      setPreview(EMPTY);
      return undefined;
    }
    setPreview((p) => ({ ...p, pending: true }));
    const controller = new AbortController();
    const timer = setTimeout(() => {
      parseText(trimmed, room, controller.signal).then(
        (parsed) => {
          if (!controller.signal.aborted) setPreview({ parsed, text: trimmed, pending: false, error: null });
        },
        (error: unknown) => {
          if (!controller.signal.aborted) setPreview({ parsed: null, text: trimmed, pending: false, error });
        },
      );
    }, delayMs);
    return () => {
      clearTimeout(timer);
      controller.abort();
    };
  }, [text, room, delayMs]);
  return preview;
}
