// A project: repositories, environments with their current versions (deploy, roll back), releases, deployment
// history, its recent pipelines and its pipeline definitions (run them; an admin edits them), live (a finished deploy
// refreshes the environments and the history).

import { GitBranch, Pencil, Play, Rocket } from 'lucide-react';
import { useState, type ReactNode } from 'react';
import { useParams } from 'react-router-dom';

import { getProject, listDefinitions, listDeployments, listPipelines, listReleases } from '../api/endpoints';
import type { Definition, Environment, Pipeline, Release } from '../api/types';
import { useSession } from '../auth/AuthContext';
import { Breadcrumbs } from '../components/Breadcrumbs';
import { DefinitionsList } from '../components/definitions/DefinitionsCard';
import { Modal } from '../components/Modal';
import { PipelineRow } from '../components/PipelineRow';
import { ProjectForm } from '../components/ProjectForm';
import { DeploymentTable, EnvironmentCards, ReleaseList } from '../components/ProjectSections';
import { RollbackForm } from '../components/RollbackForm';
import { RunForm } from '../components/RunForm';
import { Card, EmptyState, ErrorState, LoadingState, PageHeader, Skeleton } from '../components/states';
import { isFinished, upsertPipeline } from '../lib/pipelines';
import { canAdmin, canOperate } from '../lib/roles';
import { useRunLabels } from '../lib/runLabels';
import { useDocumentTitle } from '../lib/useDocumentTitle';
import { useResource } from '../lib/useResource';
import { personLabel, useUserNames } from '../lib/userNames';
import { useDebounced, useLive } from '../live/live';

