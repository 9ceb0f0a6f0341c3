// The chat's and the audit trail's JSON, from the types generated out of the gateway's OpenAPI document
// (../api/schema.d.ts, scripts/api-types.sh). Where the document says only "object" (a message's sender, an action's
// asker, params and decisions, the parse answer, an audit record), the shape the gateway serialises is spelled out here
// on top of the generated type, so a renamed or removed documented field still breaks the build.

import type { components } from '../api/schema';
import type { Role } from '../api/types';

type Schemas = components['schemas'];

export type Intent =
  | 'status_overview'
  | 'project_status'
  | 'failing_pipelines'
  | 'job_failure_reason'
  | 'run_pipeline'
  | 'retry'
  | 'cancel'
  | 'approve'
  | 'deploy'
  | 'rollback'
  | 'dora_summary'
  | 'who_deployed'
  | 'help'
  | 'none';

export type Risk = 'read' | 'medium' | 'high' | 'critical';

export type ActionState =
  | 'awaiting_confirmation'
  | 'awaiting_approval'
  | 'executing'
  | 'succeeded'
  | 'failed'
  | 'rejected'
  | 'expired';

export type Decision = 'confirm' | 'approve' | 'reject';

/** The parser's params (an unknown project or environment is never here: it is in `missing`). */
export interface Params {
  project?: string;
  definition?: string;
  run?: number;
  version?: string;
  environment?: string;
  window?: string;
}

export interface Missing {
  param: string;
  reason: string;
  suggestions?: string[];
}

/** `POST /api/v1/chat/parse`: what the bot would understand (the document types it as an object). */
export interface Parsed {
  intent: Intent;
  params: Params;
  risk: Risk;
  missing: Missing[];
  negated: boolean;
  language: 'en' | 'fr';
  parsedBy: 'rules' | 'llm';
}

export type Sender = { kind: 'user'; id: string; name: string } | { kind: 'bot' } | { kind: 'system' };

/** What the bot attached to a message; `action` names the action a card shows. */
export type Payload = { kind?: string; actionId?: string; [field: string]: unknown };

export type ChatRoom = Schemas['ChatRoom'];

export type ChatMessage = Omit<Schemas['ChatMessage'], 'sender' | 'payload'> & {
  sender: Sender;
  payload?: Payload | null;
};

export interface Person {
  id: string;
  name: string;
  role: Role;
}

export interface DecisionRecord {
  decision: Decision;
  by: Person;
  at: string;
}

export type ChatAction = Omit<Schemas['ChatAction'], 'asker' | 'params' | 'decisions' | 'run' | 'risk' | 'state' | 'intent'> & {
  asker: Person;
  intent: Intent;
  params: Params;
  risk: Risk;
  state: ActionState;
  decisions: DecisionRecord[];
  run?: { pipelineId: string; runNumber: number } | null;
};

export type Posted = Omit<Schemas['ChatPostMessageResponse'], 'message' | 'replies' | 'action'> & {
  message: ChatMessage;
  replies: ChatMessage[];
  action?: ChatAction | null;
};

export interface AuditRecord {
  seq: number;
  at: string;
  actor: { subject: string; name: string; role: Role | null };
  kind: string;
  target: string;
  result: string;
  source: string | null;
  requestId: string | null;
  details: Record<string, unknown>;
  prevHash: string;
  hash: string;
}

export type AuditPage = Omit<Schemas['AuditPage'], 'items'> & { items: AuditRecord[] };

export type ChainReport = Schemas['AuditChainReport'];

export const OPEN_STATES: readonly ActionState[] = ['awaiting_confirmation', 'awaiting_approval'];
