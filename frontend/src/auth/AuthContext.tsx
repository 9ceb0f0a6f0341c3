// The session as React sees it: restored from the refresh cookie on load, updated on every refresh, and ended on
// sign-out or when the refresh cookie is refused (then every protected page redirects to the login page).

import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { Navigate, useLocation } from 'react-router-dom';

import { api, type ApiClient, type Session } from '../api/client';
import { LoadingState } from '../components/states';

type Status = 'loading' | 'signed-in' | 'signed-out';

interface AuthValue {
  status: Status;
  session: Session | null;
  /** Why there is no session any more: signed out, or ended (expired, revoked); the login page says which. */
  endReason: 'signed-out' | 'ended' | null;
  login: (email: string, password: string) => Promise<Session>;
  logout: () => Promise<void>;
}

const AuthContext = createContext<AuthValue | null>(null);

export function AuthProvider({ children, client = api }: { children: ReactNode; client?: ApiClient }) {
  const [session, setSession] = useState<Session | null>(client.getSession());
  const [status, setStatus] = useState<Status>(client.getSession() ? 'signed-in' : 'loading');
  const [endReason, setEndReason] = useState<AuthValue['endReason']>(null);
  const signingOut = useRef(false);

  useEffect(() => {
    const off = client.onSession((next) => {
      setSession(next);
      setStatus(next ? 'signed-in' : 'signed-out');
      if (next) setEndReason(null);
      else setEndReason(signingOut.current ? 'signed-out' : 'ended');
    });
    if (!client.getSession()) {
      client.restore().then(
        (ok) => {
          if (!ok) setStatus('signed-out');
        },
        () => setStatus('signed-out'),
      );
    }
    return () => {
      off();
    };
  }, [client]);

  const login = useCallback((email: string, password: string) => client.login(email, password), [client]);
  const logout = useCallback(async () => {
    signingOut.current = true;
    try {
      await client.logout();
    } finally {
      signingOut.current = false;
      setEndReason('signed-out');
      setStatus('signed-out');
    }
  }, [client]);

  const value = useMemo(() => ({ status, session, endReason, login, logout }), [status, session, endReason, login, logout]);
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): AuthValue {
  const value = useContext(AuthContext);
  if (!value) throw new Error('useAuth outside AuthProvider');
  return value;
}

/** The signed-in user's session (inside RequireAuth). */
export function useSession(): Session {
  const { session } = useAuth();
  if (!session) throw new Error('useSession outside a signed-in page');
  return session;
}

export function RequireAuth({ children }: { children: ReactNode }) {
  const { status } = useAuth();
  const location = useLocation();
  if (status === 'loading') {
    return (
      <div className="flex min-h-screen items-center justify-center">
        <LoadingState label="Restoring your session…" />
      </div>
    );
  }
  if (status === 'signed-out') {
    return <Navigate to="/login" replace state={{ from: `${location.pathname}${location.search}` }} />;
  }
  return <>{children}</>;
}
