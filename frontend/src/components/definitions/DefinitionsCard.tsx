// A project's pipeline definitions: everyone sees them (name, kind, stages, version); an admin creates, edits and
// deletes them (compare-and-set on the version the page read: a stale one says so and reloads the list).

import { Pencil, Plus, Trash2, Workflow } from 'lucide-react';
import { useState } from 'react';

import { deleteDefinition } from '../../api/endpoints';
import { ApiError, describeError } from '../../api/errors';
import type { Definition } from '../../api/types';
import { useSession } from '../../auth/AuthContext';
import { relativeTime } from '../../lib/format';
import { canAdmin } from '../../lib/roles';
import { KindBadge } from '../badges';
import { FormError, Modal } from '../Modal';
import { EmptyState, Spinner } from '../states';
import { DefinitionForm } from './DefinitionForm';

/** "build → test → package · 4 jobs" */
export function stagesSummary(definition: Definition): string {
  const jobs = definition.stages.reduce((n, s) => n + s.jobs.length, 0);
  return `${definition.stages.map((s) => s.name).join(' → ')} · ${jobs} job${jobs === 1 ? '' : 's'}`;
}

export function DefinitionsList({ project, definitions, onChanged }: {
  project: string;
  definitions: Definition[];
  onChanged: () => void;
}) {
  const session = useSession();
  const admin = canAdmin(session.role);
  const [editing, setEditing] = useState<Definition | 'new' | null>(null);
  const [deleting, setDeleting] = useState<Definition | null>(null);
  return (
    <>
      {admin && (
        <div className="mb-3 flex justify-end">
          <button type="button" className="btn btn-secondary" onClick={() => setEditing('new')}>
            <Plus aria-hidden className="h-4 w-4" /> New definition
          </button>
        </div>
      )}
      {definitions.length === 0 ? (
        <EmptyState title="No pipeline definitions" icon={<Workflow aria-hidden className="h-8 w-8" />}>
          {admin ? 'Create one to run it from Run pipeline.' : 'An admin can create them.'}
        </EmptyState>
      ) : (
        <ul className="divide-y divide-line/60" data-testid="definitions">
          {definitions.map((d) => (
            <li key={d.name} className="flex flex-wrap items-center gap-3 py-2.5" data-testid="definition-row" data-name={d.name}>
              <div className="min-w-0 flex-1">
                <p className="flex flex-wrap items-center gap-2">
                  <span className="font-mono text-sm font-semibold text-white">{d.name}</span>
                  <KindBadge kind={d.kind} />
                  {d.allowUnreleased && <span className="text-[11px] text-warn">unreleased versions allowed</span>}
                </p>
                {d.description && <p className="truncate text-xs text-muted">{d.description}</p>}
                <p className="truncate font-mono text-xs text-muted">{stagesSummary(d)}</p>
              </div>
              <p className="text-xs text-muted" title={d.updatedAt ?? undefined}>
                v{d.version} · {relativeTime(d.updatedAt)}
              </p>
              {admin && (
                <div className="flex gap-1">
                  <button type="button" className="btn btn-ghost p-2" aria-label={`Edit ${d.name}`} onClick={() => setEditing(d)}>
                    <Pencil aria-hidden className="h-4 w-4" />
                  </button>
                  <button type="button" className="btn btn-ghost p-2 hover:text-bad" aria-label={`Delete ${d.name}`} onClick={() => setDeleting(d)}>
                    <Trash2 aria-hidden className="h-4 w-4" />
                  </button>
                </div>
              )}
            </li>
          ))}
        </ul>
      )}
      <Modal
        title={editing === 'new' ? 'New pipeline definition' : `Edit ${editing?.name ?? ''}`}
        open={editing !== null}
        onClose={() => setEditing(null)}
        wide
      >
        {editing !== null && (
          <DefinitionForm
            project={project}
            definition={editing === 'new' ? undefined : editing}
            onCancel={() => setEditing(null)}
            onStale={onChanged}
            onSaved={() => {
              setEditing(null);
              onChanged();
            }}
          />
        )}
      </Modal>
      <Modal title={`Delete ${deleting?.name ?? ''}`} open={deleting !== null} onClose={() => setDeleting(null)}>
        {deleting && (
          <DeleteDefinition
            project={project}
            definition={deleting}
            onCancel={() => setDeleting(null)}
            onDeleted={() => {
              setDeleting(null);
              onChanged();
            }}
            onStale={onChanged}
          />
        )}
      </Modal>
    </>
  );
}

function DeleteDefinition({ project, definition, onCancel, onDeleted, onStale }: {
  project: string;
  definition: Definition;
  onCancel: () => void;
  onDeleted: () => void;
  onStale: () => void;
}) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const remove = async () => {
    setError(null);
    setBusy(true);
    try {
      await deleteDefinition(project, definition.name, definition.version);
      onDeleted();
    } catch (err) {
      const stale = err instanceof ApiError && err.kind === 'conflict';
      setError(stale ? `${describeError(err)} The list has been reloaded: check it and try again.` : describeError(err));
      if (stale) onStale();
      setBusy(false);
    }
  };
  return (
    <div className="space-y-4">
      <FormError error={error} />
      <p className="text-sm text-white">
        Delete the definition <span className="font-mono">{definition.name}</span> (version {definition.version})? Runs
        made from it stay as they are.
      </p>
      {definition.name === 'deploy' && (
        <p className="rounded-lg border border-warn/40 bg-warn/10 px-3 py-2 text-sm text-warn">
          Rollbacks run the definition named deploy: without it, this project's environments cannot be rolled back.
        </p>
      )}
      <div className="flex justify-end gap-2">
        <button type="button" className="btn btn-secondary" onClick={onCancel} disabled={busy}>
          Cancel
        </button>
        <button type="button" className="btn btn-danger" onClick={() => void remove()} disabled={busy}>
          {busy ? <Spinner label="Deleting" /> : <Trash2 aria-hidden className="h-4 w-4" />} Delete {definition.name}
        </button>
      </div>
    </div>
  );
}
