import { screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';

import { ApiClient } from '../../api/client';
import { renderAt } from '../../test/render';
import Login from '../Login';

function clientAnswering(status: number, body: unknown, headers: Record<string, string> = {}) {
  const fetch = async (input: RequestInfo | URL) => {
    if (String(input).endsWith('/auth/refresh')) {
      return new Response(JSON.stringify({ error: { code: 'unauthenticated', message: 'no refresh token' } }), { status: 401 });
    }
    return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
  };
  return new ApiClient({ fetch: fetch as typeof globalThis.fetch, lock: (_n, run) => run() });
}

async function submit(email: string, password: string) {
  const user = userEvent.setup();
  await user.type(await screen.findByLabelText('Email'), email);
  await user.type(screen.getByLabelText('Password'), password);
  await user.click(screen.getByRole('button', { name: /sign in/i }));
}

describe('Login', () => {
  it('says plainly that the email or password is wrong', async () => {
    const client = clientAnswering(401, { error: { code: 'unauthenticated', message: 'wrong email or password' } });
    renderAt(<Login />, { path: '/login', url: '/login', client });
    await submit('a@b.c', 'nope');
    expect(await screen.findByRole('alert')).toHaveTextContent('wrong email or password');
  });

  it('shows the lockout with how long to wait', async () => {
    const client = clientAnswering(429, { error: { code: 'account_locked', message: 'account_locked' } }, { 'retry-after': '900' });
    renderAt(<Login />, { path: '/login', url: '/login', client });
    await submit('a@b.c', 'nope');
    expect(await screen.findByRole('alert')).toHaveTextContent('this account is locked. Try again in 15 minutes.');
  });

  it('asks for both fields before calling the server', async () => {
    const client = clientAnswering(500, {});
    renderAt(<Login />, { path: '/login', url: '/login', client });
    const user = userEvent.setup();
    await user.click(await screen.findByRole('button', { name: /sign in/i }));
    expect(screen.getByRole('alert')).toHaveTextContent('Enter your email and password.');
  });

  it('signs in and leaves the login page', async () => {
    const client = clientAnswering(200, {
      accessToken: 't',
      tokenType: 'Bearer',
      expiresIn: 900,
      user: { id: 'u', email: 'a@b.c', name: 'Ada', role: 'viewer', disabled: false },
    });
    renderAt(<Login />, { path: '/login', url: '/login', client });
    await submit('a@b.c', 'right');
    expect(await screen.findByText('elsewhere')).toBeInTheDocument();
    expect(client.getSession()?.name).toBe('Ada');
  });
});
