// A pipeline's commit as people scan it: its first 7 hex digits in monospace, the whole sha and when it was made on
// hover (the time is what a deploy's DORA lead time counts from).

import { GitCommitHorizontal } from 'lucide-react';

import type { Commit } from '../api/types';
import { commitTitle, shortSha } from '../lib/format';

export function CommitRef({ commit }: { commit: Commit }) {
  return (
    <span data-testid="commit" className="inline-flex items-center gap-1 font-mono" title={commitTitle(commit)}>
      <GitCommitHorizontal aria-hidden className="h-3.5 w-3.5 shrink-0" />
      {shortSha(commit.sha)}
    </span>
  );
}
