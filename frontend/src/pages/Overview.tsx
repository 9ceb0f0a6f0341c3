// The overview: DORA tiles per environment, deployments and builds over time, failing pipelines and what is running
// now, all live: pipeline events update the lists in place, and a finished pipeline refreshes the metrics (debounced).

import { Activity, AlertOctagon, CheckCircle2, PlayCircle } from 'lucide-react';
import { lazy, Suspense, useEffect, useRef, useState, type ReactNode } from 'react';
import { Link } from 'react-router-dom';

import { getOverview, listPipelines } from '../api/endpoints';
import type { Pipeline } from '../api/types';
import { DoraTiles } from '../components/DoraTiles';
import { PipelineRow } from '../components/PipelineRow';
import { Card, EmptyState, ErrorState, PageHeader, Skeleton } from '../components/states';
import { percent } from '../lib/format';
import { ACTIVE_PIPELINE, isFinished, upsertPipeline } from '../lib/pipelines';
import { useResource } from '../lib/useResource';
import { useDebounced, useLive } from '../live/live';
import { useProjectTopics } from '../live/useProjectTopics';

const SeriesChart = lazy(() => import('../charts/SeriesChart'));

const WINDOWS = [7, 30, 90] as const;

function Kpi({ label, value, tone, icon }: { label: string; value: string; tone: string; icon: ReactNode }) {
  return (
    <div className="card flex items-center gap-4 p-4">
      <div className={`rounded-lg p-2.5 ${tone}`}>{icon}</div>
      <div>
        <p className="text-xs text-muted">{label}</p>
        <p className="font-mono text-2xl font-semibold text-white tabular-nums">{value}</p>
      </div>
    </div>
  );
}

