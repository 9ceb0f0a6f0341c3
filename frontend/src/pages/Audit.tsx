// The audit trail (admins): every chat action and decision and every mutating request through the edge, newest
// first, filtered by actor, kind and time, a page at a time (pageToken), with the hash chain's verification.

import { ShieldAlert, ShieldCheck, ShieldX } from 'lucide-react';
import { useState, type FormEvent } from 'react';

import { useSession } from '../auth/AuthContext';
import { listAudit, verifyAudit, type AuditQuery } from '../chat/api';
import type { AuditRecord } from '../chat/types';
import { Pager } from '../components/Pager';
import { Card, EmptyState, ErrorState, LoadingState, PageHeader, Spinner } from '../components/states';
import { dateTime } from '../lib/format';
import { canAdmin } from '../lib/roles';
import { usePageTokens } from '../lib/usePageTokens';
import { useResource } from '../lib/useResource';

export const AUDIT_PAGE = 50;

interface Filters {
  actor: string;
  kind: string;
  from: string;
  to: string;
}

const NO_FILTERS: Filters = { actor: '', kind: '', from: '', to: '' };

/** A `datetime-local` value (local time) as RFC 3339, or undefined when blank or invalid. */
export function toRfc3339(local: string): string | undefined {
  if (!local) return undefined;
  const time = new Date(local);
  return Number.isNaN(time.getTime()) ? undefined : time.toISOString();
}

export function auditQuery(filters: Filters, pageToken?: string): AuditQuery {
  return {
    actor: filters.actor.trim() || undefined,
    kind: filters.kind.trim() || undefined,
    from: toRfc3339(filters.from),
    to: toRfc3339(filters.to),
    pageToken,
    pageSize: AUDIT_PAGE,
  };
}

function ChainStatus() {
  const chain = useResource((signal) => verifyAudit(signal), []);
  let body;
  if (chain.error) body = <ErrorState compact error={chain.error} onRetry={chain.reload} />;
  else if (!chain.data) body = <Spinner label="Verifying the chain" />;
  else if (chain.data.intact) {
    body = (
      <p className="flex items-center gap-2 text-sm text-ok" data-testid="chain-status" data-intact="true">
        <ShieldCheck aria-hidden className="h-5 w-5" />
        Chain intact: {chain.data.records} record{chain.data.records === 1 ? '' : 's'}, each chained to the one before.
      </p>
    );
  } else {
    body = (
      <p className="flex items-center gap-2 text-sm text-bad" data-testid="chain-status" data-intact="false">
        <ShieldX aria-hidden className="h-5 w-5" />
        Chain broken at record {chain.data.firstBreakSeq ?? '?'}: {chain.data.problem ?? 'unknown problem'} (
        {chain.data.records} records).
      </p>
    );
  }
  return (
    <Card
      title="Chain verification"
      actions={
        <button type="button" className="btn btn-secondary text-xs" onClick={chain.reload} disabled={chain.loading}>
          Verify again
        </button>
      }
    >
      <div role="status" aria-live="polite">
        {body}
      </div>
    </Card>
  );
}

function Row({ record, onActor }: { record: AuditRecord; onActor: (subject: string) => void }) {
  return (
    <tr className="border-t border-line align-top" data-testid="audit-row" data-kind={record.kind}>
      <td className="px-3 py-2 font-mono text-xs text-muted">{record.seq}</td>
      <td className="px-3 py-2 text-xs whitespace-nowrap text-muted">{dateTime(record.at)}</td>
      <td className="px-3 py-2 text-sm">
        <button
          type="button"
          className="text-left text-white hover:text-cyan hover:underline"
          title={`Only ${record.actor.subject}`}
          onClick={() => onActor(record.actor.subject)}
        >
          {record.actor.name}
        </button>
        {record.actor.role && <span className="ml-1 text-xs text-muted">({record.actor.role})</span>}
      </td>
      <td className="px-3 py-2 font-mono text-xs text-white">{record.kind}</td>
      <td className="max-w-[18rem] px-3 py-2 font-mono text-xs break-all text-muted">{record.target}</td>
      <td className="px-3 py-2 font-mono text-xs text-white">{record.result}</td>
      <td className="px-3 py-2 font-mono text-xs text-muted">{record.source ?? '—'}</td>
    </tr>
  );
}

