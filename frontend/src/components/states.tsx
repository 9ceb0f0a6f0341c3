// Loading, empty and error states, and the page header: every page uses these so they look and read alike.

import { AlertTriangle, Inbox, Loader2, RefreshCw } from 'lucide-react';
import type { ReactNode } from 'react';

import { ApiError, describeError } from '../api/errors';

export function Spinner({ label = 'Loading', className = '' }: { label?: string; className?: string }) {
  return (
    <Loader2 aria-label={label} role="status" className={`h-4 w-4 animate-spin text-cyan ${className}`} />
  );
}

export function LoadingState({ label = 'Loading…' }: { label?: string }) {
  return (
    <div className="flex items-center justify-center gap-3 py-12 text-sm text-muted" role="status" aria-live="polite">
      <Loader2 aria-hidden className="h-5 w-5 animate-spin text-cyan" />
      {label}
    </div>
  );
}

/** A block of grey bars while a card's content loads. */
export function Skeleton({ lines = 3 }: { lines?: number }) {
  return (
    <div className="animate-pulse space-y-3" aria-hidden>
      {Array.from({ length: lines }, (_, i) => (
        <div key={i} className="h-3 rounded bg-surface-2" style={{ width: `${90 - i * 15}%` }} />
      ))}
    </div>
  );
}

export function EmptyState({ title, children, icon }: { title: string; children?: ReactNode; icon?: ReactNode }) {
  return (
    <div className="flex flex-col items-center justify-center gap-2 px-4 py-12 text-center">
      <div className="mb-1 text-muted">{icon ?? <Inbox aria-hidden className="h-8 w-8" />}</div>
      <p className="font-medium text-white">{title}</p>
      {children && <div className="max-w-md text-sm text-muted">{children}</div>}
    </div>
  );
}

export function ErrorState({ error, onRetry, compact = false }: { error: unknown; onRetry?: () => void; compact?: boolean }) {
  const notFound = error instanceof ApiError && error.kind === 'not_found';
  return (
    <div
      role="alert"
      className={`flex ${compact ? 'flex-row items-center gap-3 p-3' : 'flex-col items-center gap-2 px-4 py-10 text-center'} rounded-lg border border-bad/30 bg-bad/5`}
    >
      <AlertTriangle aria-hidden className={`${compact ? 'h-4 w-4' : 'h-7 w-7'} shrink-0 text-bad`} />
      <div className={compact ? 'flex-1 text-sm' : ''}>
        {!compact && <p className="font-medium text-white">{notFound ? 'Not found' : 'Something went wrong'}</p>}
        <p className="text-sm text-muted">{describeError(error)}</p>
      </div>
      {onRetry && (
        <button type="button" className="btn btn-secondary mt-1" onClick={onRetry}>
          <RefreshCw aria-hidden className="h-4 w-4" /> Try again
        </button>
      )}
    </div>
  );
}

export function PageHeader({ title, subtitle, actions }: { title: ReactNode; subtitle?: ReactNode; actions?: ReactNode }) {
  return (
    <div className="mb-6 flex flex-col gap-3 sm:flex-row sm:items-end sm:justify-between">
      <div className="min-w-0">
        <h1 className="truncate text-2xl font-semibold tracking-tight text-white">{title}</h1>
        {subtitle && <div className="mt-1 text-sm text-muted">{subtitle}</div>}
      </div>
      {actions && <div className="flex flex-wrap items-center gap-2">{actions}</div>}
    </div>
  );
}

export function Card({ title, actions, children, className = '', testId }: {
  title?: ReactNode;
  actions?: ReactNode;
  children: ReactNode;
  className?: string;
  testId?: string;
}) {
  return (
    <section className={`card p-4 sm:p-5 ${className}`} data-testid={testId}>
      {(title || actions) && (
        <div className="mb-4 flex items-center justify-between gap-3">
          {title && <h2 className="text-sm font-semibold uppercase tracking-wide text-muted">{title}</h2>}
          {actions}
        </div>
      )}
      {children}
    </section>
  );
}
