// Assembling a job's log from REST pages and live `job.log` events, which may overlap or arrive out of order.

/**
 * `current` extended with `incoming` (lines starting at `offset`), or null when there is a gap before them (some
 * lines were missed: fetch from `current.length`). Lines already held are kept, never duplicated.
 */
export function mergeLines(current: string[], offset: number, incoming: string[]): string[] | null {
  if (offset > current.length) return null;
  const end = offset + incoming.length;
  if (end <= current.length) return current;
  return current.concat(incoming.slice(current.length - offset));
}
