// The gateway's 400s name the field at fault at the start of the message: `name: must match …`,
// `stages[0].jobs[1].params.durationMs: must be an integer …`, `stages[0].jobs[0]: missing field \`name\``. These helpers
// read that path back and find the form field it belongs to, so the message shows under the input that caused it.

import { ApiError, describeError } from '../api/errors';

export interface FieldProblem {
  /** camelCase, as the request's JSON spells it: `stages[0].jobs[1].timeoutS`. */
  path: string;
  problem: string;
}

const PATH = /^([A-Za-z_][A-Za-z0-9_]*(?:\[\d+\]|\.[A-Za-z_][A-Za-z0-9_]*)*): ([\s\S]+)$/;
const MISSING = /^missing field `([A-Za-z_][A-Za-z0-9_]*)`/;

/** `timeout_s` → `timeoutS`: the spec's own checks speak Rust, the JSON is camelCase. */
function camel(segment: string): string {
  return segment.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

export function normalizePath(path: string): string {
  return path.replace(/[A-Za-z_][A-Za-z0-9_]*/g, camel);
}

/** The field and the problem of a validation message, or null when the message names no field. */
export function parseFieldError(message: string): FieldProblem | null {
  const rootMissing = MISSING.exec(message);
  if (rootMissing?.[1]) return { path: camel(rootMissing[1]), problem: 'is required' };
  const m = PATH.exec(message.trim());
  if (!m?.[1] || !m[2]) return null;
  const path = normalizePath(m[1]);
  const missing = MISSING.exec(m[2]);
  if (missing?.[1]) return { path: `${path}.${camel(missing[1])}`, problem: 'is required' };
  return { path, problem: m[2] };
}

/** The path one level up: `a.b[2]` → `a.b`, `a.b` → `a`, `a` → null. */
export function parentPath(path: string): string | null {
  const m = /^(.*)(\[\d+\]|\.[A-Za-z_][A-Za-z0-9_]*)$/.exec(path);
  return m ? (m[1] ?? null) : null;
}

export interface SplitErrors {
  /** Messages by the form's own field keys. */
  fields: Record<string, string>;
  /** What belongs to no field: shown at the top of the form. */
  form: string | null;
}

/**
 * Splits a failed request into per-field messages: a 400 whose path (or the nearest enclosing path) is one of `known`
 * lands on that field, with the rest of the path kept in the message (`durationMs: must be …` under a job's params);
 * anything else is a form-level message.
 */
export function splitApiError(error: unknown, known: ReadonlySet<string>): SplitErrors {
  if (error instanceof ApiError && error.kind === 'invalid') {
    const parsed = parseFieldError(error.message);
    if (parsed) {
      for (let at: string | null = parsed.path; at !== null; at = parentPath(at)) {
        if (!known.has(at)) continue;
        const rest = parsed.path.slice(at.length).replace(/^\./, '');
        return { fields: { [at]: rest ? `${rest}: ${parsed.problem}` : parsed.problem }, form: null };
      }
    }
  }
  return { fields: {}, form: describeError(error) };
}
