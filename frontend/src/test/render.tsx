// Renders a page as a signed-in user of a given role (a real ApiClient whose fetch answers the login), inside a
// router at a given URL.

import { render } from '@testing-library/react';
import type { ReactElement } from 'react';
import { MemoryRouter, Route, Routes } from 'react-router-dom';

import { ApiClient } from '../api/client';
import type { Role } from '../api/types';
import { AuthProvider } from '../auth/AuthContext';

export async function signedIn(role: Role): Promise<ApiClient> {
  const fetch = async () =>
    new Response(
      JSON.stringify({
        accessToken: 't',
        tokenType: 'Bearer',
        expiresIn: 900,
        user: { id: 'me', email: 'me@x', name: 'Me', role, disabled: false },
      }),
      { status: 200, headers: { 'content-type': 'application/json' } },
    );
  const client = new ApiClient({ fetch: fetch as typeof globalThis.fetch, lock: (_n, run) => run() });
  await client.login('me@x', 'pw');
  return client;
}

export function renderAt(ui: ReactElement, { path, url, client }: { path: string; url: string; client: ApiClient }) {
  return render(
    <MemoryRouter initialEntries={[url]} future={{ v7_startTransition: true, v7_relativeSplatPath: true }}>
      <AuthProvider client={client}>
        <Routes>
          <Route path={path} element={ui} />
          <Route path="*" element={<p>elsewhere</p>} />
        </Routes>
      </AuthProvider>
    </MemoryRouter>,
  );
}
