import { screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it, vi } from 'vitest';

import { ApiError } from '../../api/errors';
import type { Definition } from '../../api/types';
import { renderAt, signedIn } from '../../test/render';
import { DefinitionForm } from './DefinitionForm';
import { DefinitionsList } from './DefinitionsCard';
import { fromDraft, inputId, toDraft } from './draft';

vi.mock('../../api/endpoints', () => ({ createDefinition: vi.fn(), updateDefinition: vi.fn(), deleteDefinition: vi.fn() }));
const { createDefinition, updateDefinition, deleteDefinition } = await import('../../api/endpoints');

const invalid = (message: string) => new ApiError({ kind: 'invalid', status: 400, message, code: 'invalid_argument' });

const ci: Definition = {
  projectId: 'p',
  project: 'api',
  name: 'ci',
  kind: 'ci',
  description: 'Build and test',
  allowUnreleased: false,
  version: 3,
  createdAt: null,
  updatedAt: null,
  stages: [
    { name: 'build', jobs: [{ name: 'compile', executor: 'simulate', params: { durationMs: 2000 }, retry: { maxAttempts: 3 } }] },
    { name: 'test', jobs: [{ name: 'unit', executor: 'simulate' }, { name: 'lint', executor: 'simulate', allowFailure: true }] },
  ],
};

async function form(definition?: Definition) {
  const onSaved = vi.fn();
  renderAt(<DefinitionForm project="api" definition={definition} onSaved={onSaved} onCancel={() => undefined} />, {
    path: '/',
    url: '/',
    client: await signedIn('admin'),
  });
  return { onSaved };
}

describe('the definition draft', () => {
  it('gives back what it was made from, keeping fields the editor does not show', () => {
    expect(fromDraft(toDraft(ci))).toEqual({ stages: ci.stages, errors: {} });
  });

  it('names params that are not a JSON object and a bad timeout by their field keys', () => {
    const draft = toDraft(ci);
    draft.stages[1]!.jobs[0]!.params = '[1, 2]';
    draft.stages[0]!.jobs[0]!.params = '{"durationMs": ';
    draft.stages[0]!.jobs[0]!.timeoutS = '0';
    const { errors } = fromDraft(draft);
    expect(Object.keys(errors).sort()).toEqual(['stages[0].jobs[0].params', 'stages[0].jobs[0].timeoutS', 'stages[1].jobs[0].params']);
    expect(errors['stages[1].jobs[0].params']).toMatch(/JSON object/);
  });

  it('maps a field key to a DOM id', () => {
    expect(inputId('stages[0].jobs[1].params')).toBe('def-stages-0-jobs-1-params');
    expect(inputId('stages[2]')).toBe('def-stages-2');
  });
});

