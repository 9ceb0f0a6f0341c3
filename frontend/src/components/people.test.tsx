import { screen, waitFor, within } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';

import type { Pipeline } from '../api/types';
import { UserNameCache, UserNamesContext, type UserName } from '../lib/userNames';
import { aPipeline } from '../test/fixtures';
import { renderAt, signedIn } from '../test/render';
import { PipelineRow } from './PipelineRow';

const ADA = '0190f0a8-1111-7000-8000-00000000000a';
const GRACE = '0190f0a8-2222-7000-8000-00000000000b';
const GONE = '0190f0a8-3333-7000-8000-00000000dead';

function pipeline(id: string, triggeredBy: string): Pipeline {
  return aPipeline({ id, triggeredBy });
}

/** A list of rows, each triggered by one of `people`, over a cache whose gateway is `fetchNames`. */
async function list(triggeredBy: string[], fetchNames: (ids: string[]) => Promise<UserName[]>) {
  const cache = new UserNameCache(fetchNames, 0);
  renderAt(
    <UserNamesContext.Provider value={cache}>
      <ul>
        {triggeredBy.map((who, i) => (
          <PipelineRow key={i} pipeline={pipeline(`p${i}`, who)} />
        ))}
      </ul>
    </UserNamesContext.Provider>,
    { path: '/', url: '/', client: await signedIn('viewer') },
  );
  const row = (i: number) => {
    const element = screen.getAllByTestId('pipeline-row')[i];
    if (!element) throw new Error(`no row ${i}`);
    return within(element);
  };
  return { row, cache };
}

describe('who triggered a pipeline, in a list', () => {
  it('names everyone the rows show with one request, and keeps the fallback for who has no name', async () => {
    let answer: (users: UserName[]) => void = () => {};
    const fetchNames = vi.fn(() => new Promise<UserName[]>((resolve) => (answer = resolve)));
    // The signed-in user of `signedIn` is `me`; `service:gateway` is a service account.
    const { row } = await list([ADA, GRACE, ADA, GONE, 'me', 'service:gateway'], fetchNames);

    // While the names load, each row says what it always did.
    expect(row(0).getByText(/manual by user 0000000a/)).toBeInTheDocument();
    await waitFor(() => expect(fetchNames).toHaveBeenCalledTimes(1));
    answer([
      { id: ADA, name: 'Ada Lovelace' },
      { id: GRACE, name: 'Grace Hopper' },
    ]);

    expect(await row(0).findByText(/manual by Ada Lovelace/)).toBeInTheDocument();
    expect(row(1).getByText(/manual by Grace Hopper/)).toBeInTheDocument();
    expect(row(2).getByText(/manual by Ada Lovelace/)).toBeInTheDocument();
    expect(row(3).getByText(/manual by user 0000dead/)).toBeInTheDocument();
    expect(row(4).getByText(/manual by you/)).toBeInTheDocument();
    expect(row(5).getByText(/manual by service:gateway/)).toBeInTheDocument();
    expect(fetchNames).toHaveBeenCalledTimes(1);
    expect([...(fetchNames.mock.calls[0] as unknown as [string[]])[0]].sort()).toEqual([ADA, GRACE, GONE].sort());
  });

  it('keeps showing short ids when the names cannot be had', async () => {
    const fetchNames = vi.fn(async () => {
      throw new Error('gateway down');
    });
    const { row, cache } = await list([ADA], fetchNames);

    // The failed request is over once the cache has told the rows (its one change).
    await waitFor(() => expect(cache.snapshot()).toBe(1));
    expect(fetchNames).toHaveBeenCalledTimes(1);

    expect(row(0).getByText(/manual by user 0000000a/)).toBeInTheDocument();
  });
});
