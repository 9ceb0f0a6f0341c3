// Time left until a deadline, ticking each second: `4:59 left to confirm`, then `Time is up`.

import { Timer } from 'lucide-react';

import { parseTime } from '../lib/format';
import { useNow } from '../lib/useNow';

export function remaining(deadline: string, now: number): number {
  const end = parseTime(deadline);
  return end === null ? 0 : Math.max(0, Math.ceil((end - now) / 1000));
}

export function clock(seconds: number): string {
  const m = Math.floor(seconds / 60);
  const s = seconds % 60;
  return `${m}:${String(s).padStart(2, '0')}`;
}

export function Countdown({ deadline, purpose }: { deadline: string; purpose: string }) {
  const now = useNow(true, 1000);
  const left = remaining(deadline, now);
  const tone = left === 0 ? 'text-bad' : left < 60 ? 'text-warn' : 'text-muted';
  return (
    <span role="timer" data-testid="countdown" data-seconds={left} className={`inline-flex items-center gap-1 text-xs ${tone}`}>
      <Timer aria-hidden className="h-3.5 w-3.5" />
      {left === 0 ? `Time is up ${purpose}` : `${clock(left)} left ${purpose}`}
    </span>
  );
}
