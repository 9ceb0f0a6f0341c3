import { fireEvent, screen, waitFor } from '@testing-library/react';
import { beforeEach, describe, expect, it, vi } from 'vitest';

import type { AuditQuery } from '../../chat/api';
import type { AuditPage, AuditRecord, ChainReport } from '../../chat/types';
import { renderAt, signedIn } from '../../test/render';
import Audit, { auditQuery, toRfc3339 } from '../Audit';

const listAudit = vi.fn<(q: AuditQuery) => Promise<AuditPage>>();
const verifyAudit = vi.fn<() => Promise<ChainReport>>();
vi.mock('../../chat/api', () => ({
  listAudit: (q: AuditQuery) => listAudit(q),
  verifyAudit: () => verifyAudit(),
}));

const record = (seq: number, kind = 'chat.action.confirm'): AuditRecord => ({
  seq,
  at: '2026-12-07T21:00:00Z',
  actor: { subject: `user-${seq}`, name: `Person ${seq}`, role: 'admin' },
  kind,
  target: `action:${seq}`,
  result: 'awaiting_approval',
  source: '127.0.0.1',
  requestId: null,
  details: {},
  prevHash: '0',
  hash: '1',
});

beforeEach(() => {
  listAudit.mockReset();
  verifyAudit.mockReset();
});

describe('Audit page', () => {
  it('is for admins only', async () => {
    const client = await signedIn('operator');
    renderAt(<Audit />, { path: '/admin/audit', url: '/admin/audit', client });
    expect(await screen.findByText('Admins only')).toBeInTheDocument();
    expect(listAudit).not.toHaveBeenCalled();
    expect(verifyAudit).not.toHaveBeenCalled();
  });

  it('shows the chain status, pages with pageToken both ways, and filters', async () => {
    verifyAudit.mockResolvedValue({ intact: true, records: 120 });
    listAudit.mockImplementation(async (q) =>
      q.pageToken === 'p2' ? { items: [record(70)] } : { items: [record(120), record(119, 'http.POST /api/v1/users')], nextPageToken: 'p2' },
    );
    const client = await signedIn('admin');
    renderAt(<Audit />, { path: '/admin/audit', url: '/admin/audit', client });
    expect(await screen.findByTestId('chain-status')).toHaveTextContent('Chain intact: 120 records');
    expect(await screen.findAllByTestId('audit-row')).toHaveLength(2);
    expect(listAudit).toHaveBeenLastCalledWith(expect.objectContaining({ pageToken: undefined, pageSize: 50 }));

    fireEvent.click(screen.getByRole('button', { name: /Older/ }));
    await waitFor(() => expect(screen.getAllByTestId('audit-row')).toHaveLength(1));
    expect(listAudit).toHaveBeenLastCalledWith(expect.objectContaining({ pageToken: 'p2' }));
    expect(screen.getByRole('button', { name: /Older/ })).toBeDisabled();
    fireEvent.click(screen.getByRole('button', { name: /Newer/ }));
    await waitFor(() => expect(screen.getAllByTestId('audit-row')).toHaveLength(2));
    expect(listAudit).toHaveBeenLastCalledWith(expect.objectContaining({ pageToken: undefined }));

    fireEvent.change(screen.getByLabelText('Kind'), { target: { value: 'chat.action.*' } });
    fireEvent.change(screen.getByLabelText('Actor (user id)'), { target: { value: ' user-7 ' } });
    fireEvent.click(screen.getByRole('button', { name: 'Apply' }));
    await waitFor(() =>
      expect(listAudit).toHaveBeenLastCalledWith(expect.objectContaining({ kind: 'chat.action.*', actor: 'user-7', pageToken: undefined })),
    );
    // A click on an actor keeps only them.
    fireEvent.click((await screen.findAllByRole('button', { name: 'Person 120' }))[0] as HTMLElement);
    await waitFor(() => expect(listAudit).toHaveBeenLastCalledWith(expect.objectContaining({ actor: 'user-120', kind: 'chat.action.*' })));
  });

  it('says where a broken chain breaks', async () => {
    verifyAudit.mockResolvedValue({ intact: false, records: 9, firstBreakSeq: 4, problem: 'hash mismatch' });
    listAudit.mockResolvedValue({ items: [] });
    const client = await signedIn('admin');
    renderAt(<Audit />, { path: '/admin/audit', url: '/admin/audit', client });
    expect(await screen.findByTestId('chain-status')).toHaveTextContent('Chain broken at record 4: hash mismatch');
    expect(await screen.findByText('No records')).toBeInTheDocument();
  });

  it('sends times as RFC 3339 and leaves blank filters out', () => {
    expect(toRfc3339('')).toBeUndefined();
    expect(toRfc3339('not a time')).toBeUndefined();
    expect(toRfc3339('2026-12-07T21:30')).toBe(new Date('2026-12-07T21:30').toISOString());
    expect(auditQuery({ actor: ' ', kind: '', from: '', to: '' }, 'tok')).toEqual({
      actor: undefined,
      kind: undefined,
      from: undefined,
      to: undefined,
      pageToken: 'tok',
      pageSize: 50,
    });
  });
});
