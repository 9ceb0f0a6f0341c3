// Where a list paged by opaque tokens is: the current page's token (undefined: the first page) and the tokens of the
// pages before it, so going back replays them (the gateway's tokens only go forward).

import { useMemo, useState } from 'react';

interface Position {
  before: (string | undefined)[];
  token: string | undefined;
}

const FIRST: Position = { before: [], token: undefined };

export function usePageTokens() {
  const [at, setAt] = useState<Position>(FIRST);
  // Stable across renders, so effects may call them.
  const moves = useMemo(
    () => ({
      back: () => setAt((p) => (p.before.length === 0 ? p : { before: p.before.slice(0, -1), token: p.before[p.before.length - 1] })),
      /** To the page after this one, whose token this page's answer gave. */
      forward: (next: string | null | undefined) => setAt((p) => ({ before: [...p.before, p.token], token: next ?? undefined })),
      /** Back to the first page (the query changed). */
      reset: () => setAt(FIRST),
    }),
    [],
  );
  return {
    /** The token to ask for the current page with. */
    token: at.token,
    /** The current page's number, from 1. */
    number: at.before.length + 1,
    atFirst: at.before.length === 0,
    ...moves,
  };
}