export default function Audit() {
  const session = useSession();
  const [draft, setDraft] = useState<Filters>(NO_FILTERS);
  const [filters, setFilters] = useState<Filters>(NO_FILTERS);
  const pages = usePageTokens();
  const admin = canAdmin(session.role);
  const page = useResource(
    (signal) => (admin ? listAudit(auditQuery(filters, pages.token), signal) : Promise.resolve(undefined)),
    [admin, filters, pages.token],
  );

  if (!admin) {
    return (
      <EmptyState title="Admins only" icon={<ShieldAlert aria-hidden className="h-8 w-8 text-warn" />}>
        The audit trail needs the admin role.
      </EmptyState>
    );
  }

  const apply = (next: Filters) => {
    setFilters(next);
    setDraft(next);
    pages.reset();
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    apply(draft);
  };
  const field = (name: keyof Filters) => ({
    id: `audit-${name}`,
    value: draft[name],
    onChange: (e: { target: { value: string } }) => setDraft((d) => ({ ...d, [name]: e.target.value })),
  });

  return (
    <>
      <PageHeader title="Audit trail" subtitle="Every chat action and decision and every change made through the API." />
      <div className="space-y-4">
        <ChainStatus />
        <Card title="Filters">
          <form className="grid gap-3 sm:grid-cols-2 lg:grid-cols-5" onSubmit={submit} aria-label="Audit filters">
            <div>
              <label className="label" htmlFor="audit-actor">
                Actor (user id)
              </label>
              <input className="input w-full" {...field('actor')} placeholder="any" />
            </div>
            <div>
              <label className="label" htmlFor="audit-kind">
                Kind
              </label>
              <input className="input w-full" {...field('kind')} list="audit-kinds" placeholder="chat.action.*" />
              <datalist id="audit-kinds">
                <option value="chat.action.*" />
                <option value="http.*" />
                <option value="chat.action.propose" />
                <option value="chat.action.confirm" />
                <option value="chat.action.approve" />
                <option value="chat.action.reject" />
                <option value="chat.action.run_started" />
                <option value="chat.action.outcome" />
                <option value="chat.action.expire" />
              </datalist>
            </div>
            <div>
              <label className="label" htmlFor="audit-from">
                From (inclusive)
              </label>
              <input className="input w-full" type="datetime-local" {...field('from')} />
            </div>
            <div>
              <label className="label" htmlFor="audit-to">
                To (exclusive)
              </label>
              <input className="input w-full" type="datetime-local" {...field('to')} />
            </div>
            <div className="flex items-end gap-2">
              <button type="submit" className="btn btn-primary">
                Apply
              </button>
              <button type="button" className="btn btn-ghost" onClick={() => apply(NO_FILTERS)}>
                Clear
              </button>
            </div>
          </form>
        </Card>
        <section className="card overflow-x-auto" aria-label="Audit records">
          {page.error ? (
            <ErrorState error={page.error} onRetry={page.reload} />
          ) : !page.data ? (
            <LoadingState label="Loading the audit trail…" />
          ) : page.data.items.length === 0 ? (
            <EmptyState title="No records">Nothing matches these filters.</EmptyState>
          ) : (
            <table className="w-full text-left">
              <thead className="text-xs tracking-wide text-muted uppercase">
                <tr>
                  <th className="px-3 py-2">#</th>
                  <th className="px-3 py-2">When</th>
                  <th className="px-3 py-2">Actor</th>
                  <th className="px-3 py-2">Kind</th>
                  <th className="px-3 py-2">Target</th>
                  <th className="px-3 py-2">Result</th>
                  <th className="px-3 py-2">Source</th>
                </tr>
              </thead>
              <tbody>
                {page.data.items.map((record) => (
                  <Row key={record.seq} record={record} onActor={(actor) => apply({ ...filters, actor })} />
                ))}
              </tbody>
            </table>
          )}
          <div className="flex items-center justify-between border-t border-line px-3 py-2">
            <Pager pages={pages} next={page.data?.nextPageToken} labels={['Newer', 'Older']} small />
          </div>
        </section>
      </div>
    </>
  );
}
