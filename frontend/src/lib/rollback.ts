// Which versions an environment can be rolled back to, read from its deployment history (newest first) with the rules
// the tasks service applies (crates/tasks/src/app/rollback.rs), so the confirmation names the version that will run:
// the current version is the newest succeeded deployment's; never go back to it, to a deployment whose status is
// `rolled_back`, or to a version a rollback moved away from; the default target is the newest succeeded other version.

import type { Deployment } from '../api/types';

export interface RollbackPlan {
  /** What the environment runs; null before its first successful deployment. */
  current: string | null;
  /** Versions it may go back to, newest first; the first is what `{}` rolls back to. */
  candidates: string[];
}

export function rollbackPlan(history: Deployment[]): RollbackPlan {
  const succeeded = history.filter((d) => d.status === 'succeeded');
  const current = succeeded[0]?.version ?? null;
  if (current === null) return { current, candidates: [] };
  const bad = new Set<string>([current]);
  for (const d of history) if (d.status === 'rolled_back') bad.add(d.version);
  for (let i = 0; i + 1 < succeeded.length; i += 1) {
    if (succeeded[i]?.rollback) bad.add((succeeded[i + 1] as Deployment).version);
  }
  const candidates: string[] = [];
  for (const d of succeeded.slice(1)) {
    if (!bad.has(d.version) && !candidates.includes(d.version)) candidates.push(d.version);
  }
  return { current, candidates };
}

/** The confirmation: "Roll back staging from 1.1.0 to 1.0.0?" */
export function rollbackQuestion(environment: string, from: string, to: string): string {
  return `Roll back ${environment} from ${from} to ${to}?`;
}
