import { describe, expect, it } from 'vitest';

import type { Job, Pipeline } from '../api/types';
import { parseAnsi, stripAnsi } from './ansi';
import { duration, relativeTime } from './format';
import { mergeLines } from './logs';
import { mergeJob, mergePipeline, upsertPipeline } from './pipelines';
import { canApprove, canDeploy, canOperate } from './roles';

describe('ANSI', () => {
  it('renders SGR colours and bold as segments and drops other escapes', () => {
    const segments = parseAnsi('\u001b[1;32mPASS\u001b[0m unit \u001b[31mfailed\u001b[39m done\u001b[2K');
    expect(segments).toEqual([
      { text: 'PASS', color: '#00ff88', bold: true },
      { text: ' unit ', color: null, bold: false },
      { text: 'failed', color: '#ff3b30', bold: false },
      { text: ' done', color: null, bold: false },
    ]);
  });

  it('skips 256-colour and true-colour parameters without misreading them', () => {
    expect(parseAnsi('\u001b[38;5;196mx\u001b[38;2;1;32;3my')).toEqual([{ text: 'xy', color: null, bold: false }]);
  });

  it('strips everything for plain text', () => {
    expect(stripAnsi('\u001b]0;title\u0007\u001b[33mwarn\u001b[m')).toBe('warn');
  });
});

describe('mergeLines', () => {
  it('appends new lines, ignores ones it has, and reports a gap', () => {
    expect(mergeLines(['a', 'b'], 2, ['c'])).toEqual(['a', 'b', 'c']);
    expect(mergeLines(['a', 'b'], 1, ['b', 'c'])).toEqual(['a', 'b', 'c']);
    const held = ['a', 'b', 'c'];
    expect(mergeLines(held, 0, ['a'])).toBe(held);
    expect(mergeLines(['a'], 3, ['d'])).toBeNull();
  });
});

const job = (id: string, stage: string, status: Job['status']) => ({ id, stage, name: id, status, attempt: 1 }) as Job;
const pipeline = (id: string, status: Pipeline['status'], createdAt: string, stages = [] as Pipeline['stages']) =>
  ({ id, status, createdAt, stages }) as unknown as Pipeline;

describe('pipelines', () => {
  it('keeps the stages when a job event carries only the header', () => {
    const full = pipeline('p', 'running', '2025-01-01T00:00:00Z', [{ name: 'build', jobs: [job('j', 'build', 'running')] }]);
    const merged = mergePipeline(full, pipeline('p', 'succeeded', '2025-01-01T00:00:00Z'));
    expect(merged.status).toBe('succeeded');
    expect(merged.stages).toHaveLength(1);
    expect(mergeJob(merged, job('j', 'build', 'succeeded')).stages[0]?.jobs[0]?.status).toBe('succeeded');
  });

  it('inserts newest first, updates in place, and drops what no longer matches', () => {
    let list = [pipeline('a', 'running', '2025-01-01T00:00:00Z')];
    list = upsertPipeline(list, pipeline('b', 'queued', '2025-01-02T00:00:00Z'));
    expect(list.map((p) => p.id)).toEqual(['b', 'a']);
    const running = (p: Pipeline) => p.status !== 'succeeded';
    list = upsertPipeline(list, pipeline('a', 'succeeded', '2025-01-01T00:00:00Z'), running);
    expect(list.map((p) => p.id)).toEqual(['b']);
  });
});

describe('roles', () => {
  it('lets operators deploy and approve outside production only', () => {
    expect(canOperate('viewer')).toBe(false);
    expect(canDeploy('operator', 'staging')).toBe(true);
    expect(canDeploy('operator', 'production')).toBe(false);
    expect(canApprove('admin', 'production')).toBe(true);
  });
});

describe('format', () => {
  it('says durations and ages the way people do', () => {
    expect(duration(0.25)).toBe('250 ms');
    expect(duration(184)).toBe('3 min 4 s');
    expect(duration(7500)).toBe('2 h 5 min');
    expect(duration(null)).toBe('—');
    const now = Date.parse('2025-01-01T12:00:00Z');
    expect(relativeTime('2025-01-01T11:57:00Z', now)).toBe('3 min ago');
    expect(relativeTime('2025-01-01T11:59:55Z', now)).toBe('just now');
  });
});
