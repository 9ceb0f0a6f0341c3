import { screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it, vi } from 'vitest';

import { ApiError } from '../api/errors';
import type { Deployment, Environment, Pipeline, RolledBack } from '../api/types';
import { renderAt, signedIn } from '../test/render';
import { EnvironmentCards } from './ProjectSections';
import { RollbackForm } from './RollbackForm';

vi.mock('../api/endpoints', () => ({ listDeployments: vi.fn(), rollbackEnvironment: vi.fn() }));
const { listDeployments, rollbackEnvironment } = await import('../api/endpoints');

const staging = { name: 'staging', tier: 'staging', protected: false, currentVersion: '1.1.0', url: null, lastDeployment: null } as Environment;
const production = { ...staging, name: 'production', tier: 'production', protected: true } as Environment;

const deployment = (version: string, status: Deployment['status'], rollback = false) =>
  ({ id: `${version}-${status}`, version, status, rollback, environment: 'staging' }) as Deployment;

function rolledBack(): RolledBack {
  return { pipeline: { id: 'p9', project: 'api', number: 9 } as Pipeline, fromVersion: '1.1.0', toVersion: '1.0.0' };
}

async function confirm(history: Deployment[], role: 'operator' | 'admin' = 'operator') {
  vi.mocked(listDeployments).mockResolvedValue({ items: history });
  const onCancel = vi.fn();
  renderAt(<RollbackForm project="api" environment={staging} onCancel={onCancel} />, {
    path: '/',
    url: '/',
    client: await signedIn(role),
  });
  return { onCancel };
}

describe('the rollback confirmation', () => {
  beforeEach(() => {
    vi.mocked(listDeployments).mockReset();
    vi.mocked(rollbackEnvironment).mockReset();
  });

  it('says from which version to which, and sends exactly that version', async () => {
    const user = userEvent.setup();
    vi.mocked(rollbackEnvironment).mockResolvedValue(rolledBack());
    await confirm([deployment('1.1.0', 'succeeded'), deployment('1.0.0', 'succeeded')]);

    expect(await screen.findByTestId('rollback-question')).toHaveTextContent('Roll back staging from 1.1.0 to 1.0.0?');
    expect(listDeployments).toHaveBeenCalledWith('api', { environment: 'staging', pageSize: 200 }, expect.anything());
    await user.click(screen.getByRole('button', { name: 'Roll back to 1.0.0' }));

    expect(rollbackEnvironment).toHaveBeenCalledTimes(1);
    expect(vi.mocked(rollbackEnvironment).mock.calls[0]?.slice(0, 2)).toEqual(['api', 'staging']);
    expect(vi.mocked(rollbackEnvironment).mock.calls[0]?.[2]).toMatchObject({ to: '1.0.0' });
    expect(await screen.findByText('elsewhere')).toBeInTheDocument(); // navigated to the run
  });

  it('lets the person pick an older good version, and the question follows', async () => {
    const user = userEvent.setup();
    await confirm([deployment('3.0', 'succeeded'), deployment('2.0', 'succeeded'), deployment('1.0', 'succeeded')]);
    await user.selectOptions(await screen.findByLabelText('Roll back to'), '1.0');
    expect(screen.getByTestId('rollback-question')).toHaveTextContent('Roll back staging from 3.0 to 1.0?');
    expect(screen.getByRole('button', { name: 'Roll back to 1.0' })).toBeEnabled();
  });

  it('disables its buttons while the request is in flight', async () => {
    const user = userEvent.setup();
    let answer: (v: RolledBack) => void = () => undefined;
    vi.mocked(rollbackEnvironment).mockReturnValue(new Promise((resolve) => (answer = resolve)));
    await confirm([deployment('1.1.0', 'succeeded'), deployment('1.0.0', 'succeeded')]);
    await user.click(await screen.findByRole('button', { name: /roll back to 1.0.0/i }));

    expect(screen.getByRole('button', { name: /roll back to 1.0.0/i })).toBeDisabled();
    expect(screen.getByRole('button', { name: 'Cancel' })).toBeDisabled();
    await user.click(screen.getByRole('button', { name: /roll back to 1.0.0/i }));
    expect(rollbackEnvironment).toHaveBeenCalledTimes(1);
    answer(rolledBack());
    expect(await screen.findByText('elsewhere')).toBeInTheDocument();
  });

  it("shows the server's refusal as text, never as markup", async () => {
    const user = userEvent.setup();
    vi.mocked(rollbackEnvironment).mockRejectedValue(
      new ApiError({ kind: 'conflict', status: 409, message: 'nothing to roll back to: <b>staging</b> runs 1.1.0' }),
    );
    await confirm([deployment('1.1.0', 'succeeded'), deployment('1.0.0', 'succeeded')]);
    await user.click(await screen.findByRole('button', { name: /roll back to 1.0.0/i }));

    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent('nothing to roll back to: <b>staging</b> runs 1.1.0');
    expect(alert.querySelector('b')).toBeNull();
    expect(screen.getByRole('button', { name: /roll back to 1.0.0/i })).toBeEnabled();
  });

  it('says when there is nothing to go back to, and offers no confirm', async () => {
    await confirm([deployment('1.1.0', 'succeeded'), deployment('1.0.0', 'failed')]);
    expect(await screen.findByTestId('rollback-nothing')).toHaveTextContent(
      'Nothing to roll back to: staging runs 1.1.0 and has no earlier successful deployment',
    );
    expect(screen.queryByRole('button', { name: /roll back to/i })).not.toBeInTheDocument();
  });

  it('cancels without asking anything', async () => {
    const user = userEvent.setup();
    const { onCancel } = await confirm([deployment('1.1.0', 'succeeded'), deployment('1.0.0', 'succeeded')]);
    await user.click(await screen.findByRole('button', { name: 'Cancel' }));
    expect(onCancel).toHaveBeenCalledTimes(1);
    expect(rollbackEnvironment).not.toHaveBeenCalled();
  });
});

describe('the Rollback button of an environment card', () => {
  async function cards(role: 'viewer' | 'operator' | 'admin', environments: Environment[]) {
    const onRollback = vi.fn();
    renderAt(<EnvironmentCards environments={environments} onDeploy={() => undefined} onRollback={onRollback} />, {
      path: '/',
      url: '/',
      client: await signedIn(role),
    });
    return onRollback;
  }

  it('is an operator’s for staging, an admin’s for production, and nobody’s before a first deploy', async () => {
    const onRollback = await cards('operator', [staging, production, { ...staging, name: 'dev', currentVersion: null }]);
    const button = within(screen.getByTestId('env-staging')).getByRole('button', { name: /rollback/i });
    await userEvent.setup().click(button);
    expect(onRollback).toHaveBeenCalledWith(staging);
    expect(within(screen.getByTestId('env-production')).queryByRole('button', { name: /rollback/i })).not.toBeInTheDocument();
    expect(within(screen.getByTestId('env-dev')).getByRole('button', { name: /rollback/i })).toBeDisabled();
  });

  it('is shown to an admin for production', async () => {
    await cards('admin', [production]);
    expect(within(screen.getByTestId('env-production')).getByRole('button', { name: /rollback/i })).toBeEnabled();
  });

  it('is hidden from a viewer', async () => {
    await cards('viewer', [staging]);
    expect(screen.queryByRole('button', { name: /rollback/i })).not.toBeInTheDocument();
  });
});
