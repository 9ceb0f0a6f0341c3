import { act, fireEvent, render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { MemoryRouter } from 'react-router-dom';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { ApiError } from '../api/errors';
import { ActionCard } from './ActionCard';
import { clock, Countdown, remaining } from './Countdown';
import { isDockShortcut } from './ChatDock';
import { Composer } from './Composer';
import { MessageItem } from './MessageList';
import { allowedDecisions } from './permissions';
import type { ChatAction, ChatMessage, Parsed } from './types';
import { mergeMessages } from './useRoom';

const parseText = vi.fn<(text: string, room: string, signal?: AbortSignal) => Promise<Parsed>>();
vi.mock('./api', () => ({
  parseText: (text: string, room: string, signal?: AbortSignal) => parseText(text, room, signal),
}));
vi.mock('./RunStatus', () => ({
  RunStatus: ({ label }: { label: string }) => <p data-testid="action-run">{label}</p>,
}));

const NOW = new Date('2026-12-07T21:00:00Z').getTime();

function action(over: Partial<ChatAction> = {}): ChatAction {
  return {
    id: '0193b7a4-5c1e-7f00-8000-000000000001',
    code: 'K7QF',
    room: 'project:api',
    asker: { id: 'asker', name: 'Olga', role: 'admin' },
    intent: 'deploy',
    params: { project: 'api', version: '2.5.0', environment: 'production' },
    risk: 'critical',
    state: 'awaiting_confirmation',
    target: 'deploy api 2.5.0 to production',
    createdAt: new Date(NOW).toISOString(),
    updatedAt: new Date(NOW).toISOString(),
    confirmBy: new Date(NOW + 5 * 60_000).toISOString(),
    decisions: [],
    ...over,
  } as ChatAction;
}

function renderCard(a: ChatAction, me: { userId: string; role: 'viewer' | 'operator' | 'admin' }, onDecide = vi.fn()) {
  render(
    <MemoryRouter>
      <ActionCard action={a} me={me} onDecide={onDecide} />
    </MemoryRouter>,
  );
  return onDecide;
}

const buttons = () => screen.queryAllByRole('button').map((b) => b.textContent);

describe('Countdown', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(NOW);
  });
  afterEach(() => vi.useRealTimers());

  it('ticks down each second and says when time is up', () => {
    render(<Countdown deadline={new Date(NOW + 62_000).toISOString()} purpose="to confirm" />);
    expect(screen.getByRole('timer')).toHaveTextContent('1:02 left to confirm');
    act(() => vi.advanceTimersByTime(3_000));
    expect(screen.getByRole('timer')).toHaveTextContent('0:59 left to confirm');
    act(() => vi.advanceTimersByTime(59_000));
    expect(screen.getByRole('timer')).toHaveTextContent('Time is up to confirm');
    expect(screen.getByRole('timer')).toHaveAttribute('data-seconds', '0');
  });

  it('formats and rounds up the seconds left', () => {
    expect(clock(0)).toBe('0:00');
    expect(clock(299)).toBe('4:59');
    expect(remaining(new Date(NOW + 1_500).toISOString(), NOW)).toBe(2);
    expect(remaining(new Date(NOW - 1_000).toISOString(), NOW)).toBe(0);
  });
});

