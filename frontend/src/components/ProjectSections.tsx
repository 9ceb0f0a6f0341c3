// The parts of a project's page: environments with their current versions, releases, deployment history.

import { ExternalLink, Lock, Plus, Rocket, RotateCcw, Tag } from 'lucide-react';
import { useState } from 'react';
import { Link } from 'react-router-dom';

import { createRelease } from '../api/endpoints';
import type { Deployment, Environment, Release } from '../api/types';
import { useSession } from '../auth/AuthContext';
import { dateTime, elapsed, relativeTime, shortId } from '../lib/format';
import { canDeploy, canOperate, canRollback } from '../lib/roles';
import { StatusBadge, TierBadge } from './badges';
import { Field, Modal } from './Modal';
import { ModalForm } from './ModalForm';
import { EmptyState, Spinner } from './states';

export function EnvironmentCards({ environments, onDeploy, onRollback, runLabels = {} }: {
  environments: Environment[];
  onDeploy: (environment: string) => void;
  onRollback?: (environment: Environment) => void;
  /** `api#42` by pipeline id, for the run of each environment's last deployment. */
  runLabels?: Record<string, string>;
}) {
  const session = useSession();
  if (environments.length === 0) return <EmptyState title="No environments">An admin can add them with Edit.</EmptyState>;
  return (
    <ul className="grid gap-3 sm:grid-cols-2 xl:grid-cols-3">
      {environments.map((env) => (
        <li key={env.name} className="rounded-lg border border-line bg-ink/50 p-4" data-testid={`env-${env.name}`}>
          <div className="flex items-center justify-between gap-2">
            <p className="flex items-center gap-2 font-semibold text-white">
              {env.name}
              {env.protected && <Lock aria-label="protected: deploys need approval" className="h-3.5 w-3.5 text-warn" />}
            </p>
            <TierBadge tier={env.tier} />
          </div>
          <p className="mt-3 text-xs text-muted">Current version</p>
          <p className="font-mono text-xl font-semibold text-white" data-testid={`env-version-${env.name}`}>
            {env.currentVersion ?? '—'}
          </p>
          {env.lastDeployment ? (
            <p className="mt-1 flex flex-wrap items-center gap-2 text-xs text-muted">
              <StatusBadge status={env.lastDeployment.status} size="sm" />
              {env.lastDeployment.rollback && <RollbackTag />}
              {relativeTime(env.lastDeployment.finishedAt)}
              {env.lastDeployment.pipelineId && runLabels[env.lastDeployment.pipelineId] && (
                <Link to={`/pipelines/${env.lastDeployment.pipelineId}`} className="link font-mono">
                  {runLabels[env.lastDeployment.pipelineId]}
                </Link>
              )}
            </p>
          ) : (
            <p className="mt-1 text-xs text-muted">Never deployed</p>
          )}
          <div className="mt-3 flex items-center justify-between gap-2">
            {env.url ? (
              <a href={env.url} target="_blank" rel="noreferrer" className="link inline-flex items-center gap-1 text-xs">
                Open <ExternalLink aria-hidden className="h-3 w-3" />
              </a>
            ) : (
              <span />
            )}
            <span className="flex gap-2">
              {onRollback && canRollback(session.role, env) && (
                <button
                  type="button"
                  className="btn btn-secondary px-2.5 py-1.5 text-xs"
                  disabled={!env.currentVersion}
                  title={env.currentVersion ? `Roll ${env.name} back from ${env.currentVersion}` : 'Nothing deployed yet'}
                  onClick={() => onRollback(env)}
                >
                  <RotateCcw aria-hidden className="h-3.5 w-3.5" /> Rollback
                </button>
              )}
              {canDeploy(session.role, env.tier) && (
                <button type="button" className="btn btn-secondary px-2.5 py-1.5 text-xs" onClick={() => onDeploy(env.name)}>
                  <Rocket aria-hidden className="h-3.5 w-3.5" /> Deploy
                </button>
              )}
            </span>
          </div>
        </li>
      ))}
    </ul>
  );
}

export function ReleaseList({ slug, releases, onCreated }: { slug: string; releases: Release[]; onCreated: () => void }) {
  const session = useSession();
  const [open, setOpen] = useState(false);
  return (
    <>
      {canOperate(session.role) && (
        <div className="mb-3 flex justify-end">
          <button type="button" className="btn btn-secondary" onClick={() => setOpen(true)}>
            <Plus aria-hidden className="h-4 w-4" /> New release
          </button>
        </div>
      )}
      {releases.length === 0 ? (
        <EmptyState title="No releases yet" icon={<Tag aria-hidden className="h-8 w-8" />}>
          A release names a version you can deploy.
        </EmptyState>
      ) : (
        <ul className="divide-y divide-line/60" data-testid="releases">
          {releases.map((r) => (
            <li key={r.id} className="flex flex-wrap items-center justify-between gap-2 py-2.5">
              <div className="min-w-0">
                <p className="font-mono text-sm font-semibold text-white">{r.version}</p>
                {r.notes && <p className="truncate text-xs text-muted">{r.notes}</p>}
              </div>
              <p className="text-xs text-muted">
                {r.commitSha && <span className="mr-2 font-mono">{r.commitSha.slice(0, 7)}</span>}
                {relativeTime(r.createdAt)}
              </p>
            </li>
          ))}
        </ul>
      )}
      <Modal title="New release" open={open} onClose={() => setOpen(false)}>
        <ReleaseForm
          slug={slug}
          onCreated={() => {
            setOpen(false);
            onCreated();
          }}
        />
      </Modal>
    </>
  );
}

