// Start work from the dashboard: a simulated CI pipeline (build → test → package, with chosen durations, failure rate
// and log volume), or a deploy of a release to an environment (deploy → verify). Both are ordinary pipelines.

import { Play, Rocket } from 'lucide-react';
import { useState, type FormEvent } from 'react';
import { useNavigate } from 'react-router-dom';

import { describeError } from '../api/errors';
import { createPipeline } from '../api/endpoints';
import type { Environment, Release } from '../api/types';
import { useSession } from '../auth/AuthContext';
import { isCommitSha } from '../lib/format';
import { canDeploy } from '../lib/roles';
import { Field, FormError } from './Modal';
import { Spinner } from './states';

function key(): string {
  return `ui-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

export function SimulateForm({ projects, initialProject }: { projects: string[]; initialProject?: string }) {
  const navigate = useNavigate();
  const [project, setProject] = useState(initialProject ?? projects[0] ?? '');
  const [seconds, setSeconds] = useState('2');
  const [failRate, setFailRate] = useState('0');
  const [logLines, setLogLines] = useState('25');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [idempotencyKey] = useState(key);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    const durationMs = Math.round(Number(seconds) * 1000);
    const rate = Number(failRate) / 100;
    const lines = Math.round(Number(logLines));
    if (!project) return setError('Choose a project.');
    if (!Number.isFinite(durationMs) || durationMs < 0 || durationMs > 600_000) return setError('Duration: 0 to 600 seconds.');
    if (!Number.isFinite(rate) || rate < 0 || rate > 1) return setError('Failure rate: 0 to 100 %.');
    if (!Number.isFinite(lines) || lines < 0 || lines > 10_000) return setError('Log lines: 0 to 10000.');
    const params = { durationMs, failRate: rate, logLines: lines };
    setBusy(true);
    try {
      const pipeline = await createPipeline({
        project,
        trigger: 'manual',
        idempotencyKey,
        stages: [
          { name: 'build', jobs: [{ name: 'compile', executor: 'simulate', params }] },
          {
            name: 'test',
            jobs: [
              { name: 'unit', executor: 'simulate', params },
              { name: 'lint', executor: 'simulate', params: { ...params, logLines: Math.min(lines, 10) } },
            ],
          },
          { name: 'package', jobs: [{ name: 'image', executor: 'simulate', params }] },
        ],
      });
      navigate(`/pipelines/${pipeline.id}`);
    } catch (err) {
      setError(describeError(err));
      setBusy(false);
    }
  };

  return (
    <form onSubmit={submit} className="space-y-4" noValidate>
      <FormError error={error} />
      <p className="text-sm text-muted">
        Runs <span className="font-mono text-white">build → test (unit, lint) → package</span> with the simulate executor.
      </p>
      <Field label="Project" htmlFor="sim-project">
        <select id="sim-project" className="input" value={project} onChange={(e) => setProject(e.target.value)}>
          {projects.map((p) => (
            <option key={p} value={p}>
              {p}
            </option>
          ))}
        </select>
      </Field>
      <div className="grid gap-4 sm:grid-cols-3">
        <Field label="Seconds per job" htmlFor="sim-seconds">
          <input id="sim-seconds" type="number" min={0} max={600} step="0.5" className="input" value={seconds} onChange={(e) => setSeconds(e.target.value)} />
        </Field>
        <Field label="Failure rate %" htmlFor="sim-fail">
          <input id="sim-fail" type="number" min={0} max={100} className="input" value={failRate} onChange={(e) => setFailRate(e.target.value)} />
        </Field>
        <Field label="Log lines" htmlFor="sim-lines">
          <input id="sim-lines" type="number" min={0} max={10000} className="input" value={logLines} onChange={(e) => setLogLines(e.target.value)} />
        </Field>
      </div>
      <div className="flex justify-end">
        <button type="submit" className="btn btn-primary" disabled={busy || !project}>
          {busy ? <Spinner label="Starting" className="text-ink" /> : <Play aria-hidden className="h-4 w-4" />}
          Run pipeline
        </button>
      </div>
    </form>
  );
}

export function DeployForm({ project, environments, releases, initialEnvironment, onStarted }: {
  project: string;
  environments: Environment[];
  releases: Release[];
  initialEnvironment?: string;
  onStarted?: () => void;
}) {
  const session = useSession();
  const navigate = useNavigate();
  const allowed = environments.filter((e) => canDeploy(session.role, e.tier));
  const [environment, setEnvironment] = useState(
    initialEnvironment && allowed.some((e) => e.name === initialEnvironment) ? initialEnvironment : (allowed[0]?.name ?? ''),
  );
  const [version, setVersion] = useState(releases[0]?.version ?? '');
  // The release's commit by default; the person may name another, or none.
  const releaseCommit = (v: string) => releases.find((r) => r.version === v)?.commitSha ?? '';
  const [commit, setCommit] = useState(() => releaseCommit(releases[0]?.version ?? ''));
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [idempotencyKey] = useState(key);
  const target = environments.find((e) => e.name === environment);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    if (!environment || !version) return setError('Choose a release and an environment.');
    const sha = commit.trim();
    if (sha && !isCommitSha(sha)) return setError('Commit: 7 to 64 hex digits, or leave it empty.');
    setBusy(true);
    try {
      const params = { durationMs: 1500, failRate: 0, logLines: 15 };
      const pipeline = await createPipeline({
        project,
        environment,
        version,
        trigger: 'manual',
        idempotencyKey,
        ...(sha ? { commit: { sha } } : {}),
        stages: [
          { name: 'deploy', jobs: [{ name: 'rollout', executor: 'simulate', params }] },
          { name: 'verify', jobs: [{ name: 'smoke-test', executor: 'simulate', params: { ...params, logLines: 8 } }] },
        ],
      });
      onStarted?.();
      navigate(`/pipelines/${pipeline.id}`);
    } catch (err) {
      setError(describeError(err));
      setBusy(false);
    }
  };

  if (releases.length === 0) return <p className="text-sm text-muted">Create a release first: a deploy ships a release's version.</p>;
  if (allowed.length === 0) return <p className="text-sm text-muted">Your role cannot deploy to any environment of this project.</p>;
  return (
    <form onSubmit={submit} className="space-y-4" noValidate>
      <FormError error={error} />
      <div className="grid gap-4 sm:grid-cols-2">
        <Field label="Release" htmlFor="deploy-version">
          <select
            id="deploy-version"
            className="input font-mono"
            value={version}
            onChange={(e) => {
              setVersion(e.target.value);
              setCommit(releaseCommit(e.target.value));
            }}
          >
            {releases.map((r) => (
              <option key={r.id} value={r.version}>
                {r.version}
              </option>
            ))}
          </select>
        </Field>
        <Field label="Environment" htmlFor="deploy-environment">
          <select id="deploy-environment" className="input" value={environment} onChange={(e) => setEnvironment(e.target.value)}>
            {allowed.map((e) => (
              <option key={e.name} value={e.name}>
                {e.name} ({e.tier ?? 'untiered'}){e.protected ? ' · needs approval' : ''}
              </option>
            ))}
          </select>
        </Field>
      </div>
      <Field label="Commit (optional)" htmlFor="deploy-commit" hint="The sha this deploy ships: 7 to 64 hex digits.">
        <input
          id="deploy-commit"
          className="input font-mono"
          placeholder="3484a3f"
          spellCheck={false}
          autoComplete="off"
          maxLength={64}
          value={commit}
          onChange={(e) => setCommit(e.target.value)}
        />
      </Field>
      {target && (
        <p className="text-sm text-muted">
          Now on {target.name}: <span className="font-mono text-white">{target.currentVersion ?? 'nothing yet'}</span>
          {target.protected && ' · this environment is protected: the deploy waits for an approval.'}
        </p>
      )}
      <div className="flex justify-end">
        <button type="submit" className="btn btn-primary" disabled={busy}>
          {busy ? <Spinner label="Starting" className="text-ink" /> : <Rocket aria-hidden className="h-4 w-4" />}
          Deploy {version} to {environment}
        </button>
      </div>
    </form>
  );
}
