// The run an action started, live: its label (`api#7`) linking to the pipeline and its status as it changes.

import { Link } from 'react-router-dom';

import { getPipeline } from '../api/endpoints';
import { StatusBadge } from '../components/badges';
import { mergePipeline } from '../lib/pipelines';
import { useLive } from '../live/live';
import { useResource } from '../lib/useResource';

export function RunStatus({ pipelineId, label }: { pipelineId: string; label: string }) {
  const run = useResource((signal) => getPipeline(pipelineId, signal), [pipelineId]);
  useLive(
    [`pipeline:${pipelineId}`],
    (event) => {
      if (event.type === 'pipeline.updated') run.setData((held) => (held ? mergePipeline(held, event.pipeline) : event.pipeline));
    },
    run.reload,
  );
  return (
    <p className="flex items-center gap-2 text-xs" data-testid="action-run" data-status={run.data?.status ?? 'unknown'}>
      <span className="text-muted">Run</span>
      <Link className="font-mono text-cyan hover:underline" to={`/pipelines/${encodeURIComponent(pipelineId)}`}>
        {label}
      </Link>
      {run.data && <StatusBadge status={run.data.status} size="sm" />}
    </p>
  );
}
