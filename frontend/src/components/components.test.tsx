import { act, render, screen } from '@testing-library/react';
import { beforeEach, describe, expect, it, vi } from 'vitest';

import type { DoraMetrics, Job } from '../api/types';
import type { LiveEvent } from '../live/socket';
import { LevelBadge, StatusBadge } from './badges';
import { DoraTiles } from './DoraTiles';
import { LogViewer } from './LogViewer';

const handlers: ((e: LiveEvent) => void)[] = [];
vi.mock('../live/live', () => ({
  useLive: (_topics: string[], onEvent: (e: LiveEvent) => void) => {
    handlers.push(onEvent);
  },
}));
vi.mock('../api/endpoints', () => ({ getJobLog: vi.fn() }));
const { getJobLog } = await import('../api/endpoints');

describe('badges', () => {
  it('carry text as well as colour', () => {
    render(
      <>
        <StatusBadge status="waiting_approval" />
        <StatusBadge status="timed_out" />
        <LevelBadge level="elite" />
        <LevelBadge level={null} />
      </>,
    );
    expect(screen.getByText('Awaiting approval')).toBeInTheDocument();
    expect(screen.getByText('Timed out')).toBeInTheDocument();
    expect(screen.getByText('Elite')).toHaveAttribute('data-level', 'elite');
    expect(screen.getByText('No data')).toBeInTheDocument();
  });
});

const metrics = (level: DoraMetrics['overallLevel']): DoraMetrics => ({
  deploymentFrequency: { deployments: 12, perDay: 0.4, perWeek: 2.8, medianDeployDaysPerWeek: 2, level: 'high' },
  leadTime: { changes: 12, medianSeconds: 5400, p90Seconds: 9000, level: 'elite' },
  changeFailureRate: { deployments: 12, failures: 1, rate: 1 / 12, level: 'elite' },
  recoveryTime: { recoveries: 1, medianSeconds: 1800, level: 'elite' },
  reworkRate: { deployments: 12, reworkDeployments: 0, rate: 0, reworkWindowHours: 24, level: 'elite' },
  overallLevel: level,
});

describe('DoraTiles', () => {
  it('shows one tile per environment with its values and levels', () => {
    render(<DoraTiles environments={[{ environment: 'staging', metrics: metrics('high') }]} />);
    const tile = screen.getByTestId('dora-tile-staging');
    expect(tile).toHaveTextContent('2.8/wk');
    expect(tile).toHaveTextContent('1 h 30 min');
    expect(tile).toHaveTextContent('8%');
    expect(tile).toHaveTextContent('1 of 12 failed');
  });

  it('explains the empty window', () => {
    render(<DoraTiles environments={[]} />);
    expect(screen.getByTestId('dora-empty')).toHaveTextContent('after the first deploy pipeline finishes');
  });
});

describe('LogViewer', () => {
  const job = { id: 'j1', pipelineId: 'p1', stage: 'build', name: 'compile', status: 'running', attempt: 1 } as Job;
  beforeEach(() => {
    handlers.length = 0;
    vi.mocked(getJobLog).mockReset();
  });

  it('shows the log so far, follows live lines, and refetches after a gap', async () => {
    vi.mocked(getJobLog).mockResolvedValueOnce({ jobId: 'j1', attempt: 1, offset: 0, lines: ['\u001b[32mstep 1\u001b[0m', 'step 2'], nextOffset: 2, eof: false });
    render(<LogViewer job={job} pipelineId="p1" />);
    expect(await screen.findByText('step 1')).toHaveStyle({ color: '#00ff88' });
    const emit = (offset: number, lines: string[]) =>
      act(() => handlers.at(-1)?.({ type: 'job.log', eventId: 'e', topic: 'pipeline:p1', pipelineId: 'p1', jobId: 'j1', attempt: 1, offset, lines }));
    emit(2, ['step 3']);
    expect(screen.getByText('step 3')).toBeInTheDocument();
    emit(1, ['step 2', 'step 3']); // a duplicate: nothing changes
    expect(screen.getAllByRole('listitem')).toHaveLength(3);
    vi.mocked(getJobLog).mockResolvedValueOnce({ jobId: 'j1', attempt: 1, offset: 3, lines: ['step 4', 'step 5'], nextOffset: 5, eof: false });
    emit(4, ['step 5']); // line 4 was missed
    expect(await screen.findByText('step 4')).toBeInTheDocument();
    expect(vi.mocked(getJobLog)).toHaveBeenLastCalledWith('j1', { attempt: 1, offset: 3, limit: 1000 }, undefined);
    expect(screen.getAllByRole('listitem').map((li) => li.textContent)).toEqual(['1step 1', '2step 2', '3step 3', '4step 4', '5step 5']);
  });

  it('ignores lines of another job or attempt', async () => {
    vi.mocked(getJobLog).mockResolvedValue({ jobId: 'j1', attempt: 1, offset: 0, lines: [], nextOffset: 0, eof: false });
    render(<LogViewer job={job} pipelineId="p1" />);
    expect(await screen.findByText('Waiting for output…')).toBeInTheDocument();
    act(() => handlers.at(-1)?.({ type: 'job.log', eventId: 'e', topic: 'pipeline:p1', pipelineId: 'p1', jobId: 'j2', attempt: 1, offset: 0, lines: ['other'] }));
    expect(screen.queryByText('other')).not.toBeInTheDocument();
  });
});
