// Values the component tests build on: each test names only what it is about.

import type { Pipeline } from '../api/types';

/** A finished manual run `api#42` with no stages, environment or commit; `extra` sets what a test is about. */
export function aPipeline(extra: Partial<Pipeline> = {}): Pipeline {
  return {
    id: 'p1',
    project: 'api',
    number: 42,
    environment: null,
    version: null,
    trigger: 'manual',
    triggeredBy: 'someone',
    stages: [],
    status: 'succeeded',
    createdAt: '2026-03-01T13:00:00Z',
    startedAt: null,
    finishedAt: null,
    source: 'devopstrack',
    externalUrl: null,
    cancelledBy: null,
    commit: null,
    ...extra,
  };
}
