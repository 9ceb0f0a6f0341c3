// Start a run of one of the project's pipeline definitions (`POST /api/v1/projects/{slug}/runs`). A `ci` definition
// takes an optional commit; a `deploy` definition also takes an environment and a version chosen from the project's
// releases (or typed, when the definition allows unreleased versions). The Deploy button opens this form limited to
// deploy definitions. The server's 400s land on the field they name.

import { Play, Rocket } from 'lucide-react';
import { useState, type FormEvent } from 'react';
import { useNavigate } from 'react-router-dom';

import { createRun } from '../api/endpoints';
import type { Definition, DefinitionKind, Environment, Pipeline, Release } from '../api/types';
import { useSession } from '../auth/AuthContext';
import { splitApiError } from '../lib/fieldErrors';
import { isCommitSha } from '../lib/format';
import { newIdempotencyKey } from '../lib/idempotency';
import { canDeploy } from '../lib/roles';
import { KindBadge } from './badges';
import { Field, FormError } from './Modal';
import { Spinner } from './states';

const FIELDS: ReadonlySet<string> = new Set(['definition', 'environment', 'version', 'commit']);

/** The definition a form opens on: `deploy` / `ci` by name when there is one, else the first. */
export function defaultDefinition(definitions: Definition[], kind?: DefinitionKind): string {
  const preferred = kind ?? 'ci';
  return (definitions.find((d) => d.name === preferred) ?? definitions[0])?.name ?? '';
}

const invalid = (id: string, error: string | undefined) =>
  error ? { 'aria-invalid': true as const, 'aria-describedby': `${id}-error` } : {};

