// What each role may do, as the services enforce it (ARCHITECTURE.md, "Identity and permissions"). The UI only hides
// what a role cannot use; the gateway and services still decide.

import type { Role, Tier } from '../api/types';

const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2, service: 3 };

export function atLeast(role: Role | null | undefined, wanted: Role): boolean {
  return role ? RANK[role] >= RANK[wanted] : false;
}

/** Trigger, retry and cancel pipelines. */
export const canOperate = (role: Role | null | undefined) => atLeast(role, 'operator');
/** Create and edit projects, users; see everyone's tokens. */
export const canAdmin = (role: Role | null | undefined) => atLeast(role, 'admin');
/** Deploy to an environment: operators to non-production, admins anywhere. */
export function canDeploy(role: Role | null | undefined, tier: Tier | null | undefined): boolean {
  return tier === 'production' ? canAdmin(role) : canOperate(role);
}
/** Approve or reject a gated job: operators for non-production, admins for any. */
export const canApprove = canDeploy;
/** Roll an environment back: operators for development and staging, admins for production or a protected one. */
export function canRollback(role: Role | null | undefined, env: { tier: Tier | null; protected: boolean }): boolean {
  return env.tier === 'production' || env.protected ? canAdmin(role) : canOperate(role);
}
