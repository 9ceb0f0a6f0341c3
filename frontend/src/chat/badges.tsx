// The chat's small badges: risk and action state, colour and text together.

import type { ActionState, Risk } from './types';

const RISK: Record<Risk, string> = {
  read: 'text-muted border-line bg-surface-2',
  medium: 'text-cyan border-cyan/40 bg-cyan/10',
  high: 'text-warn border-warn/40 bg-warn/10',
  critical: 'text-bad border-bad/40 bg-bad/10',
};

const STATE: Record<ActionState, [string, string]> = {
  awaiting_confirmation: ['Awaiting confirmation', 'text-warn border-warn/40 bg-warn/10'],
  awaiting_approval: ['Awaiting approval', 'text-warn border-warn/40 bg-warn/10'],
  executing: ['Executing', 'text-cyan border-cyan/40 bg-cyan/10'],
  succeeded: ['Succeeded', 'text-ok border-ok/40 bg-ok/10'],
  failed: ['Failed', 'text-bad border-bad/40 bg-bad/10'],
  rejected: ['Rejected', 'text-muted border-line bg-surface-2'],
  expired: ['Expired', 'text-muted border-line bg-surface-2'],
};

const pill = 'inline-flex items-center rounded-full border px-2 py-0.5 text-[11px] font-medium whitespace-nowrap';

export function RiskBadge({ risk }: { risk: Risk }) {
  return (
    <span data-risk={risk} className={`${pill} ${RISK[risk] ?? RISK.read}`}>
      {risk === 'read' ? 'read-only' : `${risk} risk`}
    </span>
  );
}

export function ActionStateBadge({ state }: { state: ActionState }) {
  const [label, tone] = STATE[state] ?? [state, RISK.read];
  return (
    <span data-state={state} className={`${pill} ${tone}`}>
      {label}
    </span>
  );
}

/** `deploy` → `Deploy`, `run_pipeline` → `Run pipeline`. */
export function intentLabel(intent: string): string {
  const words = intent.replace(/_/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}
