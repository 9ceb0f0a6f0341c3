import { screen } from '@testing-library/react';
import { beforeEach, describe, expect, it, vi } from 'vitest';

import type { Job, Pipeline, Project } from '../../api/types';
import { dateTime } from '../../lib/format';
import { aPipeline } from '../../test/fixtures';
import { renderAt, signedIn } from '../../test/render';
import PipelineDetail from '../PipelineDetail';

vi.mock('../../api/endpoints', () => ({
  getPipeline: vi.fn(),
  getProject: vi.fn(),
  getJobLog: vi.fn(async () => ({ jobId: 'j', attempt: 1, offset: 0, lines: [], nextOffset: 0, eof: true })),
  cancelPipeline: vi.fn(),
  retryJob: vi.fn(),
  approveJob: vi.fn(),
  rejectJob: vi.fn(),
}));
const endpoints = await import('../../api/endpoints');

const job = (id: string, status: Job['status']): Job =>
  ({ id, pipelineId: 'p1', stage: 'deploy', name: id, status, attempt: 1, startedAt: null, finishedAt: null }) as Job;

function pipeline(status: Pipeline['status'], jobs: Job[], environment: string | null = null): Pipeline {
  return aPipeline({
    environment,
    version: environment ? '1.0.0' : null,
    stages: [{ name: 'deploy', jobs }],
    status,
    createdAt: '2025-01-01T00:00:00Z',
  });
}

const project = (tier: 'staging' | 'production') =>
  ({ slug: 'api', environments: [{ name: 'target', tier, protected: true }] }) as unknown as Project;

async function show(role: 'viewer' | 'operator' | 'admin', p: Pipeline, tier: 'staging' | 'production' = 'staging') {
  vi.mocked(endpoints.getPipeline).mockResolvedValue(p);
  vi.mocked(endpoints.getProject).mockResolvedValue(project(tier));
  renderAt(<PipelineDetail />, { path: '/pipelines/:id', url: '/pipelines/p1', client: await signedIn(role) });
  await screen.findByTestId('stages');
}

describe('PipelineDetail actions by role', () => {
  beforeEach(() => vi.clearAllMocks());

  it('shows retry to an operator for a failed job of a failed pipeline', async () => {
    await show('operator', pipeline('failed', [job('rollout', 'failed')]));
    expect(screen.getByRole('button', { name: /retry rollout/i })).toBeInTheDocument();
    expect(screen.getByText('Failed', { selector: '[data-testid=pipeline-status] *' })).toBeInTheDocument();
  });

  it('hides every action from a viewer', async () => {
    await show('viewer', pipeline('running', [job('rollout', 'failed')]));
    expect(screen.queryByRole('button', { name: /retry|cancel|approve|reject/i })).not.toBeInTheDocument();
  });

  it('offers cancel on an active pipeline to an operator', async () => {
    await show('operator', pipeline('running', [job('rollout', 'running')]));
    expect(screen.getByRole('button', { name: /cancel pipeline/i })).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: /retry/i })).not.toBeInTheDocument();
  });

  it('lets an operator approve a staging deploy but not a production one; an admin may', async () => {
    const gated = pipeline('waiting_approval', [job('rollout', 'waiting_approval')], 'target');
    await show('operator', gated, 'staging');
    expect(await screen.findByRole('button', { name: /approve/i })).toBeInTheDocument();
    expect(screen.getByRole('button', { name: /reject/i })).toBeInTheDocument();
  });

  it('hides approval of a production deploy from an operator', async () => {
    await show('operator', pipeline('waiting_approval', [job('rollout', 'waiting_approval')], 'target'), 'production');
    await vi.waitFor(() => expect(endpoints.getProject).toHaveBeenCalled());
    expect(screen.queryByRole('button', { name: /approve/i })).not.toBeInTheDocument();
  });

  it('shows approval of a production deploy to an admin', async () => {
    await show('admin', pipeline('waiting_approval', [job('rollout', 'waiting_approval')], 'target'), 'production');
    expect(await screen.findByRole('button', { name: /approve/i })).toBeInTheDocument();
  });

  it("shows the commit's short sha with its full sha and time on hover", async () => {
    const sha = '3484a3fb816e0859fd6e1cea078d76385ff50625';
    const time = '2026-03-01T12:00:00Z';
    await show('viewer', { ...pipeline('succeeded', [job('rollout', 'succeeded')], 'target'), commit: { sha, time } });
    const commit = screen.getByTestId('commit');
    expect(commit).toHaveTextContent(/^3484a3f$/);
    expect(commit).toHaveClass('font-mono');
    expect(commit).toHaveAttribute('title', `Commit ${sha}, committed ${dateTime(time)}`);
  });

  it('titles the run with its project and run number', async () => {
    await show('viewer', pipeline('succeeded', [job('rollout', 'succeeded')]));
    expect(screen.getByTestId('run-label')).toHaveTextContent(/^api#42$/);
  });

  it('puts the run number in the breadcrumb and the tab title, and the job once its log is open', async () => {
    vi.mocked(endpoints.getPipeline).mockResolvedValue(pipeline('succeeded', [job('rollout', 'succeeded')]));
    vi.mocked(endpoints.getProject).mockResolvedValue(project('staging'));
    const view = renderAt(<PipelineDetail />, { path: '/pipelines/:id/jobs/:jobId', url: '/pipelines/p1/jobs/rollout', client: await signedIn('viewer') });
    const crumbs = await screen.findByTestId('breadcrumbs');
    expect([...crumbs.querySelectorAll('li')].map((li) => li.textContent)).toEqual(['Projects', 'api', 'api#42', 'rollout']);
    expect(crumbs.querySelector('[aria-current=page]')).toHaveTextContent('rollout');
    expect(document.title).toBe('api#42 · DevOpsTrack');
    view.unmount();
    expect(document.title).toBe('DevOpsTrack');
  });

  it('names the definition a run came from', async () => {
    await show('viewer', { ...pipeline('succeeded', [job('rollout', 'succeeded')]), definition: { name: 'ci', version: 3 } });
    expect(screen.getByTestId('run-definition')).toHaveTextContent('definition ci v3');
  });

  it('shows no commit for a pipeline that names none', async () => {
    await show('viewer', pipeline('succeeded', [job('rollout', 'succeeded')]));
    expect(screen.queryByTestId('commit')).not.toBeInTheDocument();
  });

  it('says plainly when the pipeline does not exist', async () => {
    const { ApiError } = await import('../../api/errors');
    vi.mocked(endpoints.getPipeline).mockRejectedValue(new ApiError({ kind: 'not_found', status: 404, message: 'no pipeline p1' }));
    renderAt(<PipelineDetail />, { path: '/pipelines/:id', url: '/pipelines/p1', client: await signedIn('viewer') });
    expect(await screen.findByRole('alert')).toHaveTextContent('no pipeline p1');
    expect(screen.getByText('Not found')).toBeInTheDocument();
  });
});