function ReleaseForm({ slug, onCreated }: { slug: string; onCreated: () => void }) {
  const [version, setVersion] = useState('');
  const [commitSha, setCommitSha] = useState('');
  const [notes, setNotes] = useState('');
  const send = async () => {
    await createRelease(slug, { version: version.trim(), commitSha: commitSha.trim() || undefined, notes: notes.trim() || undefined });
    onCreated();
  };
  return (
    <ModalForm
      check={() => (version.trim() ? null : 'The version is required.')}
      send={send}
      button={(busy) => (
        <button type="submit" className="btn btn-primary" disabled={busy}>
          {busy && <Spinner label="Creating" className="text-ink" />} Create release
        </button>
      )}
    >
      <div className="grid gap-4 sm:grid-cols-2">
        <Field label="Version" htmlFor="release-version">
          <input id="release-version" className="input font-mono" value={version} onChange={(e) => setVersion(e.target.value)} placeholder="1.4.0" />
        </Field>
        <Field label="Commit SHA" htmlFor="release-sha" hint="Optional.">
          <input id="release-sha" className="input font-mono" value={commitSha} onChange={(e) => setCommitSha(e.target.value)} />
        </Field>
      </div>
      <Field label="Notes" htmlFor="release-notes">
        <textarea id="release-notes" className="input min-h-20" value={notes} onChange={(e) => setNotes(e.target.value)} />
      </Field>
    </ModalForm>
  );
}

/** Marks a deployment that was a rollback. */
export function RollbackTag() {
  return (
    <span className="inline-flex items-center gap-1 rounded border border-warn/40 px-1.5 py-px text-[10px] font-semibold tracking-wider text-warn uppercase">
      <RotateCcw aria-hidden className="h-3 w-3" /> Rollback
    </span>
  );
}

export function DeploymentTable({ deployments, runLabels = {} }: {
  deployments: Deployment[];
  /** `api#42` by pipeline id; a pipeline not (yet) known shows its short id. */
  runLabels?: Record<string, string>;
}) {
  if (deployments.length === 0) {
    return <EmptyState title="No deployments yet">Finished deploy pipelines are recorded here.</EmptyState>;
  }
  return (
    <div className="-mx-4 overflow-x-auto sm:mx-0">
      <table className="w-full min-w-[36rem] text-left text-sm" data-testid="deployments">
        <caption className="sr-only">Deployment history, newest first</caption>
        <thead className="text-xs text-muted uppercase">
          <tr>
            <th scope="col" className="px-4 py-2 font-medium sm:px-2">Status</th>
            <th scope="col" className="px-2 py-2 font-medium">Environment</th>
            <th scope="col" className="px-2 py-2 font-medium">Version</th>
            <th scope="col" className="px-2 py-2 font-medium">Finished</th>
            <th scope="col" className="px-2 py-2 font-medium">Took</th>
            <th scope="col" className="px-2 py-2 font-medium">Run</th>
          </tr>
        </thead>
        <tbody className="divide-y divide-line/60">
          {deployments.map((d) => (
            <tr key={d.id} data-testid="deployment-row" data-rollback={d.rollback ? 'true' : 'false'}>
              <td className="px-4 py-2.5 sm:px-2">
                <StatusBadge status={d.status} size="sm" />
              </td>
              <td className="px-2 py-2.5 text-white">{d.environment}</td>
              <td className="px-2 py-2.5 text-white">
                <span className="flex flex-wrap items-center gap-2">
                  <span className="font-mono">{d.version}</span>
                  {d.rollback && <RollbackTag />}
                </span>
              </td>
              <td className="px-2 py-2.5 text-muted" title={dateTime(d.finishedAt)}>{relativeTime(d.finishedAt)}</td>
              <td className="px-2 py-2.5 font-mono text-muted">{elapsed(d.startedAt, d.finishedAt)}</td>
              <td className="px-2 py-2.5">
                {d.pipelineId ? (
                  <Link to={`/pipelines/${d.pipelineId}`} className="link font-mono" title={`Pipeline ${d.pipelineId}`}>
                    {runLabels[d.pipelineId] ?? shortId(d.pipelineId)}
                  </Link>
                ) : (
                  <span className="text-muted">—</span>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
