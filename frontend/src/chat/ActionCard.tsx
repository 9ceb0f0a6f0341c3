// An action the bot proposed: what it will do, its risk, the time left to decide, who decided what, the run it started
// and its outcome, with the Confirm / Approve / Reject buttons shown only to those who may use them.

import { Check, ShieldCheck, X } from 'lucide-react';
import { useState } from 'react';

import type { Session } from '../api/client';
import { describeError } from '../api/errors';
import { dateTime } from '../lib/format';
import { ActionStateBadge, intentLabel, RiskBadge } from './badges';
import { Countdown } from './Countdown';
import { RunStatus } from './RunStatus';
import { allowedDecisions, deadline, waitingFor } from './permissions';
import type { ChatAction, Decision, Params } from './types';

const BUTTON: Record<Decision, { label: string; icon: typeof Check; tone: string }> = {
  confirm: { label: 'Confirm', icon: Check, tone: 'btn-primary' },
  approve: { label: 'Approve', icon: ShieldCheck, tone: 'btn-primary' },
  reject: { label: 'Reject', icon: X, tone: 'btn-ghost' },
};

const PAST: Record<Decision, string> = { confirm: 'Confirmed', approve: 'Approved', reject: 'Rejected' };

function ParamList({ params }: { params: Params }) {
  const entries = Object.entries(params).filter(([, v]) => v !== undefined && v !== null && v !== '');
  if (entries.length === 0) return null;
  return (
    <dl className="flex flex-wrap gap-1.5 text-xs">
      {entries.map(([key, value]) => (
        <div key={key} className="rounded border border-line bg-surface-2 px-1.5 py-0.5">
          <dt className="inline text-muted">{key}: </dt>
          <dd className="inline font-mono text-white">{String(value)}</dd>
        </div>
      ))}
    </dl>
  );
}

export function ActionCard({
  action,
  me,
  onDecide,
}: {
  action: ChatAction;
  me: Pick<Session, 'userId' | 'role'>;
  onDecide: (id: string, decision: Decision) => Promise<unknown>;
}) {
  const [busy, setBusy] = useState<Decision | null>(null);
  const [error, setError] = useState<string | null>(null);
  const decisions = allowedDecisions(action, me);
  const until = deadline(action);
  const waiting = waitingFor(action, me);
  const purpose = action.state === 'awaiting_approval' ? 'to approve' : 'to confirm';

  const decide = (decision: Decision) => {
    setBusy(decision);
    setError(null);
    onDecide(action.id, decision)
      .catch((e: unknown) => setError(describeError(e)))
      .finally(() => setBusy(null));
  };

  return (
    <section
      aria-label={`Action ${action.code}: ${intentLabel(action.intent)} ${action.target}`}
      data-testid="action-card"
      data-action-id={action.id}
      data-state={action.state}
      className="mt-2 max-w-xl space-y-2 rounded-lg border border-line bg-surface p-3"
    >
      <header className="flex flex-wrap items-center gap-2">
        <span className="font-medium text-white">{intentLabel(action.intent)}</span>
        <span className="font-mono text-sm text-white">{action.target}</span>
        <RiskBadge risk={action.risk} />
        <ActionStateBadge state={action.state} />
        <span className="ml-auto font-mono text-xs text-muted" title={`Or type "confirm ${action.code}" in the room`}>
          {action.code}
        </span>
      </header>
      <ParamList params={action.params} />
      <p className="text-xs text-muted">
        Asked by {action.asker.id === me.userId ? 'you' : action.asker.name} ({action.asker.role}) ·{' '}
        {dateTime(action.createdAt)}
      </p>
      {action.decisions.length > 0 && (
        <ul className="space-y-0.5 text-xs" aria-label="Decisions" data-testid="decisions">
          {action.decisions.map((d) => (
            <li key={`${d.decision}-${d.by.id}-${d.at}`} className="text-muted">
              <span className="text-white">{PAST[d.decision] ?? d.decision}</span> by{' '}
              {d.by.id === me.userId ? 'you' : d.by.name} ({d.by.role}) · {dateTime(d.at)}
            </li>
          ))}
        </ul>
      )}
      {until && <Countdown deadline={until} purpose={purpose} />}
      {action.run && (
        <RunStatus pipelineId={action.run.pipelineId} label={`${action.params.project ?? 'run'}#${action.run.runNumber}`} />
      )}
      {action.outcome && (
        <p className={`text-sm ${action.state === 'failed' ? 'text-bad' : 'text-white'}`} data-testid="outcome">
          {action.outcome}
        </p>
      )}
      {waiting && <p className="text-xs text-muted">{waiting}</p>}
      {decisions.length > 0 && (
        <div className="flex flex-wrap gap-2">
          {decisions.map((decision) => {
            const { label, icon: Icon, tone } = BUTTON[decision];
            return (
              <button
                key={decision}
                type="button"
                className={`btn ${tone} px-3 py-1 text-sm`}
                disabled={busy !== null}
                onClick={() => decide(decision)}
              >
                <Icon aria-hidden className="h-4 w-4" />
                {busy === decision ? `${label}…` : label}
              </button>
            );
          })}
        </div>
      )}
      {error && (
        <p role="alert" className="text-xs text-bad">
          {error}
        </p>
      )}
    </section>
  );
}
