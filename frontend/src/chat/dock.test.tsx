import { fireEvent, screen, waitFor } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';

import { renderAt, signedIn } from '../test/render';
import { ChatDock } from './ChatDock';

vi.mock('../live/live', () => ({ live: { subscribe: () => () => undefined } }));
vi.mock('./api', () => ({
  HISTORY_PAGE: 50,
  listRooms: async () => [
    { id: 'dm:me', lastEventId: 0, createdAt: '' },
    { id: 'project:api', lastEventId: 3, createdAt: '' },
    { id: 'general', lastEventId: 1, createdAt: '' },
  ],
  listMessages: async (room: string) => [
    { room, eventId: 1, sender: { kind: 'bot' }, text: `hello from ${room}`, createdAt: '2026-12-07T21:00:00Z' },
  ],
  parseText: async () => ({ intent: 'none', params: {}, risk: 'read', missing: [], negated: false, language: 'en', parsedBy: 'rules' }),
}));

describe('chat dock', () => {
  it('opens with Ctrl+/ from anywhere, focuses the composer, switches rooms and closes with Escape', async () => {
    const client = await signedIn('viewer');
    renderAt(<ChatDock />, { path: '*', url: '/pipelines', client });
    const toggle = screen.getByRole('button', { name: 'Open the chat (Ctrl+/)' });
    expect(toggle).toHaveAttribute('aria-keyshortcuts', 'Control+/ Meta+/');
    expect(toggle).toHaveAttribute('title', expect.stringContaining('Ctrl+/'));
    expect(toggle).toHaveAttribute('aria-expanded', 'false');

    fireEvent.keyDown(document.body, { key: '/', ctrlKey: true });
    const dock = await screen.findByRole('dialog', { name: 'Chat' });
    expect(await screen.findByText('hello from general')).toBeInTheDocument();
    await waitFor(() => expect(screen.getByRole('textbox', { name: 'Message # general' })).toHaveFocus());
    expect(screen.getByRole('button', { name: 'Close the chat (Ctrl+/)' })).toHaveAttribute('aria-expanded', 'true');

    const picker = screen.getByRole('combobox', { name: 'Room' });
    expect([...(picker as HTMLSelectElement).options].map((o) => o.text)).toEqual(['# general', '# api', 'You and the bot']);
    fireEvent.change(picker, { target: { value: 'project:api' } });
    expect(await screen.findByText('hello from project:api')).toBeInTheDocument();

    fireEvent.keyDown(dock, { key: 'Escape' });
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
    expect(screen.getByRole('button', { name: 'Open the chat (Ctrl+/)' })).toHaveFocus();
  });
});
