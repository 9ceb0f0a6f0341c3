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
  trigger: 'manual' | 'chat' | 'webhook' | 'api' | null;
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
