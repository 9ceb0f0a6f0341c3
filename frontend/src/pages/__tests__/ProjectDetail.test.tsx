import { screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it, vi } from 'vitest';

import type { Definition, Deployment, Environment, Pipeline, Project } from '../../api/types';
import { renderAt, signedIn } from '../../test/render';
import ProjectDetail from '../ProjectDetail';

vi.mock('../../live/live', () => ({ useLive: () => undefined, useDebounced: (fn: () => void) => fn }));
vi.mock('../../api/endpoints', () => ({
  getProject: vi.fn(),
  listReleases: vi.fn(),
  listDeployments: vi.fn(),
  listPipelines: vi.fn(),
  listDefinitions: vi.fn(),
  getPipeline: vi.fn(),
  createRun: vi.fn(),
  rollbackEnvironment: vi.fn(),
}));
const endpoints = await import('../../api/endpoints');

const deployment = (id: string, version: string, pipelineId: string, rollback = false) =>
  ({ id, version, pipelineId, rollback, status: 'succeeded', environment: 'staging', finishedAt: null, startedAt: null }) as Deployment;
const staging = {
  name: 'staging',
  tier: 'staging',
  protected: false,
  url: null,
  currentVersion: '1.0.0',
  lastDeployment: deployment('d3', '1.0.0', 'p4', true),
} as Environment;
const project = { slug: 'api', name: 'API', description: '', tags: [], owner: '', repositories: [], environments: [staging] } as unknown as Project;
const run = (id: string, number: number) => ({ id, project: 'api', number, stages: [], status: 'succeeded', trigger: 'api', triggeredBy: 'x' }) as unknown as Pipeline;
const definitions = [
  { name: 'ci', kind: 'ci', version: 1, description: '', allowUnreleased: false, stages: [{ name: 'build', jobs: [{ name: 'compile' }] }] },
  { name: 'deploy', kind: 'deploy', version: 1, description: '', allowUnreleased: false, stages: [{ name: 'deploy', jobs: [{ name: 'rollout' }] }] },
] as Definition[];

async function show(role: 'viewer' | 'operator' | 'admin') {
  renderAt(<ProjectDetail />, { path: '/projects/:slug', url: '/projects/api', client: await signedIn(role) });
  await screen.findByRole('heading', { name: 'API' });
}

describe('ProjectDetail', () => {
  beforeEach(() => {
    vi.clearAllMocks();
    vi.mocked(endpoints.getProject).mockResolvedValue(project);
    vi.mocked(endpoints.listReleases).mockResolvedValue({ items: [] });
    vi.mocked(endpoints.listDefinitions).mockResolvedValue(definitions);
    vi.mocked(endpoints.listDeployments).mockResolvedValue({
      items: [deployment('d3', '1.0.0', 'p4', true), deployment('d2', '1.1.0', 'p3'), deployment('d1', '1.0.0', 'old')],
    });
    // The recent runs hold #4 and #3; the oldest deployment's run is read by id.
    vi.mocked(endpoints.listPipelines).mockResolvedValue({ pipelines: [run('p4', 4), run('p3', 3)] });
    vi.mocked(endpoints.getPipeline).mockImplementation(async (id: string) => run(id, 1));
  });

  it('names the run of every deployment by its number (#4 inside the project), marks the rollback, and reads unknown runs once', async () => {
    await show('viewer');
    const rows = await screen.findAllByTestId('deployment-row');
    await vi.waitFor(() => expect(rows[2]).toHaveTextContent('#1'));
    expect(within(rows[2] as HTMLElement).getByRole('link')).toHaveTextContent(/^#1$/);
    expect(rows[0]).toHaveTextContent('#4');
    expect(rows[0]).toHaveAttribute('data-rollback', 'true');
    expect(within(rows[0] as HTMLElement).getByText('Rollback')).toBeInTheDocument();
    expect(rows[1]).toHaveTextContent('#3');
    expect(rows[1]).toHaveAttribute('data-rollback', 'false');
    expect(endpoints.getPipeline).toHaveBeenCalledTimes(1);
    expect(endpoints.getPipeline).toHaveBeenCalledWith('old');
    expect(within(screen.getByTestId('env-staging')).getByRole('link', { name: '#4' })).toHaveAttribute('href', '/pipelines/p4');
    expect(screen.getByTestId('breadcrumbs')).toHaveTextContent('ProjectsAPI');
  });

  it("lists the definitions to everyone, and the editor's buttons to an admin only", async () => {
    await show('viewer');
    expect(await screen.findAllByTestId('definition-row')).toHaveLength(2);
    expect(screen.queryByRole('button', { name: 'New definition' })).not.toBeInTheDocument();
    expect(screen.queryByRole('button', { name: /rollback|run pipeline|deploy/i })).not.toBeInTheDocument();
  });

  it("offers an admin the editor, and Run pipeline the project's definitions", async () => {
    const user = userEvent.setup();
    await show('admin');
    expect(await screen.findByRole('button', { name: 'New definition' })).toBeInTheDocument();
    await user.click(screen.getByRole('button', { name: 'Run pipeline' }));
    const dialog = screen.getByRole('dialog', { name: 'Run pipeline' });
    expect(within(dialog).getAllByRole('radio').map((r) => (r as HTMLInputElement).value)).toEqual(['ci', 'deploy']);
  });
});
