// Create a project (slug, name, description, tags, a repository, environments) or edit one (name, description,
// tags; environments are added with PUT). Admin only; the gateway's messages name the field at fault.

import { Plus, Trash2 } from 'lucide-react';
import { useState, type FormEvent } from 'react';

import { describeError } from '../api/errors';
import { createProject, putEnvironment, updateProject } from '../api/endpoints';
import type { EnvironmentInput, Project, Tier } from '../api/types';
import { Field, FormError } from './Modal';
import { Spinner } from './states';

const TIERS: Tier[] = ['development', 'staging', 'production'];
const SLUG = /^[a-z0-9][a-z0-9-]{1,62}$/;

function tags(text: string): string[] {
  return text
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
}

export function ProjectForm({ project, onSaved }: { project?: Project; onSaved: (p: Project) => void }) {
  const editing = Boolean(project);
  const [slug, setSlug] = useState(project?.slug ?? '');
  const [name, setName] = useState(project?.name ?? '');
  const [description, setDescription] = useState(project?.description ?? '');
  const [tagText, setTagText] = useState(project?.tags.join(', ') ?? '');
  const [repo, setRepo] = useState('');
  const [envs, setEnvs] = useState<EnvironmentInput[]>(
    editing ? [] : [
      { name: 'staging', tier: 'staging', protected: false },
      { name: 'production', tier: 'production', protected: true },
    ],
  );
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const slugError = slug && !SLUG.test(slug) ? 'Lowercase letters, digits and dashes; 2 to 63 characters.' : null;
  const existing = new Set(project?.environments.map((e) => e.name));

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    if (!editing && (!slug || slugError)) return setError(slugError ?? 'The slug is required.');
    if (!name.trim()) return setError('The name is required.');
    const badEnv = envs.find((env) => !SLUG.test(env.name) || existing.has(env.name));
    if (badEnv) return setError(`Environment "${badEnv.name}": a new, lowercase name of 2 to 63 characters.`);
    setBusy(true);
    try {
      let saved: Project;
      if (project) {
        saved = await updateProject(project.slug, {
          expectedVersion: project.version,
          name: name.trim(),
          description,
          tags: tags(tagText),
        });
        for (const env of envs) await putEnvironment(project.slug, env);
      } else {
        saved = await createProject({
          slug,
          name: name.trim(),
          description,
          tags: tags(tagText),
          repositories: repo.trim() ? [{ url: repo.trim() }] : [],
          environments: envs,
        });
      }
      onSaved(saved);
    } catch (err) {
      setError(describeError(err));
      setBusy(false);
    }
  };

  const setEnv = (i: number, patch: Partial<EnvironmentInput>) =>
    setEnvs((list) => list.map((env, j) => (j === i ? { ...env, ...patch } : env)));

  return (
    <form onSubmit={submit} className="space-y-4" noValidate>
      <FormError error={error} />
      <div className="grid gap-4 sm:grid-cols-2">
        <Field label="Slug" htmlFor="project-slug" error={slugError} hint="Used in URLs; cannot change later.">
          <input
            id="project-slug"
            className="input font-mono"
            value={slug}
            onChange={(e) => setSlug(e.target.value)}
            disabled={editing}
            placeholder="api"
            aria-invalid={slugError ? true : undefined}
            required
          />
        </Field>
        <Field label="Name" htmlFor="project-name">
          <input id="project-name" className="input" value={name} onChange={(e) => setName(e.target.value)} placeholder="Public API" required />
        </Field>
      </div>
      <Field label="Description" htmlFor="project-description">
        <textarea id="project-description" className="input min-h-20" value={description} onChange={(e) => setDescription(e.target.value)} />
      </Field>
      <Field label="Tags" htmlFor="project-tags" hint="Comma-separated.">
        <input id="project-tags" className="input" value={tagText} onChange={(e) => setTagText(e.target.value)} placeholder="backend, rust" />
      </Field>
      {!editing && (
        <Field label="Repository URL" htmlFor="project-repo" hint="Optional: https://… or git@host:owner/name.git">
          <input id="project-repo" className="input font-mono" value={repo} onChange={(e) => setRepo(e.target.value)} placeholder="https://github.com/acme/api" />
        </Field>
      )}
      <fieldset>
        <legend className="label">{editing ? 'Add environments' : 'Environments'}</legend>
        <ul className="space-y-2">
          {envs.map((env, i) => (
            <li key={i} className="grid grid-cols-[1fr_auto] items-center gap-2 sm:grid-cols-[1fr_9rem_auto_auto]">
              <input
                aria-label={`Environment ${i + 1} name`}
                className="input font-mono"
                value={env.name}
                onChange={(e) => setEnv(i, { name: e.target.value })}
              />
              <select
                aria-label={`Environment ${i + 1} tier`}
                className="input"
                value={env.tier}
                onChange={(e) => setEnv(i, { tier: e.target.value as Tier })}
              >
                {TIERS.map((t) => (
                  <option key={t} value={t}>
                    {t}
                  </option>
                ))}
              </select>
              <label className="flex items-center gap-2 text-sm text-muted">
                <input
                  type="checkbox"
                  className="h-4 w-4 accent-cyan"
                  checked={env.protected ?? false}
                  onChange={(e) => setEnv(i, { protected: e.target.checked })}
                />
                Protected
              </label>
              <button
                type="button"
                className="btn btn-ghost p-2"
                aria-label={`Remove environment ${env.name || i + 1}`}
                onClick={() => setEnvs((list) => list.filter((_, j) => j !== i))}
              >
                <Trash2 aria-hidden className="h-4 w-4" />
              </button>
            </li>
          ))}
        </ul>
        <button
          type="button"
          className="btn btn-ghost mt-2 px-2"
          onClick={() => setEnvs((list) => [...list, { name: '', tier: 'development', protected: false }])}
        >
          <Plus aria-hidden className="h-4 w-4" /> Add environment
        </button>
      </fieldset>
      <div className="flex justify-end gap-2 pt-2">
        <button type="submit" className="btn btn-primary" disabled={busy}>
          {busy && <Spinner label="Saving" className="text-ink" />}
          {editing ? 'Save changes' : 'Create project'}
        </button>
      </div>
    </form>
  );
}
