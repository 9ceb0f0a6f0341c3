// Pure helpers over pipelines and jobs: merging live events into what a page shows.

import type { Job, Pipeline, PipelineStatus } from '../api/types';

export const FINISHED: ReadonlySet<string> = new Set(['succeeded', 'failed', 'cancelled', 'timed_out']);
export const ACTIVE_PIPELINE: ReadonlySet<PipelineStatus> = new Set(['queued', 'running', 'waiting_approval']);

export function isFinished(status: string | null | undefined): boolean {
  return status ? FINISHED.has(status) : false;
}

/** A pipeline with the newer header of `update`, keeping its stages when the update has none (job events). */
export function mergePipeline(current: Pipeline, update: Pipeline): Pipeline {
  return { ...current, ...update, stages: update.stages.length > 0 ? update.stages : current.stages };
}

/** The pipeline with `job` replaced (or added to its stage). */
export function mergeJob(pipeline: Pipeline, job: Job): Pipeline {
  let found = false;
  const stages = pipeline.stages.map((stage) => {
    if (stage.name !== job.stage) return stage;
    const jobs = stage.jobs.map((j) => {
      if (j.id !== job.id) return j;
      found = true;
      return job;
    });
    return { ...stage, jobs: found ? jobs : [...jobs, job] };
  });
  return { ...pipeline, stages };
}

/** Insert or replace `pipeline` in a newest-first list, dropping it when `keep` says no; at most `limit`. */
export function upsertPipeline(
  list: Pipeline[],
  pipeline: Pipeline,
  keep: (p: Pipeline) => boolean = () => true,
  limit = 50,
): Pipeline[] {
  const index = list.findIndex((p) => p.id === pipeline.id);
  if (index >= 0) {
    const merged = mergePipeline(list[index] as Pipeline, pipeline);
    if (!keep(merged)) return list.filter((p) => p.id !== pipeline.id);
    const next = [...list];
    next[index] = merged;
    return next;
  }
  if (!keep(pipeline)) return list;
  const next = [pipeline, ...list];
  next.sort((a, b) => (b.createdAt ?? '').localeCompare(a.createdAt ?? ''));
  return next.slice(0, limit);
}

export function allJobs(pipeline: Pipeline): Job[] {
  return pipeline.stages.flatMap((s) => s.jobs);
}

/** "build → test → deploy" progress: jobs finished of all. */
export function progress(pipeline: Pipeline): { done: number; total: number } {
  const jobs = allJobs(pipeline);
  return { done: jobs.filter((j) => isFinished(j.status)).length, total: jobs.length };
}

/** What a run does, in a list: "rollback staging to 1.0.0", "deploy 1.4.0 → staging", "ci", or "pipeline". */
export function pipelineSummary(p: Pick<Pipeline, 'environment' | 'version' | 'trigger' | 'definition'>): string {
  if (p.environment && p.version) {
    return p.trigger === 'rollback' ? `rollback ${p.environment} to ${p.version}` : `deploy ${p.version} → ${p.environment}`;
  }
  return p.definition?.name ?? 'pipeline';
}

/** A run's page title: "Rollback staging to 1.0.0", "Deploy 1.4.0 → staging", "ci", "Pipeline". */
export function pipelineTitle(p: Pick<Pipeline, 'environment' | 'version' | 'trigger' | 'definition'>): string {
  const summary = pipelineSummary(p);
  return p.definition && !(p.environment && p.version) ? summary : summary.charAt(0).toUpperCase() + summary.slice(1);
}
