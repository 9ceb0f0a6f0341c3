// Users (admin): create, change role, disable / enable. You cannot demote or disable yourself (the service says so).

import { Plus, ShieldAlert, UserCheck, UserX } from 'lucide-react';
import { useState } from 'react';

import { describeError } from '../api/errors';
import { createUser, listUsers, updateUser } from '../api/endpoints';
import type { Role, User } from '../api/types';
import { useSession } from '../auth/AuthContext';
import { Field, Modal } from '../components/Modal';
import { ModalForm } from '../components/ModalForm';
import { EmptyState, ErrorState, LoadingState, PageHeader, Spinner } from '../components/states';
import { relativeTime } from '../lib/format';
import { canAdmin } from '../lib/roles';
import { useResource } from '../lib/useResource';

const ROLES: Role[] = ['viewer', 'operator', 'admin'];

export default function AdminUsers() {
  const session = useSession();
  const users = useResource((signal) => listUsers(undefined, signal), []);
  const [creating, setCreating] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);

  if (!canAdmin(session.role)) {
    return (
      <EmptyState title="Admins only" icon={<ShieldAlert aria-hidden className="h-8 w-8 text-warn" />}>
        Managing users needs the admin role.
      </EmptyState>
    );
  }

  const change = async (user: User, patch: { role?: Role; disabled?: boolean }) => {
    setError(null);
    setBusy(user.id);
    try {
      const updated = await updateUser(user.id, patch);
      users.setData((page) => page && { ...page, items: page.items.map((u) => (u.id === updated.id ? updated : u)) });
    } catch (e) {
      setError(describeError(e));
    } finally {
      setBusy(null);
    }
  };

  return (
    <>
      <PageHeader
        title="Users"
        subtitle="Who may sign in, and with which role."
        actions={
          <button type="button" className="btn btn-primary" onClick={() => setCreating(true)}>
            <Plus aria-hidden className="h-4 w-4" /> New user
          </button>
        }
      />
      {error && <p role="alert" className="mb-4 rounded-lg border border-bad/40 bg-bad/10 px-3 py-2 text-sm text-bad">{error}</p>}
      <section className="card overflow-x-auto">
        {users.error ? (
          <ErrorState error={users.error} onRetry={users.reload} />
        ) : !users.data ? (
          <LoadingState label="Loading users…" />
        ) : users.data.items.length === 0 ? (
          <EmptyState title="No users" />
        ) : (
          <table className="w-full min-w-[40rem] text-left text-sm">
            <caption className="sr-only">Users</caption>
            <thead className="border-b border-line text-xs text-muted uppercase">
              <tr>
                <th scope="col" className="px-4 py-3 font-medium">Name</th>
                <th scope="col" className="px-4 py-3 font-medium">Role</th>
                <th scope="col" className="px-4 py-3 font-medium">Last sign-in</th>
                <th scope="col" className="px-4 py-3 font-medium">Status</th>
                <th scope="col" className="px-4 py-3 font-medium"><span className="sr-only">Actions</span></th>
              </tr>
            </thead>
            <tbody className="divide-y divide-line/60">
              {users.data.items.map((u) => {
                const self = u.id === session.userId;
                return (
                  <tr key={u.id} data-testid="user-row">
                    <td className="px-4 py-3">
                      <p className="font-medium text-white">{u.name}{self && <span className="ml-2 text-xs text-cyan">(you)</span>}</p>
                      <p className="text-xs text-muted">{u.email}</p>
                    </td>
                    <td className="px-4 py-3">
                      <select
                        aria-label={`Role of ${u.name}`}
                        className="input w-32 py-1"
                        value={u.role ?? 'viewer'}
                        disabled={self || busy === u.id}
                        onChange={(e) => void change(u, { role: e.target.value as Role })}
                      >
                        {ROLES.map((r) => <option key={r} value={r}>{r}</option>)}
                      </select>
                    </td>
                    <td className="px-4 py-3 text-muted">{u.lastLoginAt ? relativeTime(u.lastLoginAt) : 'never'}</td>
                    <td className="px-4 py-3">
                      {u.disabled ? <span className="text-bad">Disabled</span> : <span className="text-ok">Active</span>}
                    </td>
                    <td className="px-4 py-3 text-right">
                      {!self && (
                        <button
                          type="button"
                          className={u.disabled ? 'btn btn-secondary px-2.5 py-1.5 text-xs' : 'btn btn-danger px-2.5 py-1.5 text-xs'}
                          disabled={busy === u.id}
                          onClick={() => void change(u, { disabled: !u.disabled })}
                        >
                          {busy === u.id ? <Spinner /> : u.disabled ? <UserCheck aria-hidden className="h-3.5 w-3.5" /> : <UserX aria-hidden className="h-3.5 w-3.5" />}
                          {u.disabled ? `Enable ${u.name}` : `Disable ${u.name}`}
                        </button>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
      </section>
      <Modal title="New user" open={creating} onClose={() => setCreating(false)}>
        <UserForm
          onCreated={(u) => {
            users.setData((page) => page && { ...page, items: [...page.items, u] });
            setCreating(false);
          }}
        />
      </Modal>
    </>
  );
}

function UserForm({ onCreated }: { onCreated: (u: User) => void }) {
  const [email, setEmail] = useState('');
  const [name, setName] = useState('');
  const [role, setRole] = useState<Role>('viewer');
  const [password, setPassword] = useState('');
  return (
    <ModalForm
      check={() => (email.trim() && name.trim() && password ? null : 'Email, name and password are required.')}
      send={async () => onCreated(await createUser({ email: email.trim(), name: name.trim(), role, password }))}
      button={(busy) => (
        <button type="submit" className="btn btn-primary" disabled={busy}>
          {busy && <Spinner className="text-ink" />} Create user
        </button>
      )}
    >
      <div className="grid gap-4 sm:grid-cols-2">
        <Field label="Name" htmlFor="user-name">
          <input id="user-name" className="input" value={name} onChange={(e) => setName(e.target.value)} autoComplete="off" />
        </Field>
        <Field label="Email" htmlFor="user-email">
          <input id="user-email" type="email" className="input" value={email} onChange={(e) => setEmail(e.target.value)} autoComplete="off" />
        </Field>
        <Field label="Role" htmlFor="user-role">
          <select id="user-role" className="input" value={role} onChange={(e) => setRole(e.target.value as Role)}>
            {ROLES.map((r) => <option key={r} value={r}>{r}</option>)}
          </select>
        </Field>
        <Field label="Initial password" htmlFor="user-password" hint="At least 12 characters; share it safely.">
          <input id="user-password" type="password" className="input" value={password} onChange={(e) => setPassword(e.target.value)} autoComplete="new-password" />
        </Field>
      </div>
    </ModalForm>
  );
}
