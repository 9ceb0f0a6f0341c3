// A job's log that follows as it is written: the REST pages so far, then live `job.log` events (a gap refetches),
// monospace, ANSI colours rendered. Scrolling up pauses following; "Follow" resumes it.

import { ArrowDownToLine, Copy, FileText } from 'lucide-react';
import { useCallback, useEffect, useLayoutEffect, useRef, useState } from 'react';

import { getJobLog } from '../api/endpoints';
import type { Job } from '../api/types';
import { parseAnsi, stripAnsi } from '../lib/ansi';
import { mergeLines } from '../lib/logs';
import { isFinished } from '../lib/pipelines';
import { useLive } from '../live/live';
import { StatusBadge } from './badges';
import { ErrorState, Spinner } from './states';

const PAGE = 1000;

export function LogViewer({ job, pipelineId }: { job: Job; pipelineId: string }) {
  const [attempt, setAttempt] = useState(job.attempt);
  const [lines, setLines] = useState<string[]>([]);
  const [eof, setEof] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(true);
  const [follow, setFollow] = useState(true);
  const linesRef = useRef<string[]>([]);
  linesRef.current = lines;
  const fetching = useRef(false);
  const again = useRef(false);
  const box = useRef<HTMLDivElement>(null);

  // A new attempt (a retry) starts a new log.
  useEffect(() => setAttempt(job.attempt), [job.id, job.attempt]);

  /** Reads pages from what we hold until the end of what exists now. */
  const catchUp = useCallback(
    async (signal?: AbortSignal) => {
      if (fetching.current) {
        again.current = true; // read once more when the current read ends
        return;
      }
      fetching.current = true;
      again.current = false;
      try {
        for (;;) {
          const from = linesRef.current.length;
          const page = await getJobLog(job.id, { attempt, offset: from, limit: PAGE }, signal);
          const merged = mergeLines(linesRef.current, page.offset, page.lines) ?? linesRef.current;
          linesRef.current = merged;
          setLines(merged);
          setEof(page.eof);
          setError(null);
          if (page.eof || (page.lines.length < PAGE && !again.current)) break;
          again.current = false;
        }
      } catch (e) {
        if (!signal?.aborted) setError(e);
      } finally {
        fetching.current = false;
        setLoading(false);
      }
    },
    [job.id, attempt],
  );

  useEffect(() => {
    const controller = new AbortController();
    linesRef.current = [];
    setLines([]);
    setEof(false);
    setLoading(true);
    fetching.current = false;
    void catchUp(controller.signal);
    return () => controller.abort();
  }, [catchUp]);

  // When the job finishes, read the tail (the last event may have been dropped for a slow socket).
  useEffect(() => {
    if (isFinished(job.status) && !eof && !loading) void catchUp();
  }, [job.status, eof, loading, catchUp]);

  useLive(
    [`pipeline:${pipelineId}`],
    (event) => {
      if (event.type !== 'job.log' || event.jobId !== job.id || event.attempt !== attempt) return;
      const merged = mergeLines(linesRef.current, event.offset, event.lines);
      if (merged === null) {
        void catchUp();
        return;
      }
      linesRef.current = merged;
      setLines(merged);
    },
    () => void catchUp(),
  );

  useLayoutEffect(() => {
    if (follow && box.current) box.current.scrollTop = box.current.scrollHeight;
  }, [lines, follow]);

  const onScroll = () => {
    const el = box.current;
    if (!el) return;
    const atBottom = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
    if (atBottom !== follow) setFollow(atBottom);
  };

  return (
    <section className="card overflow-hidden" aria-label={`Log of ${job.name}`} data-testid="log-viewer">
      <header className="flex flex-wrap items-center justify-between gap-2 border-b border-line px-4 py-3">
        <div className="flex min-w-0 items-center gap-3">
          <FileText aria-hidden className="h-4 w-4 text-cyan" />
          <h2 className="truncate font-mono text-sm font-semibold text-white">
            {job.stage} / {job.name}
          </h2>
          <StatusBadge status={job.status} size="sm" />
        </div>
        <div className="flex items-center gap-2">
          {job.attempt > 1 && (
            <select
              aria-label="Attempt"
              className="input w-auto py-1 text-xs"
              value={attempt}
              onChange={(e) => setAttempt(Number(e.target.value))}
            >
              {Array.from({ length: job.attempt }, (_, i) => i + 1).map((n) => (
                <option key={n} value={n}>attempt {n}</option>
              ))}
            </select>
          )}
          <button
            type="button"
            className="btn btn-ghost px-2 py-1 text-xs"
            onClick={() => void navigator.clipboard?.writeText(lines.map(stripAnsi).join('\n'))}
          >
            <Copy aria-hidden className="h-3.5 w-3.5" /> Copy
          </button>
          <button
            type="button"
            aria-pressed={follow}
            className={`btn px-2 py-1 text-xs ${follow ? 'bg-cyan/15 text-cyan' : 'btn-ghost'}`}
            onClick={() => setFollow(true)}
          >
            <ArrowDownToLine aria-hidden className="h-3.5 w-3.5" /> Follow
          </button>
        </div>
      </header>
      {error ? (
        <div className="p-4">
          <ErrorState error={error} onRetry={() => void catchUp()} compact />
        </div>
      ) : null}
      <div
        ref={box}
        onScroll={onScroll}
        tabIndex={0}
        role="log"
        aria-live="off"
        aria-label="Log output"
        className="max-h-[60vh] min-h-48 overflow-auto bg-[#05080f] py-3 font-mono text-[12.5px] leading-5"
      >
        {loading && lines.length === 0 ? (
          <div className="flex items-center gap-2 px-4 text-muted">
            <Spinner /> Loading log…
          </div>
        ) : lines.length === 0 ? (
          <p className="px-4 text-muted">{isFinished(job.status) ? 'This job wrote no log.' : 'Waiting for output…'}</p>
        ) : (
          <ol data-testid="log-lines">
            {lines.map((line, i) => (
              <li key={i} className="flex px-4 hover:bg-white/[0.03]">
                <span aria-hidden className="w-12 shrink-0 pr-4 text-right text-muted/50 select-none">{i + 1}</span>
                <span className="break-all whitespace-pre-wrap text-[#d7dbe4]">
                  {parseAnsi(line).map((s, j) => (
                    <span key={j} style={{ color: s.color ?? undefined, fontWeight: s.bold ? 700 : undefined }}>
                      {s.text}
                    </span>
                  ))}
                </span>
              </li>
            ))}
          </ol>
        )}
        {!eof && lines.length > 0 && (
          <p className="flex items-center gap-2 px-4 pt-1 text-muted" aria-hidden>
            <span className="inline-block h-3 w-1.5 animate-pulse bg-cyan" />
          </p>
        )}
      </div>
    </section>
  );
}
