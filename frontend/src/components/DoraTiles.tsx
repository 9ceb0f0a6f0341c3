// One tile per environment: the DORA metrics of the window with the 2023 performance level of each and overall.

import { Clock, GitCommitHorizontal, Repeat2, Rocket, ShieldAlert, Wrench } from 'lucide-react';
import type { ReactNode } from 'react';

import type { DoraMetrics } from '../api/types';
import { compact, duration, percent } from '../lib/format';
import { LevelBadge } from './badges';

function Metric({ icon, label, value, detail, level }: {
  icon: ReactNode;
  label: string;
  value: string;
  detail?: string;
  level: DoraMetrics['overallLevel'];
}) {
  return (
    <div className="flex items-start justify-between gap-2 rounded-lg bg-ink/60 px-3 py-2.5">
      <div className="min-w-0">
        <dt className="flex items-center gap-1.5 text-xs text-muted">
          {icon}
          {label}
        </dt>
        <dd className="mt-0.5 font-mono text-lg font-semibold text-white tabular-nums">{value}</dd>
        {detail && <dd className="text-[11px] text-muted">{detail}</dd>}
      </div>
      <dd>
        <LevelBadge level={level} />
      </dd>
    </div>
  );
}

export function DoraTile({ environment, metrics }: { environment: string; metrics: DoraMetrics }) {
  const df = metrics.deploymentFrequency;
  const icon = 'h-3.5 w-3.5';
  return (
    <article className="card p-4" data-testid={`dora-tile-${environment}`} aria-label={`DORA metrics of ${environment}`}>
      <header className="mb-3 flex items-center justify-between gap-2">
        <h3 className="truncate font-semibold text-white">{environment}</h3>
        <span className="flex items-center gap-2 text-xs text-muted">
          overall <LevelBadge level={metrics.overallLevel} />
        </span>
      </header>
      <dl className="grid gap-2">
        <Metric
          icon={<Rocket aria-hidden className={icon} />}
          label="Deployment frequency"
          value={`${compact(df.perWeek)}/wk`}
          detail={`${df.deployments} deployment${df.deployments === 1 ? '' : 's'}`}
          level={df.level}
        />
        <Metric
          icon={<Clock aria-hidden className={icon} />}
          label="Lead time for changes"
          value={duration(metrics.leadTime.medianSeconds)}
          detail={
            metrics.leadTime.changes
              ? `median of ${metrics.leadTime.changes} change${metrics.leadTime.changes === 1 ? '' : 's'}`
              : // Lead time counts from commit times: GitHub pushes, or deploys created with commit.time.
                'no commit times yet'
          }
          level={metrics.leadTime.level}
        />
        <Metric
          icon={<ShieldAlert aria-hidden className={icon} />}
          label="Change failure rate"
          value={percent(metrics.changeFailureRate.rate)}
          detail={`${metrics.changeFailureRate.failures} of ${metrics.changeFailureRate.deployments} failed`}
          level={metrics.changeFailureRate.level}
        />
        <Metric
          icon={<Wrench aria-hidden className={icon} />}
          label="Recovery time"
          value={duration(metrics.recoveryTime.medianSeconds)}
          detail={metrics.recoveryTime.recoveries ? `${metrics.recoveryTime.recoveries} recoveries` : 'no failures to recover'}
          level={metrics.recoveryTime.level}
        />
        <Metric
          icon={<Repeat2 aria-hidden className={icon} />}
          label="Rework rate"
          value={percent(metrics.reworkRate.rate)}
          detail={`within ${metrics.reworkRate.reworkWindowHours} h`}
          level={metrics.reworkRate.level}
        />
      </dl>
    </article>
  );
}

export function DoraTiles({ environments }: { environments: { environment: string; metrics: DoraMetrics }[] }) {
  if (environments.length === 0) {
    return (
      <div className="card flex items-center gap-3 p-5 text-sm text-muted" data-testid="dora-empty">
        <GitCommitHorizontal aria-hidden className="h-5 w-5 text-cyan" />
        No deployments in this window yet: DORA metrics appear after the first deploy pipeline finishes.
      </div>
    );
  }
  return (
    <div className="grid gap-4 sm:grid-cols-2 xl:grid-cols-3">
      {environments.map((e) => (
        <DoraTile key={e.environment} environment={e.environment} metrics={e.metrics} />
      ))}
    </div>
  );
}
