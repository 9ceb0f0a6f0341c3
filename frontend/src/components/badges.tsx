// Status and level badges: colour and text together (never colour alone), with an icon for quick scanning.

import {
  CheckCircle2,
  CircleDashed,
  CircleSlash,
  Clock,
  Hand,
  Loader2,
  Timer,
  XCircle,
  type LucideIcon,
} from 'lucide-react';

import type { JobStatus, Level, PipelineStatus } from '../api/types';

type Status = PipelineStatus | JobStatus | 'rolled_back';

const STATUS: Record<Status, { label: string; tone: string; icon: LucideIcon; spin?: boolean }> = {
  pending: { label: 'Pending', tone: 'text-muted border-line bg-surface-2', icon: CircleDashed },
  queued: { label: 'Queued', tone: 'text-muted border-line bg-surface-2', icon: Clock },
  running: { label: 'Running', tone: 'text-cyan border-cyan/40 bg-cyan/10', icon: Loader2, spin: true },
  waiting_approval: { label: 'Awaiting approval', tone: 'text-warn border-warn/40 bg-warn/10', icon: Hand },
  succeeded: { label: 'Succeeded', tone: 'text-ok border-ok/40 bg-ok/10', icon: CheckCircle2 },
  failed: { label: 'Failed', tone: 'text-bad border-bad/40 bg-bad/10', icon: XCircle },
  cancelled: { label: 'Cancelled', tone: 'text-muted border-line bg-surface-2', icon: CircleSlash },
  timed_out: { label: 'Timed out', tone: 'text-bad border-bad/40 bg-bad/10', icon: Timer },
  rolled_back: { label: 'Rolled back', tone: 'text-warn border-warn/40 bg-warn/10', icon: CircleSlash },
};

export function StatusBadge({ status, size = 'md' }: { status: Status | null | undefined; size?: 'sm' | 'md' }) {
  const info = status ? STATUS[status] : undefined;
  const { label, tone, icon: Icon, spin } = info ?? { label: 'Unknown', tone: 'text-muted border-line', icon: CircleDashed };
  return (
    <span
      data-status={status ?? 'unknown'}
      className={`inline-flex shrink-0 items-center gap-1.5 rounded-full border font-medium whitespace-nowrap ${tone} ${size === 'sm' ? 'px-2 py-0.5 text-[11px]' : 'px-2.5 py-0.5 text-xs'}`}
    >
      <Icon aria-hidden className={`${size === 'sm' ? 'h-3 w-3' : 'h-3.5 w-3.5'} ${spin ? 'animate-spin' : ''}`} />
      {label}
    </span>
  );
}

const LEVEL: Record<Exclude<Level, null>, { label: string; tone: string }> = {
  elite: { label: 'Elite', tone: 'text-ok border-ok/40 bg-ok/10' },
  high: { label: 'High', tone: 'text-cyan border-cyan/40 bg-cyan/10' },
  medium: { label: 'Medium', tone: 'text-warn border-warn/40 bg-warn/10' },
  low: { label: 'Low', tone: 'text-bad border-bad/40 bg-bad/10' },
};

export function LevelBadge({ level }: { level: Level | undefined }) {
  const info = level ? LEVEL[level] : { label: 'No data', tone: 'text-muted border-line bg-surface-2' };
  return (
    <span
      data-level={level ?? 'none'}
      className={`inline-flex items-center rounded-full border px-2 py-0.5 text-[11px] font-semibold tracking-wide uppercase ${info.tone}`}
    >
      {info.label}
    </span>
  );
}

export function TierBadge({ tier }: { tier: string | null | undefined }) {
  const tone = tier === 'production' ? 'text-warn border-warn/40' : tier === 'staging' ? 'text-cyan border-cyan/40' : 'text-muted border-line';
  return (
    <span className={`inline-flex items-center rounded border px-1.5 py-px text-[10px] font-semibold tracking-wider uppercase ${tone}`}>
      {tier ?? 'untiered'}
    </span>
  );
}

/** A pipeline definition's kind: `ci` builds and tests, `deploy` ships a version to an environment. */
export function KindBadge({ kind }: { kind: string | null | undefined }) {
  const tone = kind === 'deploy' ? 'text-cyan border-cyan/40' : 'text-muted border-line';
  return (
    <span className={`inline-flex items-center rounded border px-1.5 py-px text-[10px] font-semibold tracking-wider uppercase ${tone}`}>
      {kind ?? 'unknown'}
    </span>
  );
}
