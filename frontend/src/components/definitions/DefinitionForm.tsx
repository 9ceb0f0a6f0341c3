// Create or edit a pipeline definition (admin): name, kind, description, whether a deploy may ship unreleased
// versions, and its stages and jobs. The server validates the stages as it validates `POST /api/v1/pipelines`; its
// message names a path (`stages[0].jobs[1].name: …`), which lands under that input, which then takes the focus.

import { Plus, Save, Trash2 } from 'lucide-react';
import { useEffect, useRef, useState, type FormEvent } from 'react';

import { createDefinition, updateDefinition } from '../../api/endpoints';
import { ApiError } from '../../api/errors';
import type { Definition, DefinitionKind } from '../../api/types';
import { splitApiError } from '../../lib/fieldErrors';
import { Field, FormError } from '../Modal';
import { Spinner } from '../states';
import {
  NAME,
  fieldKeys,
  fromDraft,
  inputId,
  jobKey,
  newJob,
  newStage,
  stageKey,
  toDraft,
  type DefinitionDraft,
  type JobDraft,
  type StageDraft,
} from './draft';

const PLACEHOLDERS = '${environment}, ${version} and ${commit}';

function a11y(key: string, error: string | undefined) {
  return { id: inputId(key), ...(error ? { 'aria-invalid': true as const, 'aria-describedby': `${inputId(key)}-error` } : {}) };
}

