// The gateway's JSON shapes (camelCase, enums as lowercase strings, times as RFC 3339), as its OpenAPI document
// (/api/v1/openapi.json) describes them. Only what the dashboard reads is typed.

export type Role = 'viewer' | 'operator' | 'admin' | 'service';

export interface User {
  id: string;
  email: string;
  name: string;
  role: Role | null;
  disabled: boolean;
  createdAt: string | null;
  updatedAt: string | null;
  lastLoginAt: string | null;
}

export interface TokenGrant {
  accessToken: string;
  tokenType: 'Bearer';
  expiresIn: number;
  user?: User;
}

export interface Me {
  id: string;
  name: string;
  role: Role;
  expiresAt: string | null;
}

export interface Page<T> {
  items: T[];
  nextPageToken?: string;
}

export interface ApiToken {
  id: string;
  name: string;
  prefix: string;
  role: Role | null;
  userId: string;
  createdAt: string | null;
  expiresAt: string | null;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

export interface CreatedApiToken {
  token: ApiToken | null;
  secret: string;
}

// ---- projects ----

export type Tier = 'development' | 'staging' | 'production';
export type DeploymentStatus = 'succeeded' | 'failed' | 'rolled_back';

export interface Repository {
  url: string;
  provider: 'github' | 'gitlab' | 'other' | null;
  defaultBranch: string;
}

export interface Deployment {
  id: string;
  projectId: string;
  environment: string;
  version: string;
  commitSha: string | null;
  status: DeploymentStatus | null;
  startedAt: string | null;
  finishedAt: string | null;
  triggeredBy: string;
  pipelineId: string | null;
  /** This deployment was a rollback: the version deployed before it is the one rolled back. */
  rollback: boolean;
}

export interface Environment {
  name: string;
  tier: Tier | null;
  url: string | null;
  protected: boolean;
  currentVersion: string | null;
  lastDeployment: Deployment | null;
}

export interface Project {
  id: string;
  slug: string;
  name: string;
  description: string;
  tags: string[];
  owner: string;
  repositories: Repository[];
  environments: Environment[];
  version: number;
  createdAt: string | null;
  updatedAt: string | null;
  archivedAt: string | null;
}

export interface Release {
  id: string;
  projectId: string;
  version: string;
  commitSha: string | null;
  notes: string;
  createdBy: string;
  createdAt: string | null;
}

export interface EnvironmentInput {
  name: string;
  tier?: Tier;
  url?: string;
  protected?: boolean;
}

export interface CreateProjectInput {
  slug: string;
  name: string;
  description?: string;
  tags?: string[];
  repositories?: { url: string; defaultBranch?: string }[];
  environments?: EnvironmentInput[];
}

export interface UpdateProjectInput {
  expectedVersion: number;
  name?: string;
  description?: string;
  tags?: string[];
  owner?: string;
}

// ---- pipelines ----

export type PipelineStatus = 'queued' | 'running' | 'waiting_approval' | 'succeeded' | 'failed' | 'cancelled';
export type JobStatus =
  | 'pending'
  | 'queued'
  | 'waiting_approval'
  | 'running'
  | 'succeeded'
  | 'failed'
  | 'cancelled'
  | 'timed_out';

export interface Job {
  id: string;
  pipelineId: string;
  stage: string;
  name: string;
  executor: 'simulate' | 'http' | null;
  params: Record<string, unknown>;
  timeoutS: number;
  allowFailure: boolean;
  requiresApproval: boolean;
  attempt: number;
  status: JobStatus | null;
  worker: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  exitReason: string | null;
  approvedBy: string | null;
  rejectedBy: string | null;
  notBefore: string | null;
}

export interface Stage {
  name: string;
  jobs: Job[];
}

export interface Pipeline {
  id: string;
  project: string;
  /** The project's run number (1, 2, 3…), shown as `api#42`. */
  number: number;
  environment: string | null;
  version: string | null;
  trigger: Trigger | null;
  triggeredBy: string;
  stages: Stage[];
  status: PipelineStatus | null;
  createdAt: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  source: 'devopstrack' | 'github' | null;
  externalUrl: string | null;
  cancelledBy: string | null;
  /** The commit it builds or deploys, when one was named; a deploy's DORA lead time counts from its time. */
  commit: Commit | null;
  /** The project's definition it was run from, with that definition's version then; absent for a free-form run. */
  definition?: DefinitionRef | null;
}

export type Trigger = 'manual' | 'chat' | 'webhook' | 'api' | 'rollback';

export interface DefinitionRef {
  name: string;
  version: number;
}

export interface Commit {
  /** 7 to 64 lowercase hex digits. */
  sha: string;
  /** RFC 3339, when known. */
  time: string | null;
}

export interface PipelinesPage {
  pipelines: Pipeline[];
  nextPageToken?: string;
}

export interface JobInput {
  name: string;
  executor?: 'simulate' | 'http';
  params?: Record<string, unknown>;
  requiresApproval?: boolean;
  allowFailure?: boolean;
}

export interface CreatePipelineInput {
  project: string;
  environment?: string;
  version?: string;
  trigger?: 'manual' | 'api';
  stages: { name: string; jobs: JobInput[] }[];
  idempotencyKey?: string;
  /** 7 to 64 hex digits; `time` (RFC 3339) from 2000 on and at most 5 minutes ahead. */
  commit?: { sha: string; time?: string };
}

export interface JobLog {
  jobId: string;
  attempt: number;
  offset: number;
  lines: string[];
  nextOffset: number;
  eof: boolean;
}

// ---- pipeline definitions and runs ----

export type DefinitionKind = 'ci' | 'deploy';

/** A job of a definition, as `POST /api/v1/pipelines` takes it (extra fields such as `retry` pass through). */
export interface DefinitionJob {
  name: string;
  executor?: 'simulate' | 'http';
  params?: Record<string, unknown>;
  timeoutS?: number;
  retry?: { maxAttempts?: number; initialBackoffMs?: number; maxBackoffMs?: number };
  allowFailure?: boolean;
  requiresApproval?: boolean;
}

export interface DefinitionStage {
  name: string;
  jobs: DefinitionJob[];
}

export interface Definition {
  projectId: string;
  /** The project's slug. */
  project: string;
  /** `^[a-z0-9][a-z0-9-]{0,31}$`. */
  name: string;
  kind: DefinitionKind | null;
  description: string;
  /** A deploy may run a version that has no release. */
  allowUnreleased: boolean;
  /** Compare-and-set counter: sent back as `expectedVersion`. */
  version: number;
  createdAt: string | null;
  updatedAt: string | null;
  /** As stored: `${environment}`, `${version}`, `${commit}` unfilled. */
  stages: DefinitionStage[];
}

export interface DefinitionContent {
  kind: DefinitionKind;
  description?: string;
  allowUnreleased?: boolean;
  stages: DefinitionStage[];
}

export interface CreateRunInput {
  definition: string;
  environment?: string;
  version?: string;
  /** 7 to 64 hex digits. */
  commit?: string;
  idempotencyKey?: string;
}

/** A rollback started: its run, and from which version to which. */
export interface RolledBack {
  pipeline: Pipeline;
  fromVersion: string;
  toVersion: string;
}

// ---- metrics ----

export type Level = 'elite' | 'high' | 'medium' | 'low' | null;

export interface DoraMetrics {
  deploymentFrequency: {
    deployments: number;
    perDay: number;
    perWeek: number;
    medianDeployDaysPerWeek: number;
    level: Level;
  };
  leadTime: { changes: number; medianSeconds: number | null; p90Seconds: number | null; level: Level };
  changeFailureRate: { deployments: number; failures: number; rate: number | null; level: Level };
  recoveryTime: { recoveries: number; medianSeconds: number | null; level: Level };
  reworkRate: {
    deployments: number;
    reworkDeployments: number;
    rate: number | null;
    reworkWindowHours: number;
    level: Level;
  };
  overallLevel: Level;
}

export interface Series {
  measure: string | null;
  stepSeconds: number;
  from: string | null;
  to: string | null;
  buckets: { start: string | null; values: Record<string, number> }[];
}

export interface Overview {
  from: string;
  to: string;
  environments: { environment: string; metrics: DoraMetrics }[];
  deployments: Series | null;
  jobRuns: Series | null;
  jobRuns24h: number;
  failedJobRuns24h: number;
  jobSuccessRate24h: number | null;
}
