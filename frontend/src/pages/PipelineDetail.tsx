// A pipeline: its stages and jobs updating live, the selected job's log following as it is written, and the actions
// the caller's role allows (cancel, retry, approve / reject).

import { Ban, Check, RotateCcw, X } from 'lucide-react';
import { useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router-dom';

import { describeError } from '../api/errors';
import { approveJob, cancelPipeline, getPipeline, getProject, rejectJob, retryJob } from '../api/endpoints';
import type { Job, Pipeline } from '../api/types';
import { useSession } from '../auth/AuthContext';
import { StatusBadge } from '../components/badges';
import { Breadcrumbs } from '../components/Breadcrumbs';
import { CommitRef } from '../components/CommitRef';
import { LogViewer } from '../components/LogViewer';
import { Field, Modal } from '../components/Modal';
import { ModalForm } from '../components/ModalForm';
import { ErrorState, LoadingState, PageHeader } from '../components/states';
import { dateTime, elapsed, relativeTime, runLabel, shortId } from '../lib/format';
import { ACTIVE_PIPELINE, allJobs, mergeJob, mergePipeline, pipelineTitle } from '../lib/pipelines';
import { canApprove, canOperate } from '../lib/roles';
import { useDocumentTitle } from '../lib/useDocumentTitle';
import { useNow } from '../lib/useNow';
import { useResource } from '../lib/useResource';
import { personLabel, useUserNames } from '../lib/userNames';
import { useLive } from '../live/live';

const RETRYABLE = new Set(['failed', 'timed_out', 'cancelled']);

export default function PipelineDetail() {
  const { id = '', jobId } = useParams();
  const navigate = useNavigate();
  const session = useSession();
  const pipeline = useResource((signal) => getPipeline(id, signal), [id]);
  const p = pipeline.data;
  const project = useResource(
    (signal) => (p?.environment ? getProject(p.project, signal) : Promise.resolve(null)),
    [p?.project, p?.environment],
  );
  const [actionError, setActionError] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [rejecting, setRejecting] = useState<Job | null>(null);
  const now = useNow(ACTIVE_PIPELINE.has(p?.status ?? 'succeeded'));
  const names = useUserNames([p?.triggeredBy]);
  useDocumentTitle(p ? runLabel(p) : null);

  useLive(
    id ? [`pipeline:${id}`] : [],
    (event) => {
      if (event.type === 'pipeline.updated') pipeline.setData((cur) => (cur ? mergePipeline(cur, event.pipeline) : event.pipeline));
      else if (event.type === 'job.updated') pipeline.setData((cur) => cur && mergeJob(mergePipeline(cur, event.pipeline), event.job));
    },
    pipeline.reload,
  );

  if (pipeline.error) {
    return (
      <>
        <Breadcrumbs items={[{ label: 'Pipelines', to: '/pipelines' }, { label: shortId(id), mono: true }]} />
        <ErrorState error={pipeline.error} onRetry={pipeline.reload} />
      </>
    );
  }
  if (!p) return <LoadingState label="Loading pipeline…" />;

  const tier = p.environment ? (project.data?.environments.find((e) => e.name === p.environment)?.tier ?? 'production') : null;
  const selected = allJobs(p).find((j) => j.id === jobId) ?? null;
  const act = async (label: string, run: () => Promise<Pipeline>) => {
    setActionError(null);
    setBusy(label);
    try {
      const updated = await run();
      pipeline.setData((cur) => (cur ? mergePipeline(cur, updated) : updated));
    } catch (e) {
      setActionError(describeError(e));
    } finally {
      setBusy(null);
    }
  };

  const label = runLabel(p);
  return (
    <>
      <Breadcrumbs
        items={[
          { label: 'Projects', to: '/projects' },
          { label: p.project, to: `/projects/${encodeURIComponent(p.project)}` },
          { label, to: `/pipelines/${p.id}`, mono: true },
          ...(selected ? [{ label: selected.name, mono: true }] : []),
        ]}
      />
      <PageHeader
        title={
          <span className="flex flex-wrap items-center gap-3">
            <span data-testid="run-label" className="font-mono">{label}</span>
            <span>{pipelineTitle(p)}</span>
            <span data-testid="pipeline-status">
              <StatusBadge status={p.status} />
            </span>
          </span>
        }
        subtitle={
          <span className="flex flex-wrap gap-x-3 gap-y-1">
            <Link to={`/projects/${p.project}`} className="link">{p.project}</Link>
            {p.definition && (
              <span data-testid="run-definition">
                definition <span className="font-mono text-white">{p.definition.name}</span> v{p.definition.version}
              </span>
            )}
            <span className="font-mono" title="Pipeline id">{p.id}</span>
            <span title={p.triggeredBy ?? undefined}>{p.trigger ?? 'api'} by {personLabel(p.triggeredBy, session.userId, names)}</span>
            {p.commit && <CommitRef commit={p.commit} />}
            <span title={dateTime(p.createdAt)}>created {relativeTime(p.createdAt, now)}</span>
            <span>{p.finishedAt ? 'took' : 'running for'} <span className="font-mono">{elapsed(p.startedAt, p.finishedAt, now)}</span></span>
            {p.externalUrl && <a href={p.externalUrl} className="link" target="_blank" rel="noreferrer">on GitHub</a>}
          </span>
        }
        actions={
          canOperate(session.role) && ACTIVE_PIPELINE.has(p.status ?? 'queued') && (
            <button
              type="button"
              className="btn btn-danger"
              disabled={busy !== null}
              onClick={() => void act('cancel', () => cancelPipeline(p.id))}
            >
              <Ban aria-hidden className="h-4 w-4" /> Cancel pipeline
            </button>
          )
        }
      />
      {actionError && (
        <p role="alert" className="mb-4 rounded-lg border border-bad/40 bg-bad/10 px-3 py-2 text-sm text-bad">{actionError}</p>
      )}

      <ol className="mb-6 flex gap-4 overflow-x-auto pb-2" aria-label="Stages" data-testid="stages">
        {p.stages.map((stage, i) => (
          <li key={stage.name} className="w-64 shrink-0">
            <h2 className="mb-2 flex items-center gap-2 text-xs font-semibold tracking-wide text-muted uppercase">
              <span className="flex h-5 w-5 items-center justify-center rounded-full bg-surface-2 text-[10px] text-white">{i + 1}</span>
              {stage.name}
            </h2>
            <ul className="space-y-2">
              {stage.jobs.map((job) => {
                const active = job.id === jobId;
                return (
                  <li key={job.id} data-testid="job" data-job-name={job.name} data-status={job.status ?? ''}
                    className={`card p-3 ${active ? 'border-cyan/70 ring-1 ring-cyan/40' : ''}`}>
                    <Link
                      to={active ? `/pipelines/${p.id}` : `/pipelines/${p.id}/jobs/${job.id}`}
                      aria-current={active ? 'true' : undefined}
                      className="block rounded"
                      aria-label={`${job.name}: ${job.status ?? 'unknown'}${active ? ' (log open)' : ', open its log'}`}
                    >
                      <div className="flex items-center justify-between gap-2">
                        <span className="truncate font-mono text-sm text-white">{job.name}</span>
                        <StatusBadge status={job.status} size="sm" />
                      </div>
                      <p className="mt-1 text-xs text-muted">
                        <span className="font-mono">{elapsed(job.startedAt, job.finishedAt, now)}</span>
                        {job.attempt > 1 && ` · attempt ${job.attempt}`}
                        {job.requiresApproval && ' · gated'}
                      </p>
                      {job.exitReason && <p className="mt-1 line-clamp-2 text-xs text-bad">{job.exitReason}</p>}
                    </Link>
                    <JobActions
                      job={job}
                      pipeline={p}
                      canRetry={canOperate(session.role) && p.status === 'failed' && RETRYABLE.has(job.status ?? '')}
                      canDecide={job.status === 'waiting_approval' && canApprove(session.role, tier)}
                      busy={busy}
                      onRetry={() => void act(`retry-${job.id}`, () => retryJob(job.id))}
                      onApprove={() => void act(`approve-${job.id}`, () => approveJob(job.id))}
                      onReject={() => setRejecting(job)}
                    />
                  </li>
                );
              })}
            </ul>
          </li>
        ))}
      </ol>

      {selected ? (
        <LogViewer key={selected.id} job={selected} pipelineId={p.id} />
      ) : (
        <p className="text-sm text-muted">Select a job to follow its log.</p>
      )}

      <Modal title={`Reject ${rejecting?.name ?? ''}`} open={rejecting !== null} onClose={() => setRejecting(null)}>
        {rejecting && (
          <RejectForm
            onSubmit={async (reason) => {
              const updated = await rejectJob(rejecting.id, reason);
              pipeline.setData((cur) => (cur ? mergePipeline(cur, updated) : updated));
              setRejecting(null);
              navigate(`/pipelines/${p.id}`, { replace: true });
            }}
          />
        )}
      </Modal>
    </>
  );
}

function JobActions({ job, canRetry, canDecide, busy, onRetry, onApprove, onReject }: {
  job: Job;
  pipeline: Pipeline;
  canRetry: boolean;
  canDecide: boolean;
  busy: string | null;
  onRetry: () => void;
  onApprove: () => void;
  onReject: () => void;
}) {
  if (!canRetry && !canDecide) return null;
  return (
    <div className="mt-2 flex flex-wrap gap-2 border-t border-line pt-2">
      {canRetry && (
        <button type="button" className="btn btn-secondary px-2 py-1 text-xs" disabled={busy !== null} onClick={onRetry}>
          <RotateCcw aria-hidden className="h-3.5 w-3.5" /> Retry {job.name}
        </button>
      )}
      {canDecide && (
        <>
          <button type="button" className="btn px-2 py-1 text-xs bg-ok/15 text-ok hover:bg-ok/25" disabled={busy !== null} onClick={onApprove}>
            <Check aria-hidden className="h-3.5 w-3.5" /> Approve
          </button>
          <button type="button" className="btn btn-danger px-2 py-1 text-xs" disabled={busy !== null} onClick={onReject}>
            <X aria-hidden className="h-3.5 w-3.5" /> Reject
          </button>
        </>
      )}
    </div>
  );
}

function RejectForm({ onSubmit }: { onSubmit: (reason: string) => Promise<void> }) {
  const [reason, setReason] = useState('');
  return (
    <ModalForm
      check={() => (reason.trim() ? null : 'Say why (1 to 500 characters).')}
      send={() => onSubmit(reason.trim())}
      button={(busy) => <button type="submit" className="btn btn-danger" disabled={busy}>Reject</button>}
    >
      <Field label="Reason" htmlFor="reject-reason" hint="Becomes the job's exit reason; the pipeline fails.">
        <textarea id="reject-reason" maxLength={500} className="input min-h-20" value={reason} onChange={(e) => setReason(e.target.value)} />
      </Field>
    </ModalForm>
  );
}
