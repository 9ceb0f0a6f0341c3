// The sign-in page: errors in plain words (wrong credentials, lockout with how long, server down).

import { LogIn } from 'lucide-react';
import { useState, type FormEvent } from 'react';
import { Navigate, useLocation, useNavigate } from 'react-router-dom';

import { describeError } from '../api/errors';
import { useAuth } from '../auth/AuthContext';
import { Logo } from '../components/Layout';
import { Field, FormError } from '../components/Modal';
import { Spinner } from '../components/states';

interface LoginState {
  from?: string;
}

export default function Login() {
  const { status, login, endReason } = useAuth();
  const navigate = useNavigate();
  const location = useLocation();
  const state = (location.state ?? {}) as LoginState;
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  if (status === 'signed-in' && !busy) return <Navigate to={state.from ?? '/'} replace />;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    if (!email.trim() || !password) {
      setError('Enter your email and password.');
      return;
    }
    setBusy(true);
    try {
      await login(email.trim(), password);
      navigate(state.from && state.from !== '/login' ? state.from : '/', { replace: true });
    } catch (err) {
      setError(describeError(err));
      setBusy(false);
    }
  };

  const notice =
    endReason === 'signed-out'
      ? 'You have signed out.'
      : endReason === 'ended'
        ? 'Your session has ended. Sign in again to continue.'
        : null;

  return (
    <div className="flex min-h-screen items-center justify-center bg-ink px-4">
      <div className="w-full max-w-sm">
        <div className="mb-8 flex justify-center">
          <Logo />
        </div>
        <form onSubmit={submit} className="card space-y-5 p-6" noValidate aria-labelledby="login-title">
          <div>
            <h1 id="login-title" className="text-xl font-semibold text-white">
              Sign in
            </h1>
            <p className="mt-1 text-sm text-muted">Pipelines, deployments and DORA metrics, live.</p>
          </div>
          {notice && (
            <p role="status" className="rounded-lg border border-cyan/30 bg-cyan/5 px-3 py-2 text-sm text-cyan">
              {notice}
            </p>
          )}
          <FormError error={error} />
          <Field label="Email" htmlFor="email">
            <input
              id="email"
              name="email"
              type="email"
              autoComplete="username"
              className="input"
              value={email}
              onChange={(e) => setEmail(e.target.value)}
              aria-invalid={error ? true : undefined}
              autoFocus
              required
            />
          </Field>
          <Field label="Password" htmlFor="password">
            <input
              id="password"
              name="password"
              type="password"
              autoComplete="current-password"
              className="input"
              value={password}
              onChange={(e) => setPassword(e.target.value)}
              aria-invalid={error ? true : undefined}
              required
            />
          </Field>
          <button type="submit" className="btn btn-primary w-full" disabled={busy}>
            {busy ? <Spinner label="Signing in" className="text-ink" /> : <LogIn aria-hidden className="h-4 w-4" />}
            Sign in
          </button>
        </form>
        <p className="mt-6 text-center text-xs text-muted">
          First start? The admin password was printed once by <code className="font-mono">devopstrack up</code>.
        </p>
      </div>
    </div>
  );
}
