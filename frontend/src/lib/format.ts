// Formatting of times, durations and numbers for people.

export function parseTime(value: string | null | undefined): number | null {
  if (!value) return null;
  const t = Date.parse(value);
  return Number.isNaN(t) ? null : t;
}

/** "3 min ago", "in 2 h", "just now". */
export function relativeTime(value: string | null | undefined, now: number = Date.now()): string {
  const t = parseTime(value);
  if (t === null) return '—';
  const seconds = Math.round((now - t) / 1000);
  const abs = Math.abs(seconds);
  if (abs < 10) return 'just now';
  const [n, unit] =
    abs < 60 ? [abs, 's'] : abs < 3600 ? [Math.floor(abs / 60), 'min'] : abs < 86_400 ? [Math.floor(abs / 3600), 'h'] : [Math.floor(abs / 86_400), 'd'];
  return seconds >= 0 ? `${n} ${unit} ago` : `in ${n} ${unit}`;
}

/** "850 ms", "12 s", "3 min 4 s", "2 h 5 min", "3 d 4 h". */
export function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '—';
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 60) return `${Math.round(seconds)} s`;
  if (seconds < 3600) {
    const m = Math.floor(seconds / 60);
    const s = Math.round(seconds % 60);
    return s ? `${m} min ${s} s` : `${m} min`;
  }
  if (seconds < 86_400) {
    const h = Math.floor(seconds / 3600);
    const m = Math.round((seconds % 3600) / 60);
    return m ? `${h} h ${m} min` : `${h} h`;
  }
  const d = Math.floor(seconds / 86_400);
  const h = Math.round((seconds % 86_400) / 3600);
  return h ? `${d} d ${h} h` : `${d} d`;
}

/** The running or final duration between two instants. */
export function elapsed(start: string | null | undefined, end: string | null | undefined, now = Date.now()): string {
  const s = parseTime(start);
  if (s === null) return '—';
  const e = parseTime(end) ?? now;
  return duration(Math.max(0, (e - s) / 1000));
}

export function percent(rate: number | null | undefined, digits = 0): string {
  if (rate === null || rate === undefined || !Number.isFinite(rate)) return '—';
  return `${(rate * 100).toFixed(digits)}%`;
}

export function compact(n: number | null | undefined, digits = 1): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  return Number.isInteger(n) ? String(n) : n.toFixed(digits);
}

export function dateTime(value: string | null | undefined): string {
  const t = parseTime(value);
  if (t === null) return '—';
  return new Date(t).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

/** The last 8 hex digits of an id: ids are UUIDv7, whose first digits are a timestamp shared by neighbours. */
/** A run as people name it: `api#42` (the project and its run number). */
export function runLabel(p: { project: string; number: number }): string {
  return `${p.project}#${p.number}`;
}

export function shortId(id: string): string {
  const hex = id.replace(/-/g, '');
  return hex.length > 8 ? hex.slice(-8) : id;
}

/** Who did something, as the viewer reads it: "you", or a short form of another user's id. */
export function who(subject: string | null | undefined, me: string | null | undefined): string {
  if (!subject) return 'unknown';
  if (subject === me) return 'you';
  return /^[0-9a-f-]{36}$/i.test(subject) ? `user ${shortId(subject)}` : subject;
}

/** The first 7 hex digits of a commit sha, as git abbreviates it. */
export function shortSha(sha: string): string {
  return sha.slice(0, 7);
}

/** "Commit <full sha>, committed <date and time>" (or "time unknown"): the hover text of a short sha. */
export function commitTitle(commit: { sha: string; time: string | null }): string {
  const when = parseTime(commit.time) === null ? 'commit time unknown' : `committed ${dateTime(commit.time)}`;
  return `Commit ${commit.sha}, ${when}`;
}

/** A commit sha as the API takes it: 7 to 64 hex digits. */
export function isCommitSha(value: string): boolean {
  return /^[0-9a-f]{7,64}$/i.test(value);
}
