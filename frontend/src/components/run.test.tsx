import { screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it, vi } from 'vitest';

import { ApiError } from '../api/errors';
import type { Definition, Environment, Pipeline, Release } from '../api/types';
import { pipelineSummary, pipelineTitle } from '../lib/pipelines';
import { aPipeline } from '../test/fixtures';
import { renderAt, signedIn } from '../test/render';
import { PipelineRow } from './PipelineRow';
import { RunForm } from './RunForm';

vi.mock('../api/endpoints', () => ({ createRun: vi.fn() }));
const { createRun } = await import('../api/endpoints');

const definition = (name: string, kind: 'ci' | 'deploy', extra: Partial<Definition> = {}) =>
  ({ name, kind, version: 2, description: `${name} runs`, allowUnreleased: false, stages: [], ...extra }) as Definition;
const environments = [
  { name: 'staging', tier: 'staging', protected: false, currentVersion: '1.0.0' },
  { name: 'production', tier: 'production', protected: true, currentVersion: null },
] as unknown as Environment[];
const releases = [{ id: 'r2', version: '1.1.0', commitSha: null }] as Release[];

function run(extra: Partial<Pipeline> = {}): Pipeline {
  return aPipeline({ trigger: 'api', triggeredBy: 'me', status: 'queued', createdAt: null, definition: { name: 'ci', version: 2 }, ...extra });
}

async function show(definitions: Definition[], props: { only?: 'deploy'; role?: 'operator' | 'admin' } = {}) {
  renderAt(
    <RunForm project="api" definitions={definitions} environments={environments} releases={releases} only={props.only} />,
    { path: '/', url: '/', client: await signedIn(props.role ?? 'operator') },
  );
}

describe('Run pipeline', () => {
  beforeEach(() => {
    vi.mocked(createRun).mockReset();
  });

  it("lists the project's definitions, opens on ci, and runs the chosen one", async () => {
    const user = userEvent.setup();
    vi.mocked(createRun).mockResolvedValue(run());
    await show([definition('build-docs', 'ci'), definition('ci', 'ci'), definition('deploy', 'deploy')]);

    expect(screen.getAllByTestId('definition-option').map((o) => o.textContent)).toEqual([
      expect.stringContaining('build-docs'),
      expect.stringContaining('ci'),
      expect.stringContaining('deploy'),
    ]);
    expect(screen.getByRole('radio', { name: /^ci/ })).toBeChecked();
    expect(screen.queryByLabelText('Environment')).not.toBeInTheDocument(); // a ci run takes none
    await user.click(screen.getByRole('radio', { name: /build-docs/ }));
    await user.click(screen.getByRole('button', { name: 'Run build-docs' }));

    expect(vi.mocked(createRun).mock.calls[0]?.[0]).toBe('api');
    const body = vi.mocked(createRun).mock.calls[0]?.[1];
    expect(body).toMatchObject({ definition: 'build-docs' });
    expect(body).not.toHaveProperty('environment');
    expect(body?.idempotencyKey).toMatch(/^[A-Za-z0-9._:-]{1,64}$/);
  });

  it('asks a deploy definition for a release and an environment the role may deploy to', async () => {
    const user = userEvent.setup();
    vi.mocked(createRun).mockResolvedValue(run());
    await show([definition('ci', 'ci'), definition('deploy', 'deploy')]);
    await user.click(screen.getByRole('radio', { name: /deploy/ }));

    const envs = [...(screen.getByLabelText('Environment') as HTMLSelectElement).options].map((o) => o.value);
    expect(envs).toEqual(['staging']); // an operator cannot deploy to production
    await user.click(screen.getByRole('button', { name: 'Deploy 1.1.0 to staging' }));
    expect(vi.mocked(createRun).mock.calls[0]?.[1]).toMatchObject({ definition: 'deploy', environment: 'staging', version: '1.1.0' });
  });

  it("puts the server's refusal of a version on the version field", async () => {
    const user = userEvent.setup();
    vi.mocked(createRun).mockRejectedValue(new ApiError({ kind: 'invalid', status: 400, message: 'version: 1.1.0 has no release in api' }));
    await show([definition('deploy', 'deploy')], { only: 'deploy' });
    await user.click(screen.getByRole('button', { name: 'Deploy 1.1.0 to staging' }));

    expect(await screen.findByText('1.1.0 has no release in api')).toHaveAttribute('id', 'run-version-error');
    expect(screen.getByLabelText('Release')).toHaveAttribute('aria-invalid', 'true');
    expect(screen.getByRole('button', { name: 'Deploy 1.1.0 to staging' })).toBeEnabled();
  });

  it('is disabled while the run is being created', async () => {
    const user = userEvent.setup();
    let answer: (p: Pipeline) => void = () => undefined;
    vi.mocked(createRun).mockReturnValue(new Promise((resolve) => (answer = resolve)));
    await show([definition('ci', 'ci')]);
    await user.click(screen.getByRole('button', { name: 'Run ci' }));
    expect(screen.getByRole('button', { name: /run ci/i })).toBeDisabled();
    answer(run());
    expect(await screen.findByText('elsewhere')).toBeInTheDocument();
  });

  it('says when the project has no deploy definition', async () => {
    await show([definition('ci', 'ci')], { only: 'deploy' });
    expect(screen.getByTestId('no-definitions')).toHaveTextContent('no deploy definition');
    expect(screen.queryByRole('button')).not.toBeInTheDocument();
  });
});

describe('run numbers', () => {
  async function row(p: Pipeline, showProject = true) {
    renderAt(
      <ul>
        <PipelineRow pipeline={p} showProject={showProject} />
      </ul>,
      { path: '/', url: '/', client: await signedIn('viewer') },
    );
    return screen.getByTestId('pipeline-row');
  }

  it('name a run api#42 in a list, #42 inside its project, with what it does', async () => {
    const r = await row(run());
    expect(screen.getByTestId('run-label')).toHaveTextContent(/^api#42$/);
    expect(r).toHaveTextContent('api#42ci');
  });

  it('drop the project inside the project', async () => {
    await row(run({ number: 7 }), false);
    expect(screen.getByTestId('run-label')).toHaveTextContent(/^#7$/);
  });

  it('say a rollback is one', async () => {
    const r = await row(run({ trigger: 'rollback', environment: 'staging', version: '1.0.0', definition: { name: 'deploy', version: 1 } }));
    expect(r).toHaveTextContent('rollback staging to 1.0.0');
  });

  it('describe runs for titles', () => {
    expect(pipelineTitle(run())).toBe('ci');
    expect(pipelineTitle(run({ definition: null }))).toBe('Pipeline');
    expect(pipelineTitle(run({ environment: 'staging', version: '2.0.0' }))).toBe('Deploy 2.0.0 → staging');
    expect(pipelineSummary(run({ environment: 'staging', version: '1.0.0', trigger: 'rollback' }))).toBe('rollback staging to 1.0.0');
  });
});
