// The chat from any page: a button in the corner and a keyboard shortcut (Ctrl+/, ⌘/ on a Mac) open a panel with a
// room and its composer; Escape closes it and gives focus back to the button. The panel's code loads on first open.

import { MessageSquare, X } from 'lucide-react';
import { lazy, Suspense, useEffect, useId, useRef, useState } from 'react';

const DockPanel = lazy(() => import('./DockPanel'));

export const SHORTCUT_LABEL = 'Ctrl+/';
export const ARIA_SHORTCUTS = 'Control+/ Meta+/';

/** Ctrl+/ (⌘/ on a Mac). */
export function isDockShortcut(e: Pick<KeyboardEvent, 'key' | 'ctrlKey' | 'metaKey' | 'altKey'>): boolean {
  return e.key === '/' && (e.ctrlKey || e.metaKey) && !e.altKey;
}

export function ChatDock() {
  const [open, setOpen] = useState(false);
  const toggle = useRef<HTMLButtonElement>(null);
  const titleId = useId();

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (!isDockShortcut(e)) return;
      e.preventDefault();
      setOpen((o) => !o);
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, []);

  const close = () => {
    setOpen(false);
    toggle.current?.focus();
  };

  return (
    <>
      {open && (
        <Suspense fallback={null}>
          <DockPanel titleId={titleId} onClose={close} />
        </Suspense>
      )}
      <button
        ref={toggle}
        type="button"
        data-testid="chat-dock-toggle"
        aria-expanded={open}
        aria-keyshortcuts={ARIA_SHORTCUTS}
        aria-label={open ? `Close the chat (${SHORTCUT_LABEL})` : `Open the chat (${SHORTCUT_LABEL})`}
        title={`${open ? 'Close' : 'Open'} the chat — ${SHORTCUT_LABEL} (⌘/ on a Mac)`}
        onClick={() => (open ? close() : setOpen(true))}
        className="fixed right-4 bottom-4 z-40 flex h-12 w-12 items-center justify-center rounded-full bg-cyan text-ink shadow-lg hover:brightness-110 focus-visible:ring-2 focus-visible:ring-white"
      >
        {open ? <X aria-hidden className="h-5 w-5" /> : <MessageSquare aria-hidden className="h-5 w-5" />}
      </button>
    </>
  );
}
