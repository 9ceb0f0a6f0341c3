// Typed calls of the gateway's REST API (`/api/v1/...`), one function per route the dashboard uses.

import { api } from './client';
import type {
  ApiToken,
  CreatedApiToken,
  CreatePipelineInput,
  CreateProjectInput,
  CreateRunInput,
  Definition,
  DefinitionContent,
  Deployment,
  DoraMetrics,
  Environment,
  EnvironmentInput,
  JobLog,
  Overview,
  Page,
  Pipeline,
  PipelinesPage,
  PipelineStatus,
  Project,
  Release,
  Role,
  RolledBack,
  Series,
  UpdateProjectInput,
  User,
} from './types';

const enc = encodeURIComponent;

// ---- projects ----

export const listProjects = (q: { q?: string; pageSize?: number; pageToken?: string }, signal?: AbortSignal) =>
  api.get<Page<Project>>('/api/v1/projects', { query: q, signal });
export const getProject = (slug: string, signal?: AbortSignal) =>
  api.get<Project>(`/api/v1/projects/${enc(slug)}`, { signal });
export const createProject = (input: CreateProjectInput) => api.post<Project>('/api/v1/projects', input);
export const updateProject = (slug: string, input: UpdateProjectInput) =>
  api.patch<Project>(`/api/v1/projects/${enc(slug)}`, input);
export const putEnvironment = (slug: string, env: EnvironmentInput) =>
  api.put<Environment>(`/api/v1/projects/${enc(slug)}/environments/${enc(env.name)}`, {
    tier: env.tier,
    url: env.url || undefined,
    protected: env.protected ?? false,
  });
export const listEnvironments = (slug: string, signal?: AbortSignal) =>
  api.get<Page<Environment>>(`/api/v1/projects/${enc(slug)}/environments`, { signal });
export const listReleases = (slug: string, pageToken?: string, signal?: AbortSignal) =>
  api.get<Page<Release>>(`/api/v1/projects/${enc(slug)}/releases`, { query: { pageSize: 20, pageToken }, signal });
export const createRelease = (slug: string, input: { version: string; commitSha?: string; notes?: string }) =>
  api.post<Release>(`/api/v1/projects/${enc(slug)}/releases`, input);
export const listDeployments = (
  slug: string,
  q: { environment?: string; pageSize?: number; pageToken?: string } = {},
  signal?: AbortSignal,
) =>
  api.get<Page<Deployment>>(`/api/v1/projects/${enc(slug)}/deployments`, {
    query: { pageSize: 20, ...q },
    signal,
  });

// ---- pipeline definitions, runs, rollback ----

export const listDefinitions = (slug: string, signal?: AbortSignal) =>
  api.get<{ items: Definition[] }>(`/api/v1/projects/${enc(slug)}/definitions`, { signal }).then((d) => d.items);
export const createDefinition = (slug: string, input: DefinitionContent & { name: string }) =>
  api.post<Definition>(`/api/v1/projects/${enc(slug)}/definitions`, input);
export const updateDefinition = (slug: string, name: string, input: DefinitionContent & { expectedVersion: number }) =>
  api.put<Definition>(`/api/v1/projects/${enc(slug)}/definitions/${enc(name)}`, input);
export const deleteDefinition = (slug: string, name: string, expectedVersion: number) =>
  api.delete(`/api/v1/projects/${enc(slug)}/definitions/${enc(name)}`, { query: { expectedVersion } });
export const createRun = (slug: string, input: CreateRunInput) =>
  api.post<Pipeline>(`/api/v1/projects/${enc(slug)}/runs`, input);
export const rollbackEnvironment = (slug: string, environment: string, input: { to?: string; idempotencyKey?: string }) =>
  api.post<RolledBack>(`/api/v1/projects/${enc(slug)}/environments/${enc(environment)}/rollback`, input);

// ---- pipelines ----

export const listPipelines = (
  q: { project?: string; status?: PipelineStatus; pageSize?: number; pageToken?: string },
  signal?: AbortSignal,
) => api.get<PipelinesPage>('/api/v1/pipelines', { query: q, signal });
export const getPipeline = (id: string, signal?: AbortSignal) =>
  api.get<Pipeline>(`/api/v1/pipelines/${enc(id)}`, { signal });
export const createPipeline = (input: CreatePipelineInput) => api.post<Pipeline>('/api/v1/pipelines', input);
export const cancelPipeline = (id: string) => api.post<Pipeline>(`/api/v1/pipelines/${enc(id)}/cancel`);
export const retryJob = (id: string) => api.post<Pipeline>(`/api/v1/jobs/${enc(id)}/retry`);
export const approveJob = (id: string) => api.post<Pipeline>(`/api/v1/jobs/${enc(id)}/approve`);
export const rejectJob = (id: string, reason: string) => api.post<Pipeline>(`/api/v1/jobs/${enc(id)}/reject`, { reason });
export const getJobLog = (id: string, q: { attempt?: number; offset?: number; limit?: number }, signal?: AbortSignal) =>
  api.get<JobLog>(`/api/v1/jobs/${enc(id)}/log`, { query: q, signal });

// ---- metrics ----

export const getOverview = (q: { project?: string; days?: number }, signal?: AbortSignal) =>
  api.get<Overview>('/api/v1/metrics/overview', { query: q, signal });
export const getDora = (q: { project?: string; environment?: string; from?: string; to?: string }, signal?: AbortSignal) =>
  api.get<{ overall: DoraMetrics; breakdown: { project: string; environment: string; metrics: DoraMetrics }[] }>(
    '/api/v1/metrics/dora',
    { query: q, signal },
  );
export const getSeries = (
  q: { measure: 'job_runs' | 'job_duration' | 'deployments'; project?: string; from?: string; to?: string },
  signal?: AbortSignal,
) => api.get<Series>('/api/v1/metrics/series', { query: q, signal });

// ---- admin ----

export const listUsers = (pageToken?: string, signal?: AbortSignal) =>
  api.get<Page<User>>('/api/v1/users', { query: { pageSize: 50, pageToken }, signal });
export const createUser = (input: { email: string; name: string; role: Role; password: string }) =>
  api.post<User>('/api/v1/users', input);
export const updateUser = (id: string, input: { role?: Role; disabled?: boolean; name?: string }) =>
  api.patch<User>(`/api/v1/users/${enc(id)}`, input);
export const listTokens = (all: boolean, pageToken?: string, signal?: AbortSignal) =>
  api.get<Page<ApiToken>>('/api/v1/tokens', { query: { all: all || undefined, pageSize: 50, pageToken }, signal });
export const createToken = (input: { name: string; role?: Role; expiresInDays?: number }) =>
  api.post<CreatedApiToken>('/api/v1/tokens', input);
export const revokeToken = (id: string) => api.delete(`/api/v1/tokens/${enc(id)}`);
