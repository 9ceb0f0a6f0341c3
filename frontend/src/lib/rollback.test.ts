import { describe, expect, it } from 'vitest';

import type { Deployment } from '../api/types';
import { rollbackPlan, rollbackQuestion } from './rollback';

/** Newest first, `version:flags` with flags among ok, fail, rb (status rolled back), rollback: as the server's tests. */
function history(spec: string[]): Deployment[] {
  return spec.map((entry, i) => {
    const [version = '', flags = ''] = entry.split(':');
    const list = flags.split(',');
    return {
      id: `d${i}`,
      projectId: 'p',
      environment: 'staging',
      version,
      commitSha: null,
      status: list.includes('ok') ? 'succeeded' : list.includes('rb') ? 'rolled_back' : 'failed',
      startedAt: null,
      finishedAt: null,
      triggeredBy: 'x',
      pipelineId: null,
      rollback: list.includes('rollback'),
    };
  });
}

describe('rollbackPlan (the rules of crates/tasks/src/app/rollback.rs)', () => {
  it.each([
    ['the previous good version', ['3.0:ok', '2.0:fail', '2.0:ok', '1.0:ok'], '3.0', ['2.0', '1.0']],
    ['failed deployments and the current version skipped', ['3.0:ok', '2.5:fail', '3.0:ok', '2.0:ok'], '3.0', ['2.0']],
    ['a version a rollback moved away from skipped', ['2.0:ok,rollback', '3.0:ok', '2.0:ok', '1.0:ok'], '2.0', ['1.0']],
    ['a rolled-back deployment never a target', ['3.0:ok', '2.0:rb', '2.0:ok', '1.0:ok'], '3.0', ['1.0']],
    ['nothing left', ['1.0:ok', '1.0:ok', '0.9:fail'], '1.0', []],
    ['everything rolled back', ['1.0:ok,rollback', '2.0:ok', '1.0:ok'], '1.0', []],
  ])('%s', (_name, spec, current, candidates) => {
    expect(rollbackPlan(history(spec))).toEqual({ current, candidates });
  });

  it('knows when nothing was ever deployed', () => {
    expect(rollbackPlan([])).toEqual({ current: null, candidates: [] });
    expect(rollbackPlan(history(['1.0:fail']))).toEqual({ current: null, candidates: [] });
  });

  it('lists a version once, newest first', () => {
    expect(rollbackPlan(history(['3.0:ok', '2.0:ok', '1.0:ok', '2.0:ok'])).candidates).toEqual(['2.0', '1.0']);
  });
});

describe('the confirmation', () => {
  it('says from which version to which', () => {
    expect(rollbackQuestion('staging', '1.1.0', '1.0.0')).toBe('Roll back staging from 1.1.0 to 1.0.0?');
  });
});