export function DefinitionForm({ project, definition, onSaved, onCancel, onStale }: {
  project: string;
  /** Absent: a new definition. */
  definition?: Definition;
  onSaved: (saved: Definition) => void;
  onCancel: () => void;
  /** Someone else changed or deleted it meanwhile (409 / 404 on save): the list should be read again. */
  onStale?: () => void;
}) {
  const editing = Boolean(definition);
  const [draft, setDraft] = useState<DefinitionDraft>(() => toDraft(definition));
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const formRef = useRef<HTMLFormElement>(null);

  // The first field with a message takes the focus, so a keyboard or screen-reader user lands on it.
  useEffect(() => {
    const first = formRef.current?.querySelector<HTMLElement>('[aria-invalid=true]');
    first?.focus();
  }, [errors]);

  const set = (patch: Partial<DefinitionDraft>) => setDraft((d) => ({ ...d, ...patch }));
  const setStage = (i: number, patch: Partial<StageDraft>) =>
    setDraft((d) => ({ ...d, stages: d.stages.map((s, k) => (k === i ? { ...s, ...patch } : s)) }));
  const setJob = (i: number, j: number, patch: Partial<JobDraft>) =>
    setDraft((d) => ({
      ...d,
      stages: d.stages.map((s, k) => (k === i ? { ...s, jobs: s.jobs.map((job, m) => (m === j ? { ...job, ...patch } : job)) } : s)),
    }));

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setFormError(null);
    const { stages, errors: found } = fromDraft(draft);
    if (!editing && !NAME.test(draft.name)) {
      found.name = 'Lower-case letters, digits and dashes, starting with a letter or digit; 1 to 32 characters.';
    }
    if (Object.keys(found).length > 0) {
      setErrors(found);
      return;
    }
    setErrors({});
    setBusy(true);
    const content = {
      kind: draft.kind,
      description: draft.description.trim(),
      allowUnreleased: draft.kind === 'deploy' && draft.allowUnreleased,
      stages,
    };
    try {
      const saved = definition
        ? await updateDefinition(project, definition.name, { ...content, expectedVersion: definition.version })
        : await createDefinition(project, { name: draft.name, ...content });
      onSaved(saved);
    } catch (err) {
      const split = splitApiError(err, fieldKeys(draft));
      const stale = editing && err instanceof ApiError && (err.kind === 'conflict' || err.kind === 'not_found');
      if (stale) onStale?.();
      setErrors(split.fields);
      setFormError(stale ? `${split.form ?? ''} Someone changed this definition meanwhile: close, and edit it again from the reloaded list.` : split.form);
      setBusy(false);
    }
  };

  return (
    <form ref={formRef} onSubmit={submit} className="space-y-4" noValidate aria-busy={busy} data-testid="definition-form">
      <FormError error={formError} />
      <div className="grid gap-4 sm:grid-cols-2">
        <Field label="Name" htmlFor={inputId('name')} error={errors.name} hint={editing ? 'A name cannot change.' : 'e.g. ci, deploy, deploy-eu'}>
          <input
            {...a11y('name', errors.name)}
            className="input font-mono"
            value={draft.name}
            readOnly={editing}
            maxLength={32}
            autoComplete="off"
            spellCheck={false}
            onChange={(e) => set({ name: e.target.value })}
          />
        </Field>
        <Field label="Kind" htmlFor={inputId('kind')} error={errors.kind}>
          <select {...a11y('kind', errors.kind)} className="input" value={draft.kind} onChange={(e) => set({ kind: e.target.value as DefinitionKind })}>
            <option value="ci">ci: builds and tests</option>
            <option value="deploy">deploy: ships a version to an environment</option>
          </select>
        </Field>
      </div>
      <Field label="Description" htmlFor={inputId('description')} error={errors.description}>
        <input {...a11y('description', errors.description)} className="input" maxLength={500} value={draft.description} onChange={(e) => set({ description: e.target.value })} />
      </Field>
      {draft.kind === 'deploy' && (
        <div>
          <label className="flex items-center gap-2 text-sm text-white">
            <input
              type="checkbox"
              {...a11y('allowUnreleased', errors.allowUnreleased)}
              className="accent-cyan"
              checked={draft.allowUnreleased}
              onChange={(e) => set({ allowUnreleased: e.target.checked })}
            />
            Allow versions without a release
          </label>
          {errors.allowUnreleased && <p id={`${inputId('allowUnreleased')}-error`} className="mt-1 text-xs text-bad">{errors.allowUnreleased}</p>}
        </div>
      )}
      <p className="text-xs text-muted">
        {draft.kind === 'deploy'
          ? `Job params may use ${PLACEHOLDERS}: each run fills them in as plain text.`
          : 'Job params may use ${commit}; ${environment} and ${version} are for deploy definitions.'}
      </p>

      <fieldset className="space-y-3">
        <legend className="label">Stages, in order</legend>
        {errors.stages && <p id={`${inputId('stages')}-error`} className="text-xs text-bad" role="alert">{errors.stages}</p>}
        {draft.stages.map((stage, i) => (
          <StageEditor
            key={stage.id}
            index={i}
            stage={stage}
            errors={errors}
            onStage={(patch, reshaped) => {
              if (reshaped) setErrors({});
              setStage(i, patch);
            }}
            onJob={(j, patch) => setJob(i, j, patch)}
            onRemove={() => {
              setErrors({}); // messages are keyed by position: they no longer point at the right inputs
              set({ stages: draft.stages.filter((_, k) => k !== i) });
            }}
          />
        ))}
        <button
          type="button"
          className="btn btn-secondary"
          onClick={() => set({ stages: [...draft.stages, newStage(`stage-${draft.stages.length + 1}`)] })}
        >
          <Plus aria-hidden className="h-4 w-4" /> Add stage
        </button>
      </fieldset>

      <div className="flex justify-end gap-2">
        <button type="button" className="btn btn-secondary" onClick={onCancel} disabled={busy}>
          Cancel
        </button>
        <button type="submit" className="btn btn-primary" disabled={busy}>
          {busy ? <Spinner label="Saving" className="text-ink" /> : <Save aria-hidden className="h-4 w-4" />}
          {editing ? 'Save definition' : 'Create definition'}
        </button>
      </div>
    </form>
  );
}

