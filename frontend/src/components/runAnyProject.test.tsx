import { screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';

import type { Definition, Project } from '../api/types';
import { renderAt, signedIn } from '../test/render';
import { RunAnyProject } from './RunAnyProject';

vi.mock('../api/endpoints', () => ({ listDefinitions: vi.fn(), getProject: vi.fn(), listReleases: vi.fn(), createRun: vi.fn() }));
const endpoints = await import('../api/endpoints');

describe('Run pipeline on the pipelines page', () => {
  it("offers the chosen project's definitions, and follows a change of project", async () => {
    const user = userEvent.setup();
    vi.mocked(endpoints.listDefinitions).mockImplementation(async (slug: string) =>
      [{ name: slug === 'api' ? 'ci' : 'docs', kind: 'ci', version: 1, description: '', stages: [] }] as unknown as Definition[],
    );
    vi.mocked(endpoints.getProject).mockResolvedValue({ environments: [] } as unknown as Project);
    vi.mocked(endpoints.listReleases).mockResolvedValue({ items: [] });
    renderAt(<RunAnyProject projects={['api', 'web']} initialProject="web" />, { path: '/', url: '/', client: await signedIn('operator') });

    expect(await screen.findByRole('radio', { name: /docs/ })).toBeChecked();
    await user.selectOptions(screen.getByLabelText('Project'), 'api');
    expect(await screen.findByRole('radio', { name: /^ci/ })).toBeChecked();
    expect(screen.queryByRole('radio', { name: /docs/ })).not.toBeInTheDocument();
    expect(endpoints.listDefinitions).toHaveBeenCalledWith('api', expect.anything());
  });

  it('says so when the definitions cannot be read, with a way to try again', async () => {
    const { ApiError } = await import('../api/errors');
    vi.mocked(endpoints.listDefinitions).mockRejectedValue(new ApiError({ kind: 'unavailable', status: 503, message: 'a backing service is unavailable' }));
    vi.mocked(endpoints.getProject).mockResolvedValue({ environments: [] } as unknown as Project);
    vi.mocked(endpoints.listReleases).mockResolvedValue({ items: [] });
    renderAt(<RunAnyProject projects={['api']} />, { path: '/', url: '/', client: await signedIn('operator') });
    expect(await screen.findByRole('alert')).toHaveTextContent('a backing service is unavailable');
    expect(screen.getByRole('button', { name: /try again/i })).toBeInTheDocument();
  });
});
