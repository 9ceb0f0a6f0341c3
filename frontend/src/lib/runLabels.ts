// Run labels (`api#42`, or `#42` inside the project's own page) for pipelines known only by id (a deployment names
// its pipeline's id). A run's number never changes, so they are cached for the page's life; ids not among the
// pipelines a page already holds are fetched once each, a few at a time.

import { useEffect, useState } from 'react';

import { getPipeline } from '../api/endpoints';
import type { Pipeline } from '../api/types';
import { runLabel } from './format';

const cache = new Map<string, { project: string; number: number }>();
const inFlight = new Map<string, Promise<void>>();
const PARALLEL = 4;

export function rememberRuns(pipelines: Pipeline[] | undefined) {
  for (const p of pipelines ?? []) if (p.number) cache.set(p.id, { project: p.project, number: p.number });
}

function fetchLabel(id: string): Promise<void> {
  let pending = inFlight.get(id);
  if (!pending) {
    pending = getPipeline(id)
      .then((p) => void cache.set(id, { project: p.project, number: p.number }))
      .catch(() => undefined) // the caller keeps showing the short id
      .finally(() => inFlight.delete(id));
    inFlight.set(id, pending);
  }
  return pending;
}

/**
 * Labels by pipeline id for `ids`; an id whose run cannot be read is left out. Runs of the project `within` are
 * labelled `#42`, as the project's own page lists them.
 */
export function useRunLabels(ids: (string | null | undefined)[], known?: Pipeline[], within?: string): Record<string, string> {
  rememberRuns(known);
  const wanted = [...new Set(ids.filter((id): id is string => Boolean(id)))];
  const key = wanted.join(',');
  const [, setVersion] = useState(0);
  useEffect(() => {
    let live = true;
    const missing = wanted.filter((id) => !cache.has(id));
    if (missing.length === 0) return;
    void (async () => {
      for (let i = 0; i < missing.length; i += PARALLEL) {
        await Promise.all(missing.slice(i, i + PARALLEL).map(fetchLabel));
        if (live) setVersion((v) => v + 1);
      }
    })();
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key]);
  const labels: Record<string, string> = {};
  for (const id of wanted) {
    const run = cache.get(id);
    if (run) labels[id] = run.project === within ? `#${run.number}` : runLabel(run);
  }
  return labels;
}
