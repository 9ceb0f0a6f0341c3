// The browser tab names the page ("api#42 · DevOpsTrack"), and gets its plain name back when the page goes.

import { useEffect } from 'react';

const APP = 'DevOpsTrack';

export function useDocumentTitle(title: string | null | undefined) {
  useEffect(() => {
    if (!title) return;
    document.title = `${title} · ${APP}`;
    return () => {
      document.title = APP;
    };
  }, [title]);
}
