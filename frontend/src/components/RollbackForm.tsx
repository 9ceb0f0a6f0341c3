// The confirmation of a rollback: reads the environment's deployment history, says from which version to which it goes
// back (the versions the server would accept, newest first), and sends that version explicitly, so what runs is what
// the person confirmed. `POST /api/v1/projects/{slug}/environments/{env}/rollback` runs the deploy definition.

import { RotateCcw } from 'lucide-react';
import { useState, type FormEvent } from 'react';
import { useNavigate } from 'react-router-dom';

import { listDeployments, rollbackEnvironment } from '../api/endpoints';
import type { Environment, RolledBack } from '../api/types';
import { splitApiError } from '../lib/fieldErrors';
import { newIdempotencyKey } from '../lib/idempotency';
import { rollbackPlan, rollbackQuestion } from '../lib/rollback';
import { useResource } from '../lib/useResource';
import { Field, FormError } from './Modal';
import { ErrorState, LoadingState, Spinner } from './states';

const FIELDS: ReadonlySet<string> = new Set(['to']);
/** What the server reads too (one page of 200, newest first). */
const HISTORY = 200;

export function RollbackForm({ project, environment, onCancel, onStarted }: {
  project: string;
  environment: Environment;
  onCancel: () => void;
  onStarted?: (done: RolledBack) => void;
}) {
  const navigate = useNavigate();
  const env = environment.name;
  const history = useResource(
    (signal) => listDeployments(project, { environment: env, pageSize: HISTORY }, signal).then((p) => rollbackPlan(p.items)),
    [project, env],
  );
  const [chosen, setChosen] = useState<string | null>(null);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [idempotencyKey, setKey] = useState(() => newIdempotencyKey('rollback'));

  if (history.error) return <ErrorState error={history.error} onRetry={history.reload} compact />;
  const plan = history.data;
  if (!plan) return <LoadingState label={`Reading the deployment history of ${env}…`} />;

  const cancel = (
    <button type="button" className="btn btn-secondary" onClick={onCancel} disabled={busy}>
      Cancel
    </button>
  );
  if (plan.current === null || plan.candidates.length === 0) {
    return (
      <div className="space-y-4">
        <p className="text-sm text-white" data-testid="rollback-nothing">
          {plan.current === null
            ? `Nothing to roll back: ${env} has no successful deployment.`
            : `Nothing to roll back to: ${env} runs ${plan.current} and has no earlier successful deployment of another version that was not rolled back.`}
        </p>
        <div className="flex justify-end">{cancel}</div>
      </div>
    );
  }

  const from = plan.current;
  const to = chosen && plan.candidates.includes(chosen) ? chosen : (plan.candidates[0] as string);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setErrors({});
    setFormError(null);
    setBusy(true);
    try {
      const done = await rollbackEnvironment(project, env, { to, idempotencyKey });
      onStarted?.(done);
      navigate(`/pipelines/${done.pipeline.id}`);
    } catch (err) {
      const split = splitApiError(err, FIELDS);
      setErrors(split.fields);
      setFormError(split.form);
      setBusy(false);
      history.reload(); // the history may have moved under us: show what the server sees now
    }
  };

  return (
    <form onSubmit={submit} className="space-y-4" noValidate aria-busy={busy}>
      <FormError error={formError} />
      <p className="text-base font-medium text-white" data-testid="rollback-question">
        {rollbackQuestion(env, from, to)}
      </p>
      {plan.candidates.length > 1 && (
        <Field label="Roll back to" htmlFor="rollback-to" error={errors.to} hint="Versions deployed here with success before, never rolled back; newest first.">
          <select
            id="rollback-to"
            className="input font-mono"
            value={to}
            onChange={(e) => {
              setChosen(e.target.value);
              setKey(newIdempotencyKey('rollback'));
            }}
            {...(errors.to ? { 'aria-invalid': true, 'aria-describedby': 'rollback-to-error' } : {})}
          >
            {plan.candidates.map((v) => (
              <option key={v} value={v}>
                {v}
              </option>
            ))}
          </select>
        </Field>
      )}
      {plan.candidates.length === 1 && errors.to && <p className="text-xs text-bad">{errors.to}</p>}
      <p className="text-sm text-muted">
        This runs the project's <span className="font-mono text-white">deploy</span> definition with{' '}
        <span className="font-mono text-white">{to}</span>; {env} shows it once the run succeeds, and the history records
        the deployment as a rollback.
        {environment.protected && ` ${env} is protected: the run waits for an approval.`}
      </p>
      <div className="flex justify-end gap-2">
        {cancel}
        <button type="submit" className="btn btn-danger" disabled={busy}>
          {busy ? <Spinner label="Rolling back" /> : <RotateCcw aria-hidden className="h-4 w-4" />}
          Roll back to {to}
        </button>
      </div>
    </form>
  );
}
