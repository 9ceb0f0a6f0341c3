// Pipelines, newest first, with their status updating live; filter by project and status; operators start one here.

import { ChevronRight, Play, Workflow } from 'lucide-react';
import { useEffect, useState } from 'react';
import { useSearchParams } from 'react-router-dom';

import { listPipelines, listProjects } from '../api/endpoints';
import type { Pipeline, PipelineStatus } from '../api/types';
import { useSession } from '../auth/AuthContext';
import { Modal } from '../components/Modal';
import { PipelineRow } from '../components/PipelineRow';
import { EmptyState, ErrorState, LoadingState, PageHeader } from '../components/states';
import { RunAnyProject } from '../components/RunAnyProject';
import { upsertPipeline } from '../lib/pipelines';
import { canOperate } from '../lib/roles';
import { useResource } from '../lib/useResource';
import { useLive } from '../live/live';
import { useProjectTopics } from '../live/useProjectTopics';

const STATUSES: (PipelineStatus | '')[] = ['', 'running', 'queued', 'waiting_approval', 'succeeded', 'failed', 'cancelled'];

export default function Pipelines() {
  const session = useSession();
  const [params, setParams] = useSearchParams();
  const project = params.get('project') ?? '';
  const status = (params.get('status') ?? '') as PipelineStatus | '';
  const [pages, setPages] = useState<Pipeline[]>([]); // "load more" pages after the first
  const [more, setMore] = useState<string | undefined>(undefined);
  const [loadingMore, setLoadingMore] = useState(false);
  const [starting, setStarting] = useState(false);

  const first = useResource(
    (signal) => listPipelines({ project: project || undefined, status: status || undefined, pageSize: 25 }, signal),
    [project, status],
  );
  const projects = useResource((signal) => listProjects({ pageSize: 200 }, signal).then((p) => p.items.map((x) => x.slug)), []);
  useEffect(() => {
    setPages([]);
    setMore(first.data?.nextPageToken);
  }, [first.data]);

  const all = useProjectTopics();
  const topics = project ? [`project:${project}`] : all.topics;
  const keep = (p: Pipeline) => (!project || p.project === project) && (!status || p.status === status);
  useLive(
    topics,
    (event) => {
      if (event.type === 'job.log') return;
      first.setData((page) => page && { ...page, pipelines: upsertPipeline(page.pipelines, event.pipeline, keep, 25 + pages.length) });
    },
    first.reload,
  );

  const setFilter = (key: string, value: string) => {
    const next = new URLSearchParams(params);
    if (value) next.set(key, value);
    else next.delete(key);
    setParams(next, { replace: true });
  };

  const list = first.data ? [...first.data.pipelines, ...pages.filter((p) => !first.data?.pipelines.some((q) => q.id === p.id))] : [];

  return (
    <>
      <PageHeader
        title="Pipelines"
        subtitle="Every run, live: statuses change here as jobs start and finish."
        actions={
          canOperate(session.role) && (
            <button type="button" className="btn btn-primary" onClick={() => setStarting(true)} disabled={!projects.data?.length}>
              <Play aria-hidden className="h-4 w-4" /> Run pipeline
            </button>
          )
        }
      />
      <div className="mb-4 flex flex-wrap gap-3">
        <div>
          <label htmlFor="filter-project" className="sr-only">Project</label>
          <select id="filter-project" className="input w-48" value={project} onChange={(e) => setFilter('project', e.target.value)}>
            <option value="">All projects</option>
            {(projects.data ?? []).map((p) => (
              <option key={p} value={p}>{p}</option>
            ))}
          </select>
        </div>
        <div>
          <label htmlFor="filter-status" className="sr-only">Status</label>
          <select id="filter-status" className="input w-48" value={status} onChange={(e) => setFilter('status', e.target.value)}>
            {STATUSES.map((s) => (
              <option key={s} value={s}>{s ? s.replace('_', ' ') : 'Any status'}</option>
            ))}
          </select>
        </div>
      </div>

      <section className="card p-2 sm:p-3" aria-label="Pipelines" data-testid="pipelines-list">
        {first.error ? (
          <ErrorState error={first.error} onRetry={first.reload} />
        ) : !first.data ? (
          <LoadingState label="Loading pipelines…" />
        ) : list.length === 0 ? (
          <EmptyState title="No pipelines" icon={<Workflow aria-hidden className="h-8 w-8" />}>
            {project || status ? 'Nothing matches these filters.' : 'Run one of a project\'s pipeline definitions to see it here.'}
          </EmptyState>
        ) : (
          <ul className="divide-y divide-line/60">
            {list.map((p) => (
              <PipelineRow key={p.id} pipeline={p} />
            ))}
          </ul>
        )}
      </section>
      {more && (
        <div className="mt-4 flex justify-center">
          <button
            type="button"
            className="btn btn-secondary"
            disabled={loadingMore}
            onClick={() => {
              setLoadingMore(true);
              listPipelines({ project: project || undefined, status: status || undefined, pageSize: 25, pageToken: more })
                .then((page) => {
                  setPages((list) => [...list, ...page.pipelines]);
                  setMore(page.nextPageToken);
                })
                .catch(() => undefined)
                .finally(() => setLoadingMore(false));
            }}
          >
            Load more <ChevronRight aria-hidden className="h-4 w-4" />
          </button>
        </div>
      )}
      <Modal title="Run pipeline" open={starting} onClose={() => setStarting(false)}>
        <RunAnyProject projects={projects.data ?? []} initialProject={project || undefined} />
      </Modal>
    </>
  );
}
