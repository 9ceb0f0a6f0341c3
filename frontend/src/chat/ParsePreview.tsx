// The composer's preview: the intent the bot understood, its params, what is missing (with suggestions), the risk and
// what will happen on send (answered at once, or an action to confirm and maybe to have approved).

import { describeError } from '../api/errors';
import { intentLabel, RiskBadge } from './badges';
import type { Parsed } from './types';

function consequence(parsed: Parsed): string {
  if (parsed.missing.length > 0) return 'The bot will ask for what is missing.';
  switch (parsed.risk) {
    case 'read':
      return 'The bot answers at once.';
    case 'critical':
      return 'You confirm it, then another person, an admin, approves it.';
    default:
      return 'You confirm it before anything runs.';
  }
}

export function ParsePreview({
  id,
  parsed,
  error,
  pending,
}: {
  id: string;
  parsed: Parsed | null;
  error: unknown;
  pending: boolean;
}) {
  let body;
  if (error) {
    body = <span className="text-bad">Preview unavailable: {describeError(error)}</span>;
  } else if (!parsed) {
    body = pending ? <span className="text-muted">Reading…</span> : null;
  } else if (parsed.intent === 'none') {
    body = (
      <span className="text-muted" data-intent="none">
        {parsed.negated
          ? 'A negated command: the bot will not act on it.'
          : 'No command understood: the message is posted as it is.'}
      </span>
    );
  } else {
    const params = Object.entries(parsed.params).filter(([, v]) => v !== undefined && v !== null);
    body = (
      <div className="flex flex-wrap items-center gap-1.5" data-intent={parsed.intent}>
        <span className="font-medium text-white">{intentLabel(parsed.intent)}</span>
        {params.map(([key, value]) => (
          <span key={key} className="rounded border border-line bg-surface-2 px-1.5 py-0.5 text-xs">
            <span className="text-muted">{key}: </span>
            <span className="font-mono text-white">{String(value)}</span>
          </span>
        ))}
        <RiskBadge risk={parsed.risk} />
        {parsed.missing.map((m) => (
          <span key={m.param} className="text-xs text-warn" data-missing={m.param}>
            Missing {m.param}: {m.reason}
            {m.suggestions && m.suggestions.length > 0 ? ` (did you mean ${m.suggestions.join(', ')}?)` : ''}
          </span>
        ))}
        <span className="text-xs text-muted">{consequence(parsed)}</span>
      </div>
    );
  }
  return (
    <div id={id} data-testid="composer-preview" aria-live="polite" className="min-h-5 text-xs">
      {body}
    </div>
  );
}
