// API tokens for CI systems and scripts: create (the secret is shown once), revoke. Admins see everyone's.

import { Check, Copy, KeyRound, Plus, Trash2 } from 'lucide-react';
import { useState } from 'react';

import { describeError } from '../api/errors';
import { createToken, listTokens, revokeToken } from '../api/endpoints';
import type { ApiToken, Role } from '../api/types';
import { useSession } from '../auth/AuthContext';
import { Field, Modal } from '../components/Modal';
import { ModalForm } from '../components/ModalForm';
import { EmptyState, ErrorState, LoadingState, PageHeader, Spinner } from '../components/states';
import { relativeTime } from '../lib/format';
import { atLeast, canAdmin } from '../lib/roles';
import { useResource } from '../lib/useResource';

const ROLES: Role[] = ['viewer', 'operator', 'admin'];

export default function AdminTokens() {
  const session = useSession();
  const admin = canAdmin(session.role);
  const tokens = useResource((signal) => listTokens(admin, undefined, signal), [admin]);
  const [creating, setCreating] = useState(false);
  const [secret, setSecret] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [revoking, setRevoking] = useState<ApiToken | null>(null);

  return (
    <>
      <PageHeader
        title="API tokens"
        subtitle={admin ? 'Tokens of every user, for CI systems and scripts.' : 'Your tokens, for CI systems and scripts.'}
        actions={
          <button type="button" className="btn btn-primary" onClick={() => { setSecret(null); setCreating(true); }}>
            <Plus aria-hidden className="h-4 w-4" /> New token
          </button>
        }
      />
      {error && <p role="alert" className="mb-4 rounded-lg border border-bad/40 bg-bad/10 px-3 py-2 text-sm text-bad">{error}</p>}
      <section className="card overflow-x-auto">
        {tokens.error ? (
          <ErrorState error={tokens.error} onRetry={tokens.reload} />
        ) : !tokens.data ? (
          <LoadingState label="Loading tokens…" />
        ) : tokens.data.items.length === 0 ? (
          <EmptyState title="No API tokens" icon={<KeyRound aria-hidden className="h-8 w-8" />}>
            A token lets a CI job call the API with a role no higher than yours.
          </EmptyState>
        ) : (
          <table className="w-full min-w-[40rem] text-left text-sm">
            <caption className="sr-only">API tokens</caption>
            <thead className="border-b border-line text-xs text-muted uppercase">
              <tr>
                <th scope="col" className="px-4 py-3 font-medium">Name</th>
                <th scope="col" className="px-4 py-3 font-medium">Role</th>
                <th scope="col" className="px-4 py-3 font-medium">Last used</th>
                <th scope="col" className="px-4 py-3 font-medium">Expires</th>
                <th scope="col" className="px-4 py-3 font-medium"><span className="sr-only">Actions</span></th>
              </tr>
            </thead>
            <tbody className="divide-y divide-line/60">
              {tokens.data.items.map((t) => (
                <tr key={t.id} data-testid="token-row" className={t.revokedAt ? 'opacity-60' : ''}>
                  <td className="px-4 py-3">
                    <p className="font-medium text-white">{t.name}</p>
                    <p className="font-mono text-xs text-muted">{t.prefix}…</p>
                  </td>
                  <td className="px-4 py-3 capitalize">{t.role ?? '—'}</td>
                  <td className="px-4 py-3 text-muted">{t.lastUsedAt ? relativeTime(t.lastUsedAt) : 'never'}</td>
                  <td className="px-4 py-3 text-muted">{t.expiresAt ? relativeTime(t.expiresAt) : 'never'}</td>
                  <td className="px-4 py-3 text-right">
                    {t.revokedAt ? (
                      <span className="text-xs text-muted">revoked {relativeTime(t.revokedAt)}</span>
                    ) : (
                      <button type="button" className="btn btn-danger px-2.5 py-1.5 text-xs" onClick={() => setRevoking(t)}>
                        <Trash2 aria-hidden className="h-3.5 w-3.5" /> Revoke {t.name}
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>

      <Modal title={secret ? 'Token created' : 'New API token'} open={creating} onClose={() => { setCreating(false); setSecret(null); }}>
        {secret ? (
          <SecretOnce secret={secret} />
        ) : (
          <TokenForm
            maxRole={session.role}
            onCreated={(s) => {
              setSecret(s);
              tokens.reload();
            }}
          />
        )}
      </Modal>
      <Modal title="Revoke token" open={revoking !== null} onClose={() => setRevoking(null)}>
        {revoking && (
          <div className="space-y-4">
            <p className="text-sm text-muted">
              Anything using <span className="font-mono text-white">{revoking.prefix}…</span> ({revoking.name}) stops working at once.
            </p>
            <div className="flex justify-end gap-2">
              <button type="button" className="btn btn-secondary" onClick={() => setRevoking(null)}>Keep it</button>
              <button
                type="button"
                className="btn btn-danger"
                onClick={() => {
                  const t = revoking;
                  setRevoking(null);
                  setError(null);
                  revokeToken(t.id).then(tokens.reload, (e: unknown) => setError(describeError(e)));
                }}
              >
                Revoke
              </button>
            </div>
          </div>
        )}
      </Modal>
    </>
  );
}

function SecretOnce({ secret }: { secret: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <div className="space-y-3">
      <p className="rounded-lg border border-warn/40 bg-warn/10 px-3 py-2 text-sm text-warn">
        Copy this secret now: it is shown this once and cannot be recovered.
      </p>
      <div className="flex items-center gap-2">
        <code data-testid="token-secret" className="flex-1 overflow-x-auto rounded-lg border border-line bg-ink px-3 py-2 font-mono text-sm text-ok">
          {secret}
        </code>
        <button
          type="button"
          className="btn btn-secondary"
          onClick={() => navigator.clipboard?.writeText(secret).then(() => setCopied(true), () => undefined)}
        >
          {copied ? <Check aria-hidden className="h-4 w-4 text-ok" /> : <Copy aria-hidden className="h-4 w-4" />}
          {copied ? 'Copied' : 'Copy'}
        </button>
      </div>
      <p className="text-xs text-muted">Exchange it for an access token with <code className="font-mono">POST /api/v1/auth/token</code>.</p>
    </div>
  );
}

function TokenForm({ maxRole, onCreated }: { maxRole: Role; onCreated: (secret: string) => void }) {
  const [name, setName] = useState('');
  const [role, setRole] = useState<Role>(maxRole === 'admin' ? 'operator' : maxRole);
  const [days, setDays] = useState('90');
  const expiresInDays = Number(days);
  const check = () => {
    if (!name.trim()) return 'Name the token after what will use it.';
    if (!Number.isInteger(expiresInDays) || expiresInDays < 0) return 'Expiry: a whole number of days (0: never).';
    return null;
  };
  const send = async () => {
    const created = await createToken({ name: name.trim(), role, expiresInDays });
    onCreated(created.secret);
  };
  return (
    <ModalForm
      check={check}
      send={send}
      button={(busy) => (
        <button type="submit" className="btn btn-primary" disabled={busy}>
          {busy && <Spinner className="text-ink" />} Create token
        </button>
      )}
    >
      <Field label="Name" htmlFor="token-name">
        <input id="token-name" className="input" value={name} onChange={(e) => setName(e.target.value)} placeholder="github-actions" />
      </Field>
      <div className="grid gap-4 sm:grid-cols-2">
        <Field label="Role" htmlFor="token-role" hint="At most your own.">
          <select id="token-role" className="input" value={role} onChange={(e) => setRole(e.target.value as Role)}>
            {ROLES.filter((r) => atLeast(maxRole, r)).map((r) => <option key={r} value={r}>{r}</option>)}
          </select>
        </Field>
        <Field label="Expires in (days)" htmlFor="token-days" hint="0: never.">
          <input id="token-days" type="number" min={0} className="input" value={days} onChange={(e) => setDays(e.target.value)} />
        </Field>
      </div>
    </ModalForm>
  );
}