export function RunForm({ project, definitions, environments, releases, only, initialEnvironment, onStarted }: {
  project: string;
  definitions: Definition[];
  environments: Environment[];
  releases: Release[];
  /** Offer only definitions of this kind (the Deploy button: `deploy`). */
  only?: DefinitionKind;
  initialEnvironment?: string;
  onStarted?: (pipeline: Pipeline) => void;
}) {
  const session = useSession();
  const navigate = useNavigate();
  const choices = only ? definitions.filter((d) => d.kind === only) : definitions;
  const allowed = environments.filter((e) => canDeploy(session.role, e.tier));
  const [name, setName] = useState(() => defaultDefinition(choices, only));
  const [environment, setEnvironment] = useState(
    initialEnvironment && allowed.some((e) => e.name === initialEnvironment) ? initialEnvironment : (allowed[0]?.name ?? ''),
  );
  const releaseCommit = (v: string) => releases.find((r) => r.version === v)?.commitSha ?? '';
  const [version, setVersion] = useState(releases[0]?.version ?? '');
  const [commit, setCommit] = useState(() => releaseCommit(releases[0]?.version ?? ''));
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  // One key per distinct request: a retry of the same run after a lost answer finds the first, a changed one does not.
  const [idempotencyKey, setKey] = useState(newIdempotencyKey);
  const changed = () => {
    setKey(newIdempotencyKey());
    setErrors({});
  };

  const definition = choices.find((d) => d.name === name);
  const deploy = definition?.kind === 'deploy';
  const target = environments.find((e) => e.name === environment);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setFormError(null);
    const found: Record<string, string> = {};
    const sha = commit.trim();
    if (!definition) found.definition = 'Choose a definition.';
    if (deploy && !environment) found.environment = 'Choose an environment.';
    if (deploy && !version.trim()) found.version = definition?.allowUnreleased ? 'Name a version.' : 'Choose a release.';
    if (sha && !isCommitSha(sha)) found.commit = '7 to 64 hex digits, or leave it empty.';
    setErrors(found);
    if (Object.keys(found).length > 0 || !definition) return;
    setBusy(true);
    try {
      const pipeline = await createRun(project, {
        definition: definition.name,
        ...(deploy ? { environment, version: version.trim() } : {}),
        ...(sha ? { commit: sha } : {}),
        idempotencyKey,
      });
      onStarted?.(pipeline);
      navigate(`/pipelines/${pipeline.id}`);
    } catch (err) {
      const split = splitApiError(err, FIELDS);
      setErrors(split.fields);
      setFormError(split.form);
      setBusy(false);
    }
  };

  if (choices.length === 0) {
    return (
      <p className="text-sm text-muted" data-testid="no-definitions">
        {only === 'deploy'
          ? 'This project has no deploy definition. An admin can add one under Pipeline definitions.'
          : 'This project has no pipeline definitions yet. An admin can add one under Pipeline definitions.'}
      </p>
    );
  }

  const submitLabel = deploy ? `Deploy ${version.trim() || '…'} to ${environment || '…'}` : `Run ${name}`;
  return (
    <form onSubmit={submit} className="space-y-4" noValidate aria-busy={busy}>
      <FormError error={formError} />
      <fieldset>
        <legend className="label">Definition</legend>
        <div className="max-h-64 space-y-2 overflow-y-auto">
          {choices.map((d) => (
            <label
              key={d.name}
              data-testid="definition-option"
              className={`flex cursor-pointer items-start gap-3 rounded-lg border p-3 ${d.name === name ? 'border-cyan/70 bg-cyan/5' : 'border-line hover:border-cyan/40'}`}
            >
              <input
                type="radio"
                name="run-definition"
                value={d.name}
                checked={d.name === name}
                onChange={() => {
                  setName(d.name);
                  changed();
                }}
                className="mt-1 accent-cyan"
              />
              <span className="min-w-0 flex-1">
                <span className="flex flex-wrap items-center gap-2">
                  <span className="font-mono text-sm text-white">{d.name}</span>
                  <KindBadge kind={d.kind} />
                  <span className="text-xs text-muted">v{d.version}</span>
                </span>
                {d.description && <span className="mt-0.5 block text-xs text-muted">{d.description}</span>}
              </span>
            </label>
          ))}
        </div>
        {errors.definition && <p className="mt-1 text-xs text-bad">{errors.definition}</p>}
      </fieldset>

      {deploy && allowed.length === 0 && (
        <p className="text-sm text-muted">Your role cannot deploy to any environment of this project.</p>
      )}
      {deploy && allowed.length > 0 && (
        <div className="grid gap-4 sm:grid-cols-2">
          {definition?.allowUnreleased ? (
            <Field label="Version" htmlFor="run-version" error={errors.version} hint="A release, or any version: this definition allows unreleased ones.">
              <input
                id="run-version"
                className="input font-mono"
                list="run-releases"
                value={version}
                autoComplete="off"
                spellCheck={false}
                onChange={(e) => {
                  setVersion(e.target.value);
                  setCommit(releaseCommit(e.target.value));
                  changed();
                }}
                {...invalid('run-version', errors.version)}
              />
              <datalist id="run-releases">
                {releases.map((r) => (
                  <option key={r.id} value={r.version} />
                ))}
              </datalist>
            </Field>
          ) : releases.length === 0 ? (
            <div>
              <p className="label">Release</p>
              <p className="text-sm text-muted">Create a release first: this deploy ships a release's version.</p>
              {errors.version && <p className="mt-1 text-xs text-bad">{errors.version}</p>}
            </div>
          ) : (
            <Field label="Release" htmlFor="run-version" error={errors.version}>
              <select
                id="run-version"
                className="input font-mono"
                value={version}
                onChange={(e) => {
                  setVersion(e.target.value);
                  setCommit(releaseCommit(e.target.value));
                  changed();
                }}
                {...invalid('run-version', errors.version)}
              >
                {releases.map((r) => (
                  <option key={r.id} value={r.version}>
                    {r.version}
                  </option>
                ))}
              </select>
            </Field>
          )}
          <Field label="Environment" htmlFor="run-environment" error={errors.environment}>
            <select
              id="run-environment"
              className="input"
              value={environment}
              onChange={(e) => {
                setEnvironment(e.target.value);
                changed();
              }}
              {...invalid('run-environment', errors.environment)}
            >
              {allowed.map((e) => (
                <option key={e.name} value={e.name}>
                  {e.name} ({e.tier ?? 'untiered'}){e.protected ? ' · needs approval' : ''}
                </option>
              ))}
            </select>
          </Field>
        </div>
      )}

      <Field label="Commit (optional)" htmlFor="run-commit" error={errors.commit} hint="The sha this run builds or ships: 7 to 64 hex digits.">
        <input
          id="run-commit"
          className="input font-mono"
          placeholder="3484a3f"
          spellCheck={false}
          autoComplete="off"
          maxLength={64}
          value={commit}
          onChange={(e) => {
            setCommit(e.target.value);
            changed();
          }}
          {...invalid('run-commit', errors.commit)}
        />
      </Field>

      {deploy && target && (
        <p className="text-sm text-muted">
          Now on {target.name}: <span className="font-mono text-white">{target.currentVersion ?? 'nothing yet'}</span>
          {target.protected && ' · this environment is protected: the deploy waits for an approval.'}
        </p>
      )}
      <div className="flex justify-end">
        <button
          type="submit"
          className="btn btn-primary"
          disabled={busy || (deploy && (allowed.length === 0 || (!definition?.allowUnreleased && releases.length === 0)))}
        >
          {busy ? (
            <Spinner label="Starting" className="text-ink" />
          ) : deploy ? (
            <Rocket aria-hidden className="h-4 w-4" />
          ) : (
            <Play aria-hidden className="h-4 w-4" />
          )}
          {submitLabel}
        </button>
      </div>
    </form>
  );
}
