import { act, screen } from '@testing-library/react';
import { beforeEach, describe, expect, it, vi } from 'vitest';

import type { DoraMetrics, Overview as OverviewData, Pipeline } from '../../api/types';
import type { LiveEvent } from '../../live/socket';
import { renderAt, signedIn } from '../../test/render';
import Overview from '../Overview';

const live: { onEvent?: (e: LiveEvent) => void; topics?: string[] } = {};
vi.mock('../../live/live', () => ({
  useLive: (topics: string[], onEvent: (e: LiveEvent) => void) => {
    live.topics = topics;
    live.onEvent = onEvent;
  },
  useDebounced: (fn: () => void) => fn,
}));
vi.mock('../../live/useProjectTopics', () => ({ useProjectTopics: () => ({ topics: ['project:api'], complete: true }) }));
vi.mock('../../charts/SeriesChart', () => ({ default: ({ title }: { title: string }) => <p>chart: {title}</p> }));
vi.mock('../../api/endpoints', () => ({ getOverview: vi.fn(), listPipelines: vi.fn() }));
const endpoints = await import('../../api/endpoints');

const dora = (deployments: number): DoraMetrics => ({
  deploymentFrequency: { deployments, perDay: deployments / 30, perWeek: deployments / 4, medianDeployDaysPerWeek: 1, level: 'medium' },
  leadTime: { changes: deployments, medianSeconds: 600, p90Seconds: 900, level: 'elite' },
  changeFailureRate: { deployments, failures: 0, rate: 0, level: 'elite' },
  recoveryTime: { recoveries: 0, medianSeconds: null, level: null },
  reworkRate: { deployments, reworkDeployments: 0, rate: 0, reworkWindowHours: 24, level: 'elite' },
  overallLevel: 'high',
});

const overview = (deployments: number): OverviewData => ({
  from: '2025-01-01T00:00:00Z',
  to: '2025-01-31T00:00:00Z',
  environments: deployments ? [{ environment: 'staging', metrics: dora(deployments) }] : [],
  deployments: { measure: 'deployments', stepSeconds: 86400, from: null, to: null, buckets: [] },
  jobRuns: null,
  jobRuns24h: 12,
  failedJobRuns24h: 1,
  jobSuccessRate24h: 11 / 12,
});

const pipeline = (id: string, status: Pipeline['status'], environment: string | null = null) =>
  ({ id, project: 'api', status, environment, version: environment ? '1.0.0' : null, stages: [], createdAt: '2025-01-02T00:00:00Z', triggeredBy: 'me' }) as unknown as Pipeline;

describe('Overview', () => {
  beforeEach(() => {
    vi.clearAllMocks();
    vi.mocked(endpoints.listPipelines).mockImplementation(async (q) => ({
      pipelines: q.status === 'running' ? [pipeline('p-run', 'running')] : [],
    }));
  });

  it('shows DORA tiles, the 24 h figures, what runs and an empty failing list', async () => {
    vi.mocked(endpoints.getOverview).mockResolvedValue(overview(3));
    renderAt(<Overview />, { path: '/', url: '/', client: await signedIn('viewer') });
    expect(await screen.findByTestId('dora-tile-staging')).toHaveTextContent('3 deployments');
    expect(screen.getByText('91.7%')).toBeInTheDocument();
    expect(await screen.findByText('chart: Deployments')).toBeInTheDocument();
    expect(screen.getByText('No job runs in this window.')).toBeInTheDocument();
    expect(screen.getByTestId('running-now')).toHaveTextContent('pipeline');
    expect(screen.getByText('No failing pipelines')).toBeInTheDocument();
    expect(live.topics).toEqual(['project:api']);
  });

  it('moves pipelines between lists live and refreshes the tiles when a deploy finishes', async () => {
    vi.mocked(endpoints.getOverview).mockResolvedValueOnce(overview(0)).mockResolvedValue(overview(1));
    renderAt(<Overview />, { path: '/', url: '/', client: await signedIn('viewer') });
    expect(await screen.findByTestId('dora-empty')).toBeInTheDocument();
    await screen.findAllByTestId('pipeline-row');

    act(() => live.onEvent?.({ type: 'pipeline.updated', eventId: 'e1', topic: 'project:api', pipeline: pipeline('p-run', 'failed') }));
    expect(screen.getByTestId('failing-pipelines').querySelectorAll('[data-testid=pipeline-row]')).toHaveLength(1);
    expect(screen.getByText('Nothing is running')).toBeInTheDocument();

    act(() => live.onEvent?.({ type: 'pipeline.updated', eventId: 'e2', topic: 'project:api', pipeline: pipeline('p-dep', 'succeeded', 'staging') }));
    expect(await screen.findByTestId('dora-tile-staging')).toHaveTextContent('1 deployment');
    expect(endpoints.getOverview).toHaveBeenCalledTimes(3); // the first load, then one per finished pipeline
  });

  it('keeps the rest of the page when the metrics are unavailable', async () => {
    const { ApiError } = await import('../../api/errors');
    vi.mocked(endpoints.getOverview).mockRejectedValue(new ApiError({ kind: 'unavailable', status: 503, message: 'metrics down' }));
    renderAt(<Overview />, { path: '/', url: '/', client: await signedIn('viewer') });
    expect(await screen.findByRole('alert')).toHaveTextContent('metrics down');
    expect(await screen.findByTestId('running-now')).toHaveTextContent('pipeline');
  });
});
