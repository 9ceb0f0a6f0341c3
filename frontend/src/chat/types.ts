// The chat's and the audit trail's JSON: aliases of the types generated from the gateway's OpenAPI document
// (../api/schema.d.ts, scripts/api-types.sh), which types every chat and audit body field by field. A field the
// gateway renames or removes breaks the build here and wherever it is read.

import type { components } from '../api/schema';

type Schemas = components['schemas'];

export type Intent = Schemas['ChatIntent'];
export type Risk = Schemas['ChatRisk'];
export type ActionState = Schemas['ChatActionState'];
export type Decision = Schemas['ChatDecision'];

/** The parser's params (an unknown project or environment is never here: it is in `missing`). */
export type Params = Schemas['ChatParams'];
export type Missing = Schemas['ChatMissing'];
/** `POST /api/v1/chat/parse`: what the bot would understand. */
export type Parsed = Schemas['ChatParseResponse'];

export type Sender = Schemas['ChatSender'];
/** What the bot attached to a message; `actionId` names the action a card shows. */
export type Payload = Schemas['ChatPayload'];
export type ChatRoom = Schemas['ChatRoom'];
export type ChatMessage = Schemas['ChatMessage'];

export type Person = Schemas['ChatPerson'];
export type DecisionRecord = Schemas['ChatDecisionRecord'];
export type ChatAction = Schemas['ChatAction'];
export type Posted = Schemas['ChatPostMessageResponse'];

export type AuditRecord = Schemas['AuditRecord'];
export type AuditPage = Schemas['AuditPage'];
export type ChainReport = Schemas['AuditChainReport'];

export const OPEN_STATES: readonly ActionState[] = ['awaiting_confirmation', 'awaiting_approval'];
