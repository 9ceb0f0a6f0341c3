// The shell of every signed-in page: a sidebar on wide screens, a top bar with a menu drawer on narrow ones, the live
// connection's state, the user and sign-out, and the chat dock (Ctrl+/ from any page).

import {
  Activity,
  FolderKanban,
  KeyRound,
  LayoutDashboard,
  LogOut,
  Menu,
  MessageSquare,
  ScrollText,
  Users,
  Workflow,
  X,
} from 'lucide-react';
import { Suspense, useEffect, useState, type ReactNode } from 'react';
import { NavLink, Outlet, useLocation, useNavigate } from 'react-router-dom';

import { useAuth, useSession } from '../auth/AuthContext';
import { ChatDock } from '../chat/ChatDock';
import { canAdmin } from '../lib/roles';
import { useLiveStatus } from '../live/live';
import { LoadingState } from './states';

interface Item {
  to: string;
  label: string;
  icon: typeof Activity;
  end?: boolean;
  admin?: boolean;
}

const NAV: Item[] = [
  { to: '/', label: 'Overview', icon: LayoutDashboard, end: true },
  { to: '/projects', label: 'Projects', icon: FolderKanban },
  { to: '/pipelines', label: 'Pipelines', icon: Workflow },
  { to: '/chat', label: 'Chat', icon: MessageSquare },
  { to: '/admin/users', label: 'Users', icon: Users, admin: true },
  { to: '/admin/tokens', label: 'API tokens', icon: KeyRound },
  { to: '/admin/audit', label: 'Audit', icon: ScrollText, admin: true },
];

export function Logo() {
  return (
    <span className="flex items-center gap-2.5 font-semibold tracking-tight text-white">
      <svg viewBox="0 0 32 32" className="h-7 w-7" aria-hidden>
        <rect width="32" height="32" rx="7" fill="#1E2538" />
        <path d="M7 20l6-6 4 4 8-8" fill="none" stroke="#00D9FF" strokeWidth="3" strokeLinecap="round" strokeLinejoin="round" />
        <circle cx="25" cy="10" r="2.5" fill="#00FF88" />
      </svg>
      DevOps<span className="-ml-2.5 text-cyan">Track</span>
    </span>
  );
}

function LiveIndicator() {
  const status = useLiveStatus();
  const [label, tone] =
    status === 'live'
      ? ['Live', 'bg-ok']
      : status === 'reconnecting'
        ? ['Reconnecting…', 'bg-warn animate-pulse']
        : status === 'connecting'
          ? ['Connecting…', 'bg-cyan animate-pulse']
          : ['Idle', 'bg-muted'];
  return (
    <span className="flex items-center gap-2 text-xs text-muted" role="status" aria-live="polite" data-live={status}>
      <span aria-hidden className={`h-2 w-2 rounded-full ${tone}`} />
      {label}
    </span>
  );
}

function NavItems({ onNavigate }: { onNavigate?: () => void }) {
  const session = useSession();
  return (
    <ul className="space-y-1">
      {NAV.filter((item) => !item.admin || canAdmin(session.role)).map(({ to, label, icon: Icon, end }) => (
        <li key={to}>
          <NavLink
            to={to}
            end={end}
            onClick={onNavigate}
            className={({ isActive }) =>
              `flex items-center gap-3 rounded-lg px-3 py-2 text-sm font-medium transition-colors ${
                isActive ? 'bg-cyan/10 text-cyan' : 'text-muted hover:bg-surface-2 hover:text-white'
              }`
            }
          >
            <Icon aria-hidden className="h-4 w-4" />
            {label}
          </NavLink>
        </li>
      ))}
    </ul>
  );
}

function UserBox() {
  const session = useSession();
  const { logout } = useAuth();
  const navigate = useNavigate();
  const [busy, setBusy] = useState(false);
  return (
    <div className="flex items-center gap-3 border-t border-line pt-4">
      <div
        aria-hidden
        className="flex h-9 w-9 shrink-0 items-center justify-center rounded-full bg-cyan/15 text-sm font-semibold text-cyan"
      >
        {session.name.slice(0, 1).toUpperCase() || '?'}
      </div>
      <div className="min-w-0 flex-1">
        <p className="truncate text-sm font-medium text-white" data-testid="user-name">
          {session.name}
        </p>
        <p className="text-xs text-muted capitalize">{session.role}</p>
      </div>
      <button
        type="button"
        className="btn btn-ghost p-2"
        aria-label="Sign out"
        title="Sign out"
        disabled={busy}
        onClick={() => {
          setBusy(true);
          logout()
            .catch(() => undefined)
            .finally(() => navigate('/login', { replace: true }));
        }}
      >
        <LogOut aria-hidden className="h-4 w-4" />
      </button>
    </div>
  );
}

export function Layout({ children }: { children?: ReactNode }) {
  const [open, setOpen] = useState(false);
  const location = useLocation();
  useEffect(() => setOpen(false), [location.pathname]);
  return (
    <div className="min-h-screen bg-ink">
      <a href="#main" className="sr-only focus:not-sr-only focus:fixed focus:top-2 focus:left-2 focus:z-50 btn btn-primary">
        Skip to content
      </a>
      {/* Sidebar (wide screens) */}
      <aside className="fixed inset-y-0 left-0 z-30 hidden w-60 flex-col border-r border-line bg-ink px-4 py-5 lg:flex">
        <div className="mb-8 px-2">
          <Logo />
        </div>
        <nav aria-label="Main" className="flex-1">
          <NavItems />
        </nav>
        <div className="mb-4 px-2">
          <LiveIndicator />
        </div>
        <UserBox />
      </aside>
      {/* Top bar (narrow screens) */}
      <header className="sticky top-0 z-30 flex items-center justify-between border-b border-line bg-ink/95 px-4 py-3 backdrop-blur lg:hidden">
        <Logo />
        <div className="flex items-center gap-3">
          <LiveIndicator />
          <button
            type="button"
            className="btn btn-ghost p-2"
            aria-label={open ? 'Close menu' : 'Open menu'}
            aria-expanded={open}
            aria-controls="mobile-nav"
            onClick={() => setOpen((o) => !o)}
          >
            {open ? <X aria-hidden className="h-5 w-5" /> : <Menu aria-hidden className="h-5 w-5" />}
          </button>
        </div>
      </header>
      {open && (
        <div id="mobile-nav" className="fixed inset-x-0 top-[57px] bottom-0 z-20 flex flex-col bg-ink px-4 py-4 lg:hidden">
          <nav aria-label="Main" className="flex-1">
            <NavItems onNavigate={() => setOpen(false)} />
          </nav>
          <UserBox />
        </div>
      )}
      <main id="main" tabIndex={-1} className="px-4 py-6 focus:outline-none sm:px-6 lg:ml-60 lg:px-8 lg:py-8">
        <div className="mx-auto max-w-7xl">
          <Suspense fallback={<LoadingState />}>{children ?? <Outlet />}</Suspense>
        </div>
      </main>
      <ChatDock />
    </div>
  );
}
