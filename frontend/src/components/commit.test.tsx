import { screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it, vi } from 'vitest';

import type { Definition, Environment, Pipeline, Release } from '../api/types';
import { commitTitle, dateTime, isCommitSha, shortSha } from '../lib/format';
import { aPipeline } from '../test/fixtures';
import { renderAt, signedIn } from '../test/render';
import { PipelineRow } from './PipelineRow';
import { RunForm } from './RunForm';

vi.mock('../api/endpoints', () => ({ createRun: vi.fn() }));
const { createRun } = await import('../api/endpoints');

const SHA = '3484a3fb816e0859fd6e1cea078d76385ff50625';
const TIME = '2026-03-01T12:00:00Z';

function pipeline(commit: Pipeline['commit']): Pipeline {
  return aPipeline({ id: '01a200eb-373c-74ac-9c2e-04eeb14ed45c', environment: 'staging', version: '1.4.0', trigger: 'api', commit });
}

async function row(p: Pipeline) {
  renderAt(
    <ul>
      <PipelineRow pipeline={p} />
    </ul>,
    { path: '/', url: '/', client: await signedIn('viewer') },
  );
  return screen.getByTestId('pipeline-row');
}

describe('commit formatting', () => {
  it('abbreviates to 7 digits and says the full sha and the time on hover', () => {
    expect(shortSha(SHA)).toBe('3484a3f');
    expect(commitTitle({ sha: SHA, time: TIME })).toBe(`Commit ${SHA}, committed ${dateTime(TIME)}`);
    expect(commitTitle({ sha: 'abcdef1', time: null })).toBe('Commit abcdef1, commit time unknown');
  });

  it('accepts 7 to 64 hex digits as a sha, in either case', () => {
    expect([SHA, 'ABCDEF1', 'a'.repeat(64)].every(isCommitSha)).toBe(true);
    expect(['', 'abcdef', 'a'.repeat(65), 'main', 'abcdefg', ' abcdef1'].some(isCommitSha)).toBe(false);
  });
});

describe('a pipeline row', () => {
  it('shows the short sha in monospace with the full sha and time as its title', async () => {
    const r = await row(pipeline({ sha: SHA, time: TIME }));
    const commit = screen.getByTestId('commit');
    expect(r).toContainElement(commit);
    expect(commit).toHaveTextContent(/^3484a3f$/);
    expect(commit).toHaveClass('font-mono');
    expect(commit).toHaveAttribute('title', `Commit ${SHA}, committed ${dateTime(TIME)}`);
  });

  it('says when the commit time is unknown', async () => {
    await row(pipeline({ sha: 'abcdef1234', time: null }));
    expect(screen.getByTestId('commit')).toHaveTextContent(/^abcdef1$/);
    expect(screen.getByTestId('commit')).toHaveAttribute('title', 'Commit abcdef1234, commit time unknown');
  });

  it('names the run by its project and run number', async () => {
    await row(pipeline(null));
    expect(screen.getByTestId('run-label')).toHaveTextContent(/^api#42$/);
  });

  it('shows no commit when the pipeline names none', async () => {
    const r = await row(pipeline(null));
    expect(r).toHaveTextContent('deploy 1.4.0 → staging');
    expect(screen.queryByTestId('commit')).not.toBeInTheDocument();
  });
});

describe('the deploy form', () => {
  const environments = [{ name: 'staging', tier: 'staging', protected: false, currentVersion: null }] as unknown as Environment[];
  const release = (version: string, commitSha: string | null) => ({ id: version, version, commitSha }) as Release;
  const deploy = { name: 'deploy', kind: 'deploy', version: 1, description: '', allowUnreleased: false, stages: [] } as unknown as Definition;
  beforeEach(() => {
    vi.mocked(createRun).mockReset();
    vi.mocked(createRun).mockResolvedValue(pipeline(null));
  });

  async function form(releases: Release[]) {
    renderAt(<RunForm project="api" definitions={[deploy]} only="deploy" environments={environments} releases={releases} />, {
      path: '/',
      url: '/',
      client: await signedIn('operator'),
    });
  }

  it("sends the release's commit by default, and the one typed instead", async () => {
    const user = userEvent.setup();
    await form([release('2.0.0', SHA), release('1.9.0', null)]);
    expect(screen.getByLabelText('Commit (optional)')).toHaveValue(SHA);

    await user.selectOptions(screen.getByLabelText('Release'), '1.9.0');
    expect(screen.getByLabelText('Commit (optional)')).toHaveValue('');
    await user.type(screen.getByLabelText('Commit (optional)'), 'ABCDEF1');
    await user.click(screen.getByRole('button', { name: /deploy 1.9.0 to staging/i }));

    expect(createRun).toHaveBeenCalledTimes(1);
    expect(vi.mocked(createRun).mock.calls[0]?.[0]).toBe('api');
    expect(vi.mocked(createRun).mock.calls[0]?.[1]).toMatchObject({
      definition: 'deploy',
      environment: 'staging',
      version: '1.9.0',
      commit: 'ABCDEF1',
    });
  });

  it('sends no commit when the field is empty', async () => {
    const user = userEvent.setup();
    await form([release('2.0.0', null)]);
    await user.click(screen.getByRole('button', { name: /deploy 2.0.0 to staging/i }));

    expect(createRun).toHaveBeenCalledTimes(1);
    expect(vi.mocked(createRun).mock.calls[0]?.[1]).not.toHaveProperty('commit');
  });

  it('refuses a commit that is not 7 to 64 hex digits without calling the API', async () => {
    const user = userEvent.setup();
    await form([release('2.0.0', null)]);
    await user.type(screen.getByLabelText('Commit (optional)'), 'main');
    await user.click(screen.getByRole('button', { name: /deploy 2.0.0 to staging/i }));

    expect(await screen.findByText(/7 to 64 hex digits, or leave it empty/)).toBeInTheDocument();
    expect(screen.getByLabelText('Commit (optional)')).toHaveAttribute('aria-invalid', 'true');
    expect(createRun).not.toHaveBeenCalled();
  });
});