function StageEditor({ index: i, stage, errors, onStage, onJob, onRemove }: {
  index: number;
  stage: StageDraft;
  errors: Record<string, string>;
  onStage: (patch: Partial<StageDraft>, reshaped?: boolean) => void;
  onJob: (j: number, patch: Partial<JobDraft>) => void;
  onRemove: () => void;
}) {
  const key = stageKey(i);
  const label = stage.name || `stage ${i + 1}`;
  return (
    <div className="rounded-lg border border-line p-3" data-testid="stage-editor">
      <div className="flex items-end gap-2">
        <div className="flex-1">
          <Field label={`Stage ${i + 1} name`} htmlFor={inputId(`${key}.name`)} error={errors[`${key}.name`] ?? errors[key]}>
            <input
              {...a11y(`${key}.name`, errors[`${key}.name`] ?? errors[key])}
              className="input font-mono"
              value={stage.name}
              autoComplete="off"
              spellCheck={false}
              onChange={(e) => onStage({ name: e.target.value })}
            />
          </Field>
        </div>
        <button type="button" className="btn btn-ghost mb-0.5 p-2" aria-label={`Remove stage ${label}`} onClick={onRemove}>
          <Trash2 aria-hidden className="h-4 w-4" />
        </button>
      </div>
      <div className="mt-3 space-y-3 border-l-2 border-line pl-3">
        {errors[`${key}.jobs`] && <p id={`${inputId(`${key}.jobs`)}-error`} className="text-xs text-bad">{errors[`${key}.jobs`]}</p>}
        {stage.jobs.map((job, j) => (
          <JobEditor
            key={job.id}
            stage={i}
            index={j}
            job={job}
            errors={errors}
            onChange={(patch) => onJob(j, patch)}
            onRemove={() => onStage({ jobs: stage.jobs.filter((_, m) => m !== j) }, true)}
          />
        ))}
        <button type="button" className="btn btn-ghost px-2 py-1 text-xs" onClick={() => onStage({ jobs: [...stage.jobs, newJob(`job-${stage.jobs.length + 1}`)] })}>
          <Plus aria-hidden className="h-3.5 w-3.5" /> Add job to {label}
        </button>
      </div>
    </div>
  );
}

function JobEditor({ stage: i, index: j, job, errors, onChange, onRemove }: {
  stage: number;
  index: number;
  job: JobDraft;
  errors: Record<string, string>;
  onChange: (patch: Partial<JobDraft>) => void;
  onRemove: () => void;
}) {
  const key = jobKey(i, j);
  const err = (f: string) => errors[`${key}.${f}`];
  const label = job.name || `job ${j + 1}`;
  return (
    <div className="space-y-2" data-testid="job-editor">
      {errors[key] && <p className="text-xs text-bad">{errors[key]}</p>}
      <div className="grid items-end gap-2 sm:grid-cols-[1fr_9rem_7rem_auto]">
        <Field label={`Job ${j + 1} name`} htmlFor={inputId(`${key}.name`)} error={err('name')}>
          <input
            {...a11y(`${key}.name`, err('name'))}
            className="input font-mono"
            value={job.name}
            autoComplete="off"
            spellCheck={false}
            onChange={(e) => onChange({ name: e.target.value })}
          />
        </Field>
        <Field label="Executor" htmlFor={inputId(`${key}.executor`)} error={err('executor')}>
          <select
            {...a11y(`${key}.executor`, err('executor'))}
            className="input"
            value={job.executor}
            onChange={(e) => onChange({ executor: e.target.value as JobDraft['executor'] })}
          >
            <option value="simulate">simulate</option>
            <option value="http">http</option>
          </select>
        </Field>
        <Field label="Timeout (s)" htmlFor={inputId(`${key}.timeoutS`)} error={err('timeoutS')}>
          <input
            {...a11y(`${key}.timeoutS`, err('timeoutS'))}
            className="input"
            inputMode="numeric"
            placeholder="3600"
            value={job.timeoutS}
            onChange={(e) => onChange({ timeoutS: e.target.value })}
          />
        </Field>
        <button type="button" className="btn btn-ghost mb-0.5 p-2" aria-label={`Remove job ${label}`} onClick={onRemove}>
          <Trash2 aria-hidden className="h-4 w-4" />
        </button>
      </div>
      <Field
        label={`Params of ${label} (JSON)`}
        htmlFor={inputId(`${key}.params`)}
        error={err('params')}
        hint={job.executor === 'http' ? 'url (required), statusUrl, hmacSecretRef' : 'durationMs, failRate (0–1), logLines'}
      >
        <textarea
          {...a11y(`${key}.params`, err('params'))}
          className="input min-h-16 font-mono text-xs"
          spellCheck={false}
          value={job.params}
          placeholder='{"durationMs": 2000, "logLines": 20}'
          onChange={(e) => onChange({ params: e.target.value })}
        />
      </Field>
      <div className="flex flex-wrap gap-4 text-xs text-muted">
        <label className="flex items-center gap-1.5">
          <input type="checkbox" className="accent-cyan" checked={job.allowFailure} onChange={(e) => onChange({ allowFailure: e.target.checked })} />
          May fail without failing the stage
        </label>
        <label className="flex items-center gap-1.5">
          <input type="checkbox" className="accent-cyan" checked={job.requiresApproval} onChange={(e) => onChange({ requiresApproval: e.target.checked })} />
          Waits for an approval
        </label>
      </div>
    </div>
  );
}
