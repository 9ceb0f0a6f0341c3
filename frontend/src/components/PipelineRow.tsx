// A pipeline in a list: status, project, what it does, progress and timing; the whole row links to its page.

import { GitBranch, Rocket, RotateCcw } from 'lucide-react';
import { Link } from 'react-router-dom';

import type { Pipeline } from '../api/types';
import { useAuth } from '../auth/AuthContext';
import { elapsed, relativeTime, runLabel } from '../lib/format';
import { ACTIVE_PIPELINE, pipelineSummary, progress } from '../lib/pipelines';
import { useNow } from '../lib/useNow';
import { personLabel, useUserNames } from '../lib/userNames';
import { StatusBadge } from './badges';
import { CommitRef } from './CommitRef';

export function PipelineRow({ pipeline, showProject = true }: { pipeline: Pipeline; showProject?: boolean }) {
  const { done, total } = progress(pipeline);
  const deploy = pipeline.environment && pipeline.version;
  const me = useAuth().session?.userId;
  // Every row of a list asks in the same commit, so the list's people are named in one request.
  const names = useUserNames([pipeline.triggeredBy]);
  const now = useNow(ACTIVE_PIPELINE.has(pipeline.status ?? 'succeeded'));
  return (
    <li data-testid="pipeline-row" data-pipeline-id={pipeline.id} data-status={pipeline.status ?? ''}>
      <Link
        to={`/pipelines/${pipeline.id}`}
        className="flex flex-col gap-2 rounded-lg px-3 py-3 transition-colors hover:bg-surface-2 sm:flex-row sm:items-center sm:gap-4"
      >
        <div className="w-40 shrink-0">
          <StatusBadge status={pipeline.status} />
        </div>
        <div className="min-w-0 flex-1">
          <p className="flex items-center gap-2 truncate text-sm font-medium text-white">
            {pipeline.trigger === 'rollback' ? (
              <RotateCcw aria-hidden className="h-3.5 w-3.5 text-warn" />
            ) : deploy ? (
              <Rocket aria-hidden className="h-3.5 w-3.5 text-cyan" />
            ) : (
              <GitBranch aria-hidden className="h-3.5 w-3.5 text-muted" />
            )}
            <span data-testid="run-label" className="font-mono">
              {showProject ? runLabel(pipeline) : `#${pipeline.number}`}
            </span>
            <span className="truncate text-muted">{pipelineSummary(pipeline)}</span>
          </p>
          <p className="mt-0.5 flex min-w-0 items-center gap-1.5 text-xs text-muted">
            <span className="truncate">
              {total > 0 && `${done}/${total} jobs · `}
              {pipeline.trigger ?? 'api'} by {personLabel(pipeline.triggeredBy, me, names)}
            </span>
            {pipeline.commit && (
              <>
                <span aria-hidden>·</span>
                <CommitRef commit={pipeline.commit} />
              </>
            )}
          </p>
        </div>
        <div className="flex shrink-0 gap-4 text-xs text-muted sm:flex-col sm:items-end sm:gap-0.5">
          <span title={pipeline.createdAt ?? ''}>{relativeTime(pipeline.createdAt, now)}</span>
          <span className="font-mono">{elapsed(pipeline.startedAt, pipeline.finishedAt, now)}</span>
        </div>
      </Link>
    </li>
  );
}
