import { describe, expect, it } from 'vitest';

import { ApiError } from '../api/errors';
import { normalizePath, parentPath, parseFieldError, splitApiError } from './fieldErrors';

const invalid = (message: string) => new ApiError({ kind: 'invalid', status: 400, message, code: 'invalid_argument' });

describe('parseFieldError', () => {
  it.each([
    ['name: must match ^[a-z0-9][a-z0-9-]{0,31}$', 'name', 'must match ^[a-z0-9][a-z0-9-]{0,31}$'],
    ['stages[0].jobs[1].name: "Bad" must match ^[a-z0-9][a-z0-9._-]{0,62}$', 'stages[0].jobs[1].name', '"Bad" must match ^[a-z0-9][a-z0-9._-]{0,62}$'],
    ['stages[1].jobs[0].timeout_s: must be from 1 to 86400', 'stages[1].jobs[0].timeoutS', 'must be from 1 to 86400'],
    ['stages[0].jobs[0].params.durationMs: must be an integer from 0 to 3600000', 'stages[0].jobs[0].params.durationMs', 'must be an integer from 0 to 3600000'],
    ['stages[0].jobs[0]: missing field `name` at line 1 column 40', 'stages[0].jobs[0].name', 'is required'],
    ['missing field `kind` at line 1 column 2', 'kind', 'is required'],
    ['version: 9.9.9 has no release in api', 'version', '9.9.9 has no release in api'],
  ])('reads %j', (message, path, problem) => {
    expect(parseFieldError(message)).toEqual({ path, problem });
  });

  it('finds no field in a sentence', () => {
    expect(parseFieldError('project api is archived')).toBeNull();
    expect(parseFieldError('nothing to roll back to: staging of api runs 1.0.0')).toBeNull();
    expect(parseFieldError('')).toBeNull();
  });

  it('camel-cases snake segments only', () => {
    expect(normalizePath('stages[0].jobs[2].retry.max_attempts')).toBe('stages[0].jobs[2].retry.maxAttempts');
    expect(normalizePath('allowUnreleased')).toBe('allowUnreleased');
  });

  it('walks up one segment at a time', () => {
    expect(parentPath('stages[0].jobs[1].params')).toBe('stages[0].jobs[1]');
    expect(parentPath('stages[0].jobs[1]')).toBe('stages[0].jobs');
    expect(parentPath('stages')).toBeNull();
  });
});

describe('splitApiError', () => {
  const known = new Set(['name', 'stages', 'stages[0].jobs[0].name', 'stages[0].jobs[0].params', 'stages[0].jobs[0]']);

  it('puts a message on the field it names', () => {
    expect(splitApiError(invalid('stages[0].jobs[0].name: "Bad" must match x'), known)).toEqual({
      fields: { 'stages[0].jobs[0].name': '"Bad" must match x' },
      form: null,
    });
  });

  it('puts a deeper path on the nearest field, keeping the rest of the path in the message', () => {
    expect(splitApiError(invalid('stages[0].jobs[0].params.failRate: must be from 0 to 1'), known).fields).toEqual({
      'stages[0].jobs[0].params': 'failRate: must be from 0 to 1',
    });
    expect(splitApiError(invalid('stages[0].jobs[0].retry: unknown field `x`'), known).fields).toEqual({
      'stages[0].jobs[0]': 'retry: unknown field `x`',
    });
  });

  it('leaves to the form what names no field of it, and every other kind of error', () => {
    expect(splitApiError(invalid('expectedVersion: must not be negative'), known)).toEqual({
      fields: {},
      form: 'expectedVersion: must not be negative',
    });
    const conflict = new ApiError({ kind: 'conflict', status: 409, message: 'name: ci already exists' });
    expect(splitApiError(conflict, known)).toEqual({ fields: {}, form: 'name: ci already exists' });
    expect(splitApiError(new Error('boom'), known)).toEqual({ fields: {}, form: 'boom' });
  });
});
