// The definitions editor's working copy: stages and jobs as form text (params as JSON text), turned back into the
// JSON the API takes, with the form's field keys (the API's paths: `stages[0].jobs[1].params`) for errors.

import type { Definition, DefinitionJob, DefinitionKind, DefinitionStage } from '../../api/types';

export interface JobDraft {
  id: number;
  name: string;
  executor: 'simulate' | 'http';
  /** A JSON object, as typed. */
  params: string;
  /** Seconds; empty: the default (3600). */
  timeoutS: string;
  allowFailure: boolean;
  requiresApproval: boolean;
  /** Fields the editor does not show (`retry`), kept as they were. */
  rest: Omit<DefinitionJob, 'name' | 'executor' | 'params' | 'timeoutS' | 'allowFailure' | 'requiresApproval'>;
}

export interface StageDraft {
  id: number;
  name: string;
  jobs: JobDraft[];
}

export interface DefinitionDraft {
  name: string;
  kind: DefinitionKind;
  description: string;
  allowUnreleased: boolean;
  stages: StageDraft[];
}

let next = 0;
const id = () => (next += 1);

export const NAME = /^[a-z0-9][a-z0-9-]{0,31}$/;

export function jobDraft(job: DefinitionJob): JobDraft {
  const { name, executor, params, timeoutS, allowFailure, requiresApproval, ...rest } = job;
  return {
    id: id(),
    name,
    executor: executor ?? 'simulate',
    params: params && Object.keys(params).length > 0 ? JSON.stringify(params, null, 2) : '',
    timeoutS: timeoutS ? String(timeoutS) : '',
    allowFailure: allowFailure ?? false,
    requiresApproval: requiresApproval ?? false,
    rest,
  };
}

export function stageDraft(stage: DefinitionStage): StageDraft {
  return { id: id(), name: stage.name, jobs: stage.jobs.map(jobDraft) };
}

export function newJob(name = 'job'): JobDraft {
  return jobDraft({ name, executor: 'simulate', params: { durationMs: 2000, logLines: 20 } });
}

export function newStage(name: string): StageDraft {
  return { id: id(), name, jobs: [newJob()] };
}

export function toDraft(definition?: Definition): DefinitionDraft {
  if (!definition) {
    return { name: '', kind: 'ci', description: '', allowUnreleased: false, stages: [{ id: id(), name: 'build', jobs: [newJob('compile')] }] };
  }
  return {
    name: definition.name,
    kind: definition.kind ?? 'ci',
    description: definition.description,
    allowUnreleased: definition.allowUnreleased,
    stages: definition.stages.map(stageDraft),
  };
}

export const stageKey = (i: number) => `stages[${i}]`;
export const jobKey = (i: number, j: number) => `stages[${i}].jobs[${j}]`;

/** Every field key the form can show a message on, for `splitApiError`. */
export function fieldKeys(draft: DefinitionDraft): Set<string> {
  const keys = new Set(['name', 'kind', 'description', 'allowUnreleased', 'stages']);
  draft.stages.forEach((stage, i) => {
    keys.add(stageKey(i));
    keys.add(`${stageKey(i)}.name`);
    keys.add(`${stageKey(i)}.jobs`);
    stage.jobs.forEach((_, j) => {
      for (const f of ['', '.name', '.executor', '.params', '.timeoutS']) keys.add(`${jobKey(i, j)}${f}`);
    });
  });
  return keys;
}

/** The DOM id of a field key's input (`stages[0].jobs[1].params` → `def-stages-0-jobs-1-params`). */
export function inputId(key: string): string {
  return `def-${key.replace(/[[\].]+/g, '-').replace(/-$/, '')}`;
}

/** The stages as the API takes them, or the fields the browser can already tell are wrong. */
export function fromDraft(draft: DefinitionDraft): { stages: DefinitionStage[]; errors: Record<string, string> } {
  const errors: Record<string, string> = {};
  if (draft.stages.length === 0) errors.stages = 'Add at least one stage.';
  const stages = draft.stages.map((stage, i) => {
    if (stage.jobs.length === 0) errors[`${stageKey(i)}.jobs`] = 'Add at least one job.';
    return {
      name: stage.name.trim(),
      jobs: stage.jobs.map((job, j) => {
        let params: Record<string, unknown> | undefined;
        if (job.params.trim()) {
          try {
            const parsed: unknown = JSON.parse(job.params);
            if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) params = parsed as Record<string, unknown>;
            else errors[`${jobKey(i, j)}.params`] = 'Must be a JSON object, e.g. {"durationMs": 2000}.';
          } catch (e) {
            errors[`${jobKey(i, j)}.params`] = `Not JSON: ${e instanceof Error ? e.message : String(e)}`;
          }
        }
        let timeoutS: number | undefined;
        if (job.timeoutS.trim()) {
          const n = Number(job.timeoutS);
          if (Number.isInteger(n) && n >= 1 && n <= 86_400) timeoutS = n;
          else errors[`${jobKey(i, j)}.timeoutS`] = 'Whole seconds, 1 to 86400; empty for the default (3600).';
        }
        const out: DefinitionJob = { ...job.rest, name: job.name.trim(), executor: job.executor };
        if (params) out.params = params;
        if (timeoutS) out.timeoutS = timeoutS;
        if (job.allowFailure) out.allowFailure = true;
        if (job.requiresApproval) out.requiresApproval = true;
        return out;
      }),
    };
  });
  return { stages, errors };
}
