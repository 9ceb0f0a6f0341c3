// The back / page number / forward controls of a list paged by opaque tokens ([`usePageTokens`]).

import { ChevronLeft, ChevronRight } from 'lucide-react';

import type { usePageTokens } from '../lib/usePageTokens';

/**
 * `next` is the token the current page's answer gave for the page after it (none: this is the last page).
 * `labels` name the two directions; `small` draws the controls as a table footer's.
 */
export function Pager({ pages, next, labels, small = false }: {
  pages: ReturnType<typeof usePageTokens>;
  next: string | null | undefined;
  labels: [back: string, forward: string];
  small?: boolean;
}) {
  const button = small ? 'btn btn-ghost text-xs' : 'btn btn-secondary';
  return (
    <>
      <button type="button" className={button} disabled={pages.atFirst} onClick={pages.back}>
        <ChevronLeft aria-hidden className="h-4 w-4" /> {labels[0]}
      </button>
      <span className={`${small ? 'text-xs' : 'text-sm'} text-muted`}>Page {pages.number}</span>
      <button type="button" className={button} disabled={!next} onClick={() => pages.forward(next)}>
        {labels[1]} <ChevronRight aria-hidden className="h-4 w-4" />
      </button>
    </>
  );
}