export default function ProjectDetail() {
  const { slug = '' } = useParams();
  const session = useSession();
  const project = useResource((signal) => getProject(slug, signal), [slug]);
  const releases = useResource((signal) => listReleases(slug, undefined, signal), [slug]);
  const deployments = useResource((signal) => listDeployments(slug, {}, signal), [slug]);
  const pipelines = useResource((signal) => listPipelines({ project: slug, pageSize: 10 }, signal).then((p) => p.pipelines), [slug]);
  const definitions = useResource((signal) => listDefinitions(slug, signal), [slug]);
  const [editing, setEditing] = useState(false);
  const [deployTo, setDeployTo] = useState<string | null>(null);
  const [running, setRunning] = useState(false);
  const [rollingBack, setRollingBack] = useState<Environment | null>(null);
  const names = useUserNames([project.data?.owner]);
  const runLabels = useRunLabels(
    [...(deployments.data?.items ?? []).map((d) => d.pipelineId), ...(project.data?.environments ?? []).map((e) => e.lastDeployment?.pipelineId)],
    pipelines.data,
    slug,
  );
  useDocumentTitle(project.data?.name);

  // A deployment is recorded (and the environment's version moves) once its pipeline has finished: refetch then.
  const refreshDeployState = useDebounced(() => {
    project.reload();
    deployments.reload();
  }, 800);
  useLive(
    slug ? [`project:${slug}`] : [],
    (event) => {
      if (event.type === 'job.log') return;
      const p: Pipeline = event.pipeline;
      pipelines.setData((list) => upsertPipeline(list ?? [], p, () => true, 10));
      if (event.type === 'pipeline.updated' && p.environment && isFinished(p.status)) {
        refreshDeployState();
        // The record travels through an outbox: look again shortly in case it was not there yet.
        setTimeout(refreshDeployState, 2500);
      }
    },
    () => {
      project.reload();
      deployments.reload();
      pipelines.reload();
    },
  );

  if (project.error) {
    return (
      <>
        <Breadcrumbs items={[{ label: 'Projects', to: '/projects' }, { label: slug, mono: true }]} />
        <ErrorState error={project.error} onRetry={project.reload} />
      </>
    );
  }
  const p = project.data;
  if (!p) return <LoadingState label="Loading project…" />;

  // The run and deploy dialogs need the definitions and the releases; while they load (or when they failed) the
  // dialog says so.
  const withRunData = (render: (list: Definition[], releaseList: Release[]) => ReactNode) => {
    const failed = definitions.error ?? releases.error;
    if (definitions.data && releases.data) return render(definitions.data, releases.data.items);
    if (failed) {
      return (
        <ErrorState
          error={failed}
          onRetry={() => {
            definitions.reload();
            releases.reload();
          }}
          compact
        />
      );
    }
    return <LoadingState label="Loading definitions and releases…" />;
  };

  return (
    <>
      <Breadcrumbs items={[{ label: 'Projects', to: '/projects' }, { label: p.name }]} />
      <PageHeader
        title={p.name}
        subtitle={
          <span className="flex flex-wrap items-center gap-2">
            <span className="font-mono">{p.slug}</span>
            {p.tags.map((t) => (
              <span key={t} className="rounded-full border border-line px-2 py-px text-xs">{t}</span>
            ))}
            {p.owner && <span title={p.owner}>· owner {personLabel(p.owner, session.userId, names)}</span>}
          </span>
        }
        actions={
          <>
            {canOperate(session.role) && (
              <button type="button" className="btn btn-secondary" onClick={() => setRunning(true)}>
                <Play aria-hidden className="h-4 w-4" /> Run pipeline
              </button>
            )}
            {canOperate(session.role) && (
              <button type="button" className="btn btn-primary" onClick={() => setDeployTo('')}>
                <Rocket aria-hidden className="h-4 w-4" /> Deploy
              </button>
            )}
            {canAdmin(session.role) && (
              <button type="button" className="btn btn-secondary" onClick={() => setEditing(true)}>
                <Pencil aria-hidden className="h-4 w-4" /> Edit
              </button>
            )}
          </>
        }
      />
      {p.description && <p className="-mt-3 mb-6 max-w-3xl text-sm text-muted">{p.description}</p>}

      <div className="space-y-6">
        <Card title="Environments" testId="environments">
          <EnvironmentCards
            environments={p.environments}
            onDeploy={(env) => setDeployTo(env)}
            onRollback={(env) => setRollingBack(env)}
            runLabels={runLabels}
          />
        </Card>

        <div className="grid gap-6 lg:grid-cols-3">
          <Card title="Recent pipelines" className="lg:col-span-2" testId="project-pipelines">
            {pipelines.data ? (
              pipelines.data.length === 0 ? (
                <EmptyState title="No pipelines yet">Run one to see it here, live.</EmptyState>
              ) : (
                <ul className="-mx-3 divide-y divide-line/60">
                  {pipelines.data.map((x) => (
                    <PipelineRow key={x.id} pipeline={x} showProject={false} />
                  ))}
                </ul>
              )
            ) : pipelines.error ? (
              <ErrorState error={pipelines.error} onRetry={pipelines.reload} compact />
            ) : (
              <Skeleton />
            )}
          </Card>
          <Card title="Repositories">
            {p.repositories.length === 0 ? (
              <p className="text-sm text-muted">No repository attached.</p>
            ) : (
              <ul className="space-y-2">
                {p.repositories.map((r) => (
                  <li key={r.url} className="flex items-start gap-2 text-sm">
                    <GitBranch aria-hidden className="mt-0.5 h-4 w-4 shrink-0 text-muted" />
                    <div className="min-w-0">
                      <p className="truncate font-mono text-white" title={r.url}>{r.url.replace(/^https?:\/\//, '')}</p>
                      <p className="text-xs text-muted">{r.provider ?? 'other'} · {r.defaultBranch}</p>
                    </div>
                  </li>
                ))}
              </ul>
            )}
          </Card>
        </div>

        <div className="grid gap-6 lg:grid-cols-3">
          <Card title="Releases">
            {releases.data ? (
              <ReleaseList slug={slug} releases={releases.data.items} onCreated={releases.reload} />
            ) : releases.error ? (
              <ErrorState error={releases.error} onRetry={releases.reload} compact />
            ) : (
              <Skeleton />
            )}
          </Card>
          <Card title="Deployment history" className="lg:col-span-2">
            {deployments.data ? (
              <DeploymentTable deployments={deployments.data.items} runLabels={runLabels} />
            ) : deployments.error ? (
              <ErrorState error={deployments.error} onRetry={deployments.reload} compact />
            ) : (
              <Skeleton />
            )}
          </Card>
        </div>

        <Card title="Pipeline definitions" testId="definitions-card">
          {definitions.data ? (
            <DefinitionsList project={slug} definitions={definitions.data} onChanged={definitions.reload} />
          ) : definitions.error ? (
            <ErrorState error={definitions.error} onRetry={definitions.reload} compact />
          ) : (
            <Skeleton />
          )}
        </Card>
      </div>

      <Modal title={`Edit ${p.name}`} open={editing} onClose={() => setEditing(false)} wide>
        <ProjectForm
          project={p}
          onSaved={() => {
            setEditing(false);
            project.reload();
          }}
        />
      </Modal>
      <Modal title="Deploy a release" open={deployTo !== null} onClose={() => setDeployTo(null)}>
        {withRunData((list, releaseList) => (
          <RunForm
            project={slug}
            definitions={list}
            environments={p.environments}
            releases={releaseList}
            only="deploy"
            initialEnvironment={deployTo ?? undefined}
          />
        ))}
      </Modal>
      <Modal title="Run pipeline" open={running} onClose={() => setRunning(false)}>
        {withRunData((list, releaseList) => (
          <RunForm project={slug} definitions={list} environments={p.environments} releases={releaseList} />
        ))}
      </Modal>
      <Modal title={`Roll back ${rollingBack?.name ?? ''}`} open={rollingBack !== null} onClose={() => setRollingBack(null)}>
        {rollingBack && <RollbackForm project={slug} environment={rollingBack} onCancel={() => setRollingBack(null)} />}
      </Modal>
    </>
  );
}
