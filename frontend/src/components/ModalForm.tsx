// The form of a "create" or "say why" dialog: it checks its fields, sends, and shows what was refused.

import { useState, type FormEvent, type ReactNode } from 'react';

import { describeError } from '../api/errors';
import { FormError } from './Modal';

/**
 * Submitting runs `check` (what is wrong with the fields, or null), then `send` with the submit button disabled.
 * A refused send shows why and gives the button back; a successful one keeps it disabled while the dialog closes.
 * `button` draws the submit button, given whether a send is running.
 */
export function ModalForm({ check, send, button, children }: {
  check: () => string | null;
  send: () => Promise<void>;
  button: (busy: boolean) => ReactNode;
  children: ReactNode;
}) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const problem = check();
    setError(problem);
    if (problem) return;
    setBusy(true);
    try {
      await send();
    } catch (err) {
      setError(describeError(err));
      setBusy(false);
    }
  };
  return (
    <form onSubmit={submit} className="space-y-4" noValidate>
      <FormError error={error} />
      {children}
      <div className="flex justify-end">{button(busy)}</div>
    </form>
  );
}