describe('action card buttons by role', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(NOW);
  });
  afterEach(() => vi.useRealTimers());

  it('offers Confirm and Reject to the asker only, with the countdown', () => {
    renderCard(action(), { userId: 'asker', role: 'admin' });
    expect(buttons()).toEqual(['Confirm', 'Reject']);
    expect(screen.getByRole('timer')).toHaveTextContent('5:00 left to confirm');
    cleanupAndRender(action(), { userId: 'someone', role: 'operator' });
    expect(buttons()).toEqual([]);
    expect(screen.getByText('Waiting for Olga to confirm.')).toBeInTheDocument();
  });

  it('offers Approve to a different admin, never to the asker, an operator or a viewer', () => {
    const waiting = action({
      state: 'awaiting_approval',
      approveBy: new Date(NOW + 15 * 60_000).toISOString(),
      decisions: [{ decision: 'confirm', by: { id: 'asker', name: 'Olga', role: 'admin' }, at: new Date(NOW).toISOString() }],
    });
    renderCard(waiting, { userId: 'other-admin', role: 'admin' });
    expect(buttons()).toEqual(['Approve', 'Reject']);
    expect(screen.getByRole('timer')).toHaveTextContent('15:00 left to approve');
    expect(screen.getByTestId('decisions')).toHaveTextContent('Confirmed by Olga (admin)');
    cleanupAndRender(waiting, { userId: 'asker', role: 'admin' });
    expect(buttons()).toEqual(['Reject']);
    expect(screen.getByText('Waiting for another person, an admin, to approve.')).toBeInTheDocument();
    for (const role of ['operator', 'viewer'] as const) {
      cleanupAndRender(waiting, { userId: 'x', role });
      expect(buttons()).toEqual([]);
    }
  });

  it('shows no button once decided, and the run, the outcome and who decided', () => {
    const done = action({
      state: 'succeeded',
      run: { pipelineId: 'p-1', runNumber: 7 },
      outcome: 'started api#7 (deploy)',
      decisions: [
        { decision: 'confirm', by: { id: 'asker', name: 'Olga', role: 'admin' }, at: new Date(NOW).toISOString() },
        { decision: 'approve', by: { id: 'me', name: 'Ann', role: 'admin' }, at: new Date(NOW).toISOString() },
      ],
    });
    renderCard(done, { userId: 'me', role: 'admin' });
    expect(buttons()).toEqual([]);
    expect(screen.queryByRole('timer')).toBeNull();
    expect(screen.getByTestId('action-run')).toHaveTextContent('api#7');
    expect(screen.getByTestId('outcome')).toHaveTextContent('started api#7 (deploy)');
    expect(screen.getByTestId('decisions')).toHaveTextContent(/Confirmed by Olga.*Approved by you/);
  });

  it("sends the decision and shows the gateway's refusal", async () => {
    vi.useRealTimers();
    const onDecide = vi.fn().mockRejectedValue(
      new ApiError({ kind: 'forbidden', status: 403, message: 'approving a critical action needs the admin role' }),
    );
    renderCard(action({ state: 'awaiting_approval', approveBy: new Date(Date.now() + 60_000).toISOString() }), { userId: 'b', role: 'admin' }, onDecide);
    fireEvent.click(screen.getByRole('button', { name: 'Approve' }));
    expect(onDecide).toHaveBeenCalledWith('0193b7a4-5c1e-7f00-8000-000000000001', 'approve');
    expect(await screen.findByRole('alert')).toHaveTextContent('approving a critical action needs the admin role');
  });

  it('lets an admin reject an action waiting for its asker, and nobody decide a finished one', () => {
    expect(allowedDecisions(action(), { userId: 'boss', role: 'admin' })).toEqual(['reject']);
    for (const state of ['executing', 'succeeded', 'failed', 'rejected', 'expired'] as const) {
      expect(allowedDecisions(action({ state }), { userId: 'asker', role: 'admin' })).toEqual([]);
    }
  });
});

function cleanupAndRender(a: ChatAction, me: { userId: string; role: 'viewer' | 'operator' | 'admin' }) {
  document.body.innerHTML = '';
  renderCard(a, me);
}

