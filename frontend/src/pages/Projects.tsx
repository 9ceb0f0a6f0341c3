// Projects: searchable, paginated (the gateway pages with opaque tokens, so "previous" replays the tokens seen);
// admins create projects here.

import { FolderKanban, Plus, Search } from 'lucide-react';
import { useEffect, useState } from 'react';
import { Link, useNavigate, useSearchParams } from 'react-router-dom';

import { listProjects } from '../api/endpoints';
import { useSession } from '../auth/AuthContext';
import { TierBadge } from '../components/badges';
import { Modal } from '../components/Modal';
import { ProjectForm } from '../components/ProjectForm';
import { Pager } from '../components/Pager';
import { EmptyState, ErrorState, LoadingState, PageHeader } from '../components/states';
import { relativeTime } from '../lib/format';
import { canAdmin } from '../lib/roles';
import { usePageTokens } from '../lib/usePageTokens';
import { useResource } from '../lib/useResource';

const PAGE_SIZE = 12;

export default function Projects() {
  const session = useSession();
  const navigate = useNavigate();
  const [params, setParams] = useSearchParams();
  const q = params.get('q') ?? '';
  const [text, setText] = useState(q);
  const pages = usePageTokens();
  const [creating, setCreating] = useState(false);

  // Search as you type, a moment after the last key.
  useEffect(() => {
    const timer = setTimeout(() => {
      if (text !== q) {
        setParams(text ? { q: text } : {}, { replace: true });
        pages.reset();
      }
    }, 250);
    return () => clearTimeout(timer);
  }, [text, q, setParams, pages.reset]);

  const page = useResource((signal) => listProjects({ q: q || undefined, pageSize: PAGE_SIZE, pageToken: pages.token }, signal), [q, pages.token]);

  return (
    <>
      <PageHeader
        title="Projects"
        subtitle="Services and apps, their environments and what runs where."
        actions={
          canAdmin(session.role) && (
            <button type="button" className="btn btn-primary" onClick={() => setCreating(true)}>
              <Plus aria-hidden className="h-4 w-4" /> New project
            </button>
          )
        }
      />
      <div className="relative mb-4 max-w-md">
        <Search aria-hidden className="pointer-events-none absolute top-1/2 left-3 h-4 w-4 -translate-y-1/2 text-muted" />
        <input
          type="search"
          aria-label="Search projects"
          placeholder="Search by slug, name or description"
          className="input pl-9"
          value={text}
          onChange={(e) => setText(e.target.value)}
        />
      </div>

      {page.error ? (
        <ErrorState error={page.error} onRetry={page.reload} />
      ) : !page.data ? (
        <LoadingState label="Loading projects…" />
      ) : page.data.items.length === 0 ? (
        <div className="card">
          <EmptyState title={q ? `No project matches "${q}"` : 'No projects yet'} icon={<FolderKanban aria-hidden className="h-8 w-8" />}>
            {q ? 'Try another search.' : canAdmin(session.role) ? 'Create the first one to start tracking its pipelines.' : 'An admin can create one.'}
          </EmptyState>
        </div>
      ) : (
        <ul className="grid gap-4 sm:grid-cols-2 xl:grid-cols-3" aria-busy={page.loading}>
          {page.data.items.map((p) => (
            <li key={p.id}>
              <Link
                to={`/projects/${p.slug}`}
                data-testid="project-card"
                className="card flex h-full flex-col gap-3 p-4 transition-colors hover:border-cyan/50"
              >
                <div className="flex items-start justify-between gap-2">
                  <div className="min-w-0">
                    <p className="truncate font-semibold text-white">{p.name}</p>
                    <p className="font-mono text-xs text-muted">{p.slug}</p>
                  </div>
                  {p.archivedAt && <span className="rounded border border-line px-1.5 text-[10px] text-muted uppercase">archived</span>}
                </div>
                {p.description && <p className="line-clamp-2 text-sm text-muted">{p.description}</p>}
                <div className="mt-auto flex flex-wrap gap-1.5">
                  {p.environments.map((e) => (
                    <span key={e.name} className="flex items-center gap-1.5 rounded-md bg-ink/60 px-2 py-1 text-xs">
                      <TierBadge tier={e.tier} />
                      <span className="text-white">{e.name}</span>
                      <span className="font-mono text-muted">{e.currentVersion ?? '—'}</span>
                    </span>
                  ))}
                </div>
                <p className="text-xs text-muted">Updated {relativeTime(p.updatedAt)}</p>
              </Link>
            </li>
          ))}
        </ul>
      )}

      {page.data && (!pages.atFirst || page.data.nextPageToken) && (
        <nav aria-label="Pagination" className="mt-6 flex items-center justify-between">
          <Pager pages={pages} next={page.data.nextPageToken} labels={['Previous', 'Next']} />
        </nav>
      )}

      <Modal title="New project" open={creating} onClose={() => setCreating(false)} wide>
        <ProjectForm onSaved={(p) => navigate(`/projects/${p.slug}`)} />
      </Modal>
    </>
  );
}
