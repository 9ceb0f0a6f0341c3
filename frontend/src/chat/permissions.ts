// Which decision buttons an action card shows to whom, as the gateway decides (src/chat/app/permissions.rs there):
// only the asker confirms; a critical action is then approved by a different person who is an admin; the asker or an
// admin may reject while it is open. The UI only hides what a person cannot do; the gateway still refuses it.

import type { Session } from '../api/client';
import type { ChatAction, Decision } from './types';

export function allowedDecisions(action: ChatAction, me: Pick<Session, 'userId' | 'role'>): Decision[] {
  const mine = action.asker.id === me.userId;
  const admin = me.role === 'admin';
  switch (action.state) {
    case 'awaiting_confirmation':
      return mine ? ['confirm', 'reject'] : admin ? ['reject'] : [];
    case 'awaiting_approval':
      if (admin && !mine) return ['approve', 'reject'];
      return mine || admin ? ['reject'] : [];
    default:
      return [];
  }
}

/** What the card says to someone who may not decide now, or null. */
export function waitingFor(action: ChatAction, me: Pick<Session, 'userId' | 'role'>): string | null {
  const mine = action.asker.id === me.userId;
  if (action.state === 'awaiting_confirmation' && !mine) return `Waiting for ${action.asker.name} to confirm.`;
  if (action.state === 'awaiting_approval') {
    return mine ? 'Waiting for another person, an admin, to approve.' : me.role === 'admin' ? null : 'Waiting for an admin to approve.';
  }
  return null;
}

/** The moment the open step ends: confirmation, then approval. */
export function deadline(action: ChatAction): string | null {
  if (action.state === 'awaiting_confirmation') return action.confirmBy;
  if (action.state === 'awaiting_approval') return action.approveBy ?? null;
  return null;
}