export default function Overview() {
  const [days, setDays] = useState<(typeof WINDOWS)[number]>(30);
  const overview = useResource((signal) => getOverview({ days }, signal), [days]);
  const running = useResource(async (signal) => {
    const pages = await Promise.all(
      (['running', 'waiting_approval', 'queued'] as const).map((status) => listPipelines({ status, pageSize: 20 }, signal)),
    );
    return pages.flatMap((p) => p.pipelines).sort((a, b) => (b.createdAt ?? '').localeCompare(a.createdAt ?? ''));
  }, []);
  const failing = useResource((signal) => listPipelines({ status: 'failed', pageSize: 6 }, signal).then((p) => p.pipelines), []);

  const refreshMetrics = useDebounced(overview.reload, 1500);
  const later = useRef<ReturnType<typeof setTimeout> | null>(null);
  useEffect(() => () => {
    if (later.current) clearTimeout(later.current);
  }, []);
  const { topics, complete } = useProjectTopics();
  const resync = () => {
    running.reload();
    failing.reload();
    overview.reload();
  };
  useLive(
    topics,
    (event) => {
      if (event.type === 'job.log') return;
      const p: Pipeline = event.pipeline;
      running.setData((list) => upsertPipeline(list ?? [], p, (x) => ACTIVE_PIPELINE.has(x.status ?? 'queued'), 40));
      failing.setData((list) => upsertPipeline(list ?? [], p, (x) => x.status === 'failed', 6));
      // Metrics points arrive from finished jobs and deploys (through an outbox, so maybe a moment later): refresh
      // once a burst of events settles, and once more shortly after.
      if (event.type === 'pipeline.updated' ? isFinished(p.status) : isFinished(event.job.status)) {
        refreshMetrics();
        if (later.current) clearTimeout(later.current);
        later.current = setTimeout(refreshMetrics, 4000);
      }
    },
    resync,
  );
  // More projects than one socket can follow: the rest is caught up on a slow timer.
  useEffect(() => {
    if (complete) return undefined;
    const timer = setInterval(resync, 15_000);
    return () => clearInterval(timer);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [complete]);

  const data = overview.data;
  return (
    <>
      <PageHeader
        title="Overview"
        subtitle="Delivery performance and what is happening now, updated live."
        actions={
          <div role="group" aria-label="Time window" className="flex rounded-lg border border-line bg-surface p-0.5">
            {WINDOWS.map((d) => (
              <button
                key={d}
                type="button"
                aria-pressed={days === d}
                onClick={() => setDays(d)}
                className={`rounded-md px-3 py-1.5 text-xs font-medium ${days === d ? 'bg-cyan/15 text-cyan' : 'text-muted hover:text-white'}`}
              >
                {d} days
              </button>
            ))}
          </div>
        }
      />

      <section aria-labelledby="dora-title" className="mb-8" data-testid="dora-section">
        <h2 id="dora-title" className="mb-3 text-sm font-semibold tracking-wide text-muted uppercase">
          DORA metrics by environment
        </h2>
        {data ? (
          <div data-testid="dora-tiles">
            <DoraTiles environments={data.environments} />
          </div>
        ) : overview.error ? (
          <ErrorState error={overview.error} onRetry={overview.reload} compact />
        ) : (
          <div className="grid gap-4 sm:grid-cols-2 xl:grid-cols-3">
            {[0, 1, 2].map((i) => (
              <div key={i} className="card p-4">
                <Skeleton lines={5} />
              </div>
            ))}
          </div>
        )}
      </section>

      {data && (
        <div className="mb-8 grid gap-4 sm:grid-cols-3">
          <Kpi label="Job runs, last 24 h" value={String(data.jobRuns24h)} tone="bg-cyan/10 text-cyan" icon={<Activity aria-hidden className="h-5 w-5" />} />
          <Kpi label="Failed job runs, last 24 h" value={String(data.failedJobRuns24h)} tone="bg-bad/10 text-bad" icon={<AlertOctagon aria-hidden className="h-5 w-5" />} />
          <Kpi label="Job success rate, 24 h" value={percent(data.jobSuccessRate24h, 1)} tone="bg-ok/10 text-ok" icon={<CheckCircle2 aria-hidden className="h-5 w-5" />} />
        </div>
      )}

      <div className="mb-8 grid gap-4 lg:grid-cols-2">
        <Card title="Deployments over time">
          {data?.deployments ? (
            <Suspense fallback={<Skeleton lines={6} />}>
              <SeriesChart series={data.deployments} title="Deployments" />
            </Suspense>
          ) : data ? (
            <p className="text-sm text-muted">No deployment data in this window.</p>
          ) : overview.error ? (
            <p className="text-sm text-muted">Metrics are unavailable.</p>
          ) : (
            <Skeleton lines={6} />
          )}
        </Card>
        <Card title="Builds (job runs) over time">
          {data?.jobRuns ? (
            <Suspense fallback={<Skeleton lines={6} />}>
              <SeriesChart series={data.jobRuns} title="Job runs" />
            </Suspense>
          ) : data ? (
            <p className="text-sm text-muted">No job runs in this window.</p>
          ) : overview.error ? (
            <p className="text-sm text-muted">Metrics are unavailable.</p>
          ) : (
            <Skeleton lines={6} />
          )}
        </Card>
      </div>

      <div className="grid gap-4 lg:grid-cols-2">
        <Card title="Running now" testId="running-now" actions={<Link to="/pipelines" className="link text-xs">All pipelines</Link>}>
          {running.data ? (
            running.data.length === 0 ? (
              <EmptyState title="Nothing is running" icon={<PlayCircle aria-hidden className="h-8 w-8" />}>
                Pipelines appear here as soon as they are queued.
              </EmptyState>
            ) : (
              <ul className="-mx-3 divide-y divide-line/60">
                {running.data.map((p) => (
                  <PipelineRow key={p.id} pipeline={p} />
                ))}
              </ul>
            )
          ) : running.error ? (
            <ErrorState error={running.error} onRetry={running.reload} compact />
          ) : (
            <Skeleton />
          )}
        </Card>
        <Card title="Failing pipelines" testId="failing-pipelines">
          {failing.data ? (
            failing.data.length === 0 ? (
              <EmptyState title="No failing pipelines" icon={<CheckCircle2 aria-hidden className="h-8 w-8 text-ok" />} />
            ) : (
              <ul className="-mx-3 divide-y divide-line/60">
                {failing.data.map((p) => (
                  <PipelineRow key={p.id} pipeline={p} />
                ))}
              </ul>
            )
          ) : failing.error ? (
            <ErrorState error={failing.error} onRetry={failing.reload} compact />
          ) : (
            <Skeleton />
          )}
        </Card>
      </div>
    </>
  );
}
