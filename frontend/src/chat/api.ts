// The chat's and the audit trail's REST calls (`/api/v1/chat/**`, `/api/v1/audit`), typed from ./types.

import { api } from '../api/client';
import type { components, operations } from '../api/schema';
import type { AuditPage, ChainReport, ChatAction, ChatMessage, ChatRoom, Decision, Parsed, Posted } from './types';

const enc = encodeURIComponent;

type Schemas = components['schemas'];

type HistoryQuery = NonNullable<operations['listChatMessages']['parameters']['query']>;
export type AuditQuery = NonNullable<operations['listAuditRecords']['parameters']['query']>;

/** The most messages one history page holds. */
export const HISTORY_PAGE = 50;

export const parseText = (text: string, room: string, signal?: AbortSignal) =>
  api.post<Parsed>('/api/v1/chat/parse', { text, room } satisfies Schemas['ChatParseRequest'], { signal });

export const listRooms = (signal?: AbortSignal) => api.get<ChatRoom[]>('/api/v1/chat/rooms', { signal });

export const listMessages = (room: string, query: HistoryQuery, signal?: AbortSignal) =>
  api
    .get<{ items: ChatMessage[] }>(`/api/v1/chat/rooms/${enc(room)}/messages`, { query: { ...query }, signal })
    .then((page) => page.items);

export const postMessage = (room: string, clientMsgId: string, text: string) =>
  api.post<Posted>(`/api/v1/chat/rooms/${enc(room)}/messages`, { clientMsgId, text } satisfies Schemas['ChatPostMessageRequest']);

export const getAction = (id: string, signal?: AbortSignal) =>
  api.get<ChatAction>(`/api/v1/chat/actions/${enc(id)}`, { signal });

export const decideAction = (id: string, decision: Decision) =>
  api.post<ChatAction>(`/api/v1/chat/actions/${enc(id)}/decisions`, { decision } satisfies Schemas['ChatDecisionRequest']);

export const listAudit = (query: AuditQuery, signal?: AbortSignal) =>
  api.get<AuditPage>('/api/v1/audit', { query: { ...query }, signal });

export const verifyAudit = (signal?: AbortSignal) => api.get<ChainReport>('/api/v1/audit/verify', { signal });