describe('composer preview', () => {
  beforeEach(() => {
    parseText.mockReset();
    vi.useFakeTimers();
  });
  afterEach(() => vi.useRealTimers());

  it('asks the parser once typing pauses, and shows intent, params, risk and what is missing', async () => {
    parseText.mockResolvedValue({
      intent: 'deploy',
      params: { project: 'api', environment: 'production' },
      risk: 'critical',
      missing: [{ param: 'version', reason: 'which version?', suggestions: ['2.5.0'] }],
      negated: false,
      language: 'en',
      parsedBy: 'rules',
    });
    render(<Composer room="project:api" onSend={vi.fn()} />);
    for (const text of ['d', 'deploy', 'deploy api', 'deploy api to prod']) {
      fireEvent.change(screen.getByRole('textbox'), { target: { value: text } });
      act(() => vi.advanceTimersByTime(100));
    }
    expect(parseText).not.toHaveBeenCalled();
    await act(async () => {
      await vi.advanceTimersByTimeAsync(300);
    });
    expect(parseText).toHaveBeenCalledTimes(1);
    expect(parseText.mock.calls[0]?.slice(0, 2)).toEqual(['deploy api to prod', 'project:api']);
    const preview = screen.getByTestId('composer-preview');
    expect(preview).toHaveTextContent('Deploy');
    expect(preview).toHaveTextContent('environment: production');
    expect(preview).toHaveTextContent('critical risk');
    expect(preview).toHaveTextContent('Missing version: which version? (did you mean 2.5.0?)');
    expect(screen.getByRole('textbox')).toHaveAccessibleDescription(/Deploy/);
  });

  it('says when nothing was understood or the command was negated, and clears with the text', async () => {
    parseText.mockResolvedValueOnce({
      intent: 'none', params: {}, risk: 'read', missing: [], negated: true, language: 'fr', parsedBy: 'rules',
    });
    render(<Composer room="general" onSend={vi.fn()} />);
    fireEvent.change(screen.getByRole('textbox'), { target: { value: 'ne déploie pas' } });
    await act(async () => {
      await vi.advanceTimersByTimeAsync(300);
    });
    expect(screen.getByTestId('composer-preview')).toHaveTextContent('A negated command: the bot will not act on it.');
    fireEvent.change(screen.getByRole('textbox'), { target: { value: '  ' } });
    expect(screen.getByTestId('composer-preview')).toHaveTextContent('');
  });

  it('sends with Enter, keeps the text when sending fails and says why', async () => {
    vi.useRealTimers();
    parseText.mockResolvedValue({ intent: 'help', params: {}, risk: 'read', missing: [], negated: false, language: 'en', parsedBy: 'rules' });
    const onSend = vi
      .fn<(text: string) => Promise<void>>()
      .mockRejectedValueOnce(new ApiError({ kind: 'rate_limited', status: 429, message: 'More than 10 commands a minute' }))
      .mockResolvedValueOnce(undefined);
    const user = userEvent.setup();
    render(<Composer room="general" onSend={onSend} />);
    const box = screen.getByRole('textbox');
    await user.type(box, 'help{Enter}');
    expect(onSend).toHaveBeenCalledWith('help');
    expect(await screen.findByRole('alert')).toHaveTextContent('More than 10 commands a minute');
    expect(box).toHaveValue('help');
    await user.type(box, '{Enter}');
    await vi.waitFor(() => expect(box).toHaveValue(''));
  });
});

describe('messages', () => {
  const message = (eventId: number, text: string, sender: ChatMessage['sender'] = { kind: 'user', id: 'u1', name: 'Ann' }): ChatMessage => ({
    room: 'general',
    eventId,
    sender,
    text,
    createdAt: new Date(NOW).toISOString(),
  });

  it('renders text as text, never as HTML', () => {
    const hostile = '<img src=x onerror="alert(1)"><script>alert(2)</script><b>bold</b> & <a href="javascript:x">link</a>';
    const { container } = render(<MessageItem message={message(1, hostile)} me="me" />);
    expect(screen.getByTestId('message-text').textContent).toBe(hostile);
    expect(container.querySelector('img, script, b, a')).toBeNull();
  });

  it('names the sender: you, a person, the bot', () => {
    render(
      <ol>
        <MessageItem message={message(1, 'a', { kind: 'user', id: 'me', name: 'Me' })} me="me" />
        <MessageItem message={message(2, 'b')} me="me" />
        <MessageItem message={message(3, 'c', { kind: 'bot' })} me="me" />
      </ol>,
    );
    const names = screen.getAllByTestId('chat-message').map((li) => within(li).getByText(/You|Ann|bot/).textContent);
    expect(names).toEqual(['You', 'Ann', 'DevOpsTrack bot']);
  });

  it('merges pages and live messages by event id, in order, once', () => {
    const held = [message(3, 'c'), message(4, 'd')];
    const merged = mergeMessages(held, [message(5, 'e'), message(4, 'd again'), message(1, 'a')]);
    expect(merged.map((m) => [m.eventId, m.text])).toEqual([
      [1, 'a'],
      [3, 'c'],
      [4, 'd again'],
      [5, 'e'],
    ]);
    expect(mergeMessages(held, [])).toBe(held);
  });
});

describe('dock shortcut', () => {
  it('is Ctrl+/ or Cmd+/, not with Alt and not a plain slash', () => {
    expect(isDockShortcut({ key: '/', ctrlKey: true, metaKey: false, altKey: false })).toBe(true);
    expect(isDockShortcut({ key: '/', ctrlKey: false, metaKey: true, altKey: false })).toBe(true);
    expect(isDockShortcut({ key: '/', ctrlKey: false, metaKey: false, altKey: false })).toBe(false);
    expect(isDockShortcut({ key: '/', ctrlKey: true, metaKey: false, altKey: true })).toBe(false);
    expect(isDockShortcut({ key: 'k', ctrlKey: true, metaKey: false, altKey: false })).toBe(false);
  });
});