describe('the definition form', () => {
  beforeEach(() => vi.clearAllMocks());

  it("shows the server's message under the job name it names, and moves the focus there", async () => {
    const user = userEvent.setup();
    vi.mocked(createDefinition).mockRejectedValue(invalid('stages[0].jobs[0].name: "Bad Name" must match ^[a-z0-9][a-z0-9._-]{0,62}$'));
    await form();
    await user.type(screen.getByLabelText('Name'), 'smoke');
    const job = screen.getByLabelText('Job 1 name');
    await user.clear(job);
    await user.type(job, 'Bad Name');
    await user.click(screen.getByRole('button', { name: 'Create definition' }));

    expect(await screen.findByText('"Bad Name" must match ^[a-z0-9][a-z0-9._-]{0,62}$')).toHaveAttribute('id', 'def-stages-0-jobs-0-name-error');
    expect(job).toHaveAttribute('aria-invalid', 'true');
    expect(job).toHaveAttribute('aria-describedby', 'def-stages-0-jobs-0-name-error');
    expect(job).toHaveFocus();
    expect(screen.queryByRole('alert')).not.toBeInTheDocument(); // nothing left for the top of the form
    expect(vi.mocked(createDefinition).mock.calls[0]).toEqual([
      'api',
      {
        name: 'smoke',
        kind: 'ci',
        description: '',
        allowUnreleased: false,
        stages: [{ name: 'build', jobs: [{ name: 'Bad Name', executor: 'simulate', params: { durationMs: 2000, logLines: 20 } }] }],
      },
    ]);
  });

  it('shows a params problem under the params, with the key it is about', async () => {
    const user = userEvent.setup();
    vi.mocked(updateDefinition).mockRejectedValue(invalid('stages[0].jobs[0].params.durationMs: must be an integer from 0 to 3600000'));
    await form(ci);
    await user.click(screen.getByRole('button', { name: 'Save definition' }));
    expect(await screen.findByText('durationMs: must be an integer from 0 to 3600000')).toHaveAttribute(
      'id',
      'def-stages-0-jobs-0-params-error',
    );
    expect(vi.mocked(updateDefinition).mock.calls[0]?.slice(0, 2)).toEqual(['api', 'ci']);
    expect(vi.mocked(updateDefinition).mock.calls[0]?.[2]).toMatchObject({ expectedVersion: 3, kind: 'ci', stages: ci.stages });
  });

  it('refuses params that are not JSON without asking the server', async () => {
    const user = userEvent.setup();
    await form(ci);
    const params = screen.getByLabelText('Params of compile (JSON)');
    await user.clear(params);
    await user.type(params, 'durationMs');
    await user.click(screen.getByRole('button', { name: 'Save definition' }));
    expect(params).toHaveAttribute('aria-invalid', 'true');
    expect(screen.getByText(/^Not JSON/)).toBeInTheDocument();
    expect(updateDefinition).not.toHaveBeenCalled();
  });

  it('says a stale version at the top of the form', async () => {
    const user = userEvent.setup();
    vi.mocked(updateDefinition).mockRejectedValue(new ApiError({ kind: 'conflict', status: 409, message: 'definition ci is at version 4, not 3' }));
    await form(ci);
    await user.click(screen.getByRole('button', { name: 'Save definition' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('definition ci is at version 4, not 3');
    expect(screen.getByRole('button', { name: 'Save definition' })).toBeEnabled();
  });

  it('disables saving while the request is in flight', async () => {
    const user = userEvent.setup();
    let answer: (d: Definition) => void = () => undefined;
    vi.mocked(updateDefinition).mockReturnValue(new Promise((resolve) => (answer = resolve)));
    const { onSaved } = await form(ci);
    await user.click(screen.getByRole('button', { name: 'Save definition' }));
    expect(screen.getByRole('button', { name: /save definition/i })).toBeDisabled();
    answer(ci);
    await vi.waitFor(() => expect(onSaved).toHaveBeenCalledWith(ci));
  });
});

describe('the definitions list', () => {
  beforeEach(() => vi.clearAllMocks());

  async function list(role: 'viewer' | 'admin') {
    const onChanged = vi.fn();
    renderAt(<DefinitionsList project="api" definitions={[ci]} onChanged={onChanged} />, { path: '/', url: '/', client: await signedIn(role) });
    return onChanged;
  }

  it('shows a viewer each definition with its stages, and no way to change them', async () => {
    await list('viewer');
    const row = screen.getByTestId('definition-row');
    expect(row).toHaveTextContent('build → test · 3 jobs');
    expect(row).toHaveTextContent('v3');
    expect(screen.queryByRole('button')).not.toBeInTheDocument();
  });

  it('lets an admin delete one after confirming, at the version read', async () => {
    const user = userEvent.setup();
    vi.mocked(deleteDefinition).mockResolvedValue(undefined);
    const onChanged = await list('admin');
    await user.click(screen.getByRole('button', { name: 'Delete ci' }));
    const dialog = screen.getByRole('dialog');
    expect(dialog).toHaveTextContent('Delete the definition ci (version 3)?');
    await user.click(within(dialog).getByRole('button', { name: /delete ci/i }));
    expect(deleteDefinition).toHaveBeenCalledWith('api', 'ci', 3);
    await vi.waitFor(() => expect(onChanged).toHaveBeenCalled());
  });
});
