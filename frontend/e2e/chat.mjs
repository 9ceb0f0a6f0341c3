// The ChatOps flow end to end in Debian's Chromium (playwright-core, no browser download) against a real
// `devopstrack up`, with one browser context per person so each has their own session and socket. scripts/e2e.sh runs
// it after run.mjs with the same variables (E2E_BASE_URL, E2E_ADMIN_EMAIL, E2E_ADMIN_PASSWORD, E2E_OUT, CHROMIUM).
//
// Set-up goes through the REST API as the admin (people, a project with staging and production, a release); every
// step after that is the browser: the composer's preview, the bot's answers, action cards and their buttons per role,
// a production deploy asked for and confirmed by an operator and approved in another context by an admin, the run it
// starts at once (the chat's approval is the run's: no second gate approval), a viewer refused with the reason, the
// dock's shortcut, and the audit page listing each step.
// Screenshots (chat-*.png) and timings (chat-timings.json) go to E2E_OUT.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const base = required('E2E_BASE_URL');
const adminEmail = required('E2E_ADMIN_EMAIL');
const adminPassword = required('E2E_ADMIN_PASSWORD');
const out = process.env.E2E_OUT ?? 'target/e2e';
const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--disable-background-networking',
  '--disable-component-update', '--no-first-run', '--disable-sync'];
const STEP_TIMEOUT = 30_000;

function required(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`e2e chat: ${name} is not set (run scripts/e2e.sh)`);
    process.exit(2);
  }
  return value;
}

function check(condition, message) {
  if (!condition) throw new Error(message);
}

mkdirSync(out, { recursive: true });
const timings = {};
const pages = {};
let passed = 0;

async function step(name, run) {
  const started = Date.now();
  try {
    await run();
    passed += 1;
    timings[name] = Date.now() - started;
    console.log(`  ok   ${name} (${timings[name]} ms)`);
  } catch (error) {
    console.log(`  FAIL ${name}: ${error instanceof Error ? error.message.split('\n')[0] : error}`);
    for (const [who, page] of Object.entries(pages)) {
      await page.screenshot({ path: join(out, `chat-FAILED-${who}.png`), fullPage: true }).catch(() => {});
    }
    throw error;
  }
}

// ---- set-up over the API, as the admin ----

async function call(method, path, token, body) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: {
      accept: 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

const stamp = Date.now().toString(36);
const slug = `chat-${stamp}`;
const room = `project:${slug}`;
const secret = `e2e-${stamp}-Passw0rd!`;
const people = {
  operator: { email: `op-${stamp}@example.com`, name: 'Olga Operator', role: 'operator' },
  viewer: { email: `view-${stamp}@example.com`, name: 'Vic Viewer', role: 'viewer' },
};

const { accessToken: admin } = await call('POST', '/api/v1/auth/login', null, { email: adminEmail, password: adminPassword });
for (const person of Object.values(people)) {
  const { id } = await call('POST', '/api/v1/users', admin, { ...person, password: secret });
  person.id = id;
}
await call('POST', '/api/v1/projects', admin, {
  slug,
  name: `Chat ${stamp}`,
  environments: [
    { name: 'staging', tier: 'staging' },
    { name: 'production', tier: 'production' },
  ],
});
await call('POST', `/api/v1/projects/${slug}/releases`, admin, { version: '2.5.0' });
console.log(`  set up ${slug}: operator, viewer; staging and production; release 2.5.0`);

// ---- the browser ----

const browser = await chromium.launch({ executablePath, headless: true, args: FLAGS });

async function signIn(who, email, password) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, baseURL: base });
  context.setDefaultTimeout(STEP_TIMEOUT);
  const page = await context.newPage();
  page.on('pageerror', (e) => console.log(`       [${who}] page error: ${e}`));
  await page.goto('/login');
  await page.getByLabel('Email', { exact: true }).fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Overview' }).waitFor();
  pages[who] = page;
  return page;
}

async function openRoom(page) {
  await page.goto(`/chat?room=${encodeURIComponent(room)}`);
  await page.locator(`[data-testid=chat-room][data-room="${room}"]`).waitFor();
  await page.locator('[data-live=live]').first().waitFor();
}

const composer = (page) => page.getByTestId('chat-room').getByRole('textbox');
const lastBotText = (page) => page.locator('[data-testid=chat-message][data-sender=bot] [data-testid=message-text]').last();

/** Types a message (waiting for the preview first when `preview` is a pattern) and sends it with Enter. */
async function say(page, text, preview) {
  const before = await page.locator('[data-testid=chat-message]').count();
  await composer(page).fill(text);
  if (preview) {
    await page.getByTestId('composer-preview').filter({ hasText: preview }).waitFor();
  }
  await composer(page).press('Enter');
  await page.locator('[data-testid=chat-message]').nth(before + 1).waitFor();
}

const card = (page, state) => page.locator(`[data-testid=action-card][data-state=${state}]`).last();
/** One action's card, in a given state. */
const cardOf = (page, id, state) => page.locator(`[data-testid=action-card][data-action-id="${id}"][data-state=${state}]`);
let productionAction = '';

let failed = false;
try {
  const operator = await signIn('operator', people.operator.email, secret);

  await step('the operator opens the project room; the composer previews the deploy as it is typed', async () => {
    await openRoom(operator);
    await composer(operator).fill(`deploy ${slug} 2.5.0 to prod`);
    const preview = operator.getByTestId('composer-preview');
    await preview.locator('[data-intent=deploy]').waitFor();
    const text = await preview.innerText();
    check(/critical/i.test(text) && text.includes('production') && text.includes('2.5.0'), `preview: ${text}`);
    await composer(operator).fill(`deploy ${slug} to staging`);
    await preview.locator('[data-missing=version]').waitFor();
    await operator.screenshot({ path: join(out, 'chat-01-preview.png') });
  });

  let started = Date.now();
  await step('the operator deploys to staging: a card with Confirm, confirmed, the run starts and succeeds', async () => {
    await say(operator, `deploy ${slug} 2.5.0 to staging`, /Deploy/);
    const proposed = card(operator, 'awaiting_confirmation');
    await proposed.getByTestId('countdown').waitFor();
    check(await proposed.getByRole('button', { name: 'Confirm' }).isVisible(), 'the asker sees Confirm');
    check((await proposed.getByRole('button', { name: 'Approve' }).count()) === 0, 'no Approve for a high-risk action');
    await operator.screenshot({ path: join(out, 'chat-02-card.png') });
    started = Date.now();
    await proposed.getByRole('button', { name: 'Confirm' }).click();
    const done = card(operator, 'succeeded');
    await done.locator('[data-testid=action-run][data-status=succeeded]').waitFor({ timeout: 45_000 });
    timings.stagingConfirmToRunSucceededMs = Date.now() - started;
    const decisions = await done.getByTestId('decisions').innerText();
    check(/Confirmed by you/.test(decisions), `decisions: ${decisions}`);
  });

  const approver = await signIn('approver', adminEmail, adminPassword);

  await step('the operator asks for production: confirms, and waits for an admin', async () => {
    await openRoom(approver);
    await say(operator, `deploy ${slug} 2.5.0 to production`, /another person, an admin, approves/);
    const proposed = card(operator, 'awaiting_confirmation');
    productionAction = (await proposed.getAttribute('data-action-id')) ?? '';
    check((await proposed.getAttribute('aria-label'))?.includes('production'), 'the card names production');
    await proposed.getByRole('button', { name: 'Confirm' }).click();
    const waiting = cardOf(operator, productionAction, 'awaiting_approval');
    await waiting.getByText('Waiting for another person, an admin, to approve.').waitFor();
    check((await waiting.getByRole('button', { name: 'Approve' }).count()) === 0, 'the asker may not approve');
    await waiting.getByTestId('countdown').filter({ hasText: 'to approve' }).waitFor();
    await operator.screenshot({ path: join(out, 'chat-03-awaiting-approval.png') });
  });

  await step('the admin approves in their context; the asker learns it live', async () => {
    const live = cardOf(approver, productionAction, 'awaiting_approval');
    await live.waitFor(); // arrived over the socket, no reload
    await approver.screenshot({ path: join(out, 'chat-04-approver.png') });
    started = Date.now();
    await live.getByRole('button', { name: 'Approve' }).click();
    await cardOf(operator, productionAction, 'succeeded').waitFor();
    timings.approveToAskerSeesItMs = Date.now() - started;
  });

  let runLabel = '';
  await step('the run starts with its gate approved and the room shows its outcome, with who decided', async () => {
    const done = cardOf(operator, productionAction, 'succeeded');
    const run = done.getByTestId('action-run');
    await run.locator('a').waitFor();
    runLabel = await run.locator('a').innerText();
    check(runLabel.startsWith(`${slug}#`), `run label: ${runLabel}`);
    const outcome = await done.getByTestId('outcome').innerText();
    check(outcome.includes(runLabel), `outcome: ${outcome}`);
    const decisions = await done.getByTestId('decisions').innerText();
    check(/Confirmed by you/.test(decisions) && /Approved by/.test(decisions), `decisions: ${decisions}`);
    await operator.locator('[data-testid=chat-message][data-sender=bot]').filter({ hasText: `done: started ${runLabel}` }).waitFor();
    // The chat's approval was the run's: it goes to the end with no second approval of its production gate.
    await done.locator('[data-testid=action-run][data-status=succeeded]').waitFor({ timeout: 45_000 });
    timings.productionApproveToRunSucceededMs = Date.now() - started;
    const number = runLabel.split('#')[1];
    const recorded = await call('GET', `/api/v1/projects/${slug}/runs/${number}`, admin);
    const me = await call('GET', '/api/v1/auth/me', admin);
    check(recorded.triggeredBy === people.operator.id, `the run was triggered by the operator: ${recorded.triggeredBy}`);
    const gate = recorded.stages.at(-1).jobs;
    check(gate.every((j) => j.approvedBy === me.id), `the gate was approved by the admin: ${JSON.stringify(gate)}`);
    await operator.screenshot({ path: join(out, 'chat-05-outcome.png') });
  });

  await step('messages render as text, never as HTML', async () => {
    const hostile = '<img src=x onerror="window.__pwned=1"><b>bold?</b>';
    await say(approver, hostile);
    const shown = approver.locator('[data-testid=chat-message][data-sender=user] [data-testid=message-text]').last();
    check((await shown.innerText()) === hostile, 'the text is shown as typed');
    check((await approver.locator('[data-testid=message-list] img').count()) === 0, 'no <img> from a message');
    check((await approver.evaluate(() => window.__pwned)) === undefined, 'no script ran');
  });

  const viewer = await signIn('viewer', people.viewer.email, secret);
  await step("a viewer's deploy is refused with a message saying why", async () => {
    await openRoom(viewer);
    await say(viewer, `deploy ${slug} 2.5.0 to staging`);
    const answer = await lastBotText(viewer).innerText();
    check(/viewer/i.test(answer) && /not deploy/i.test(answer), `answer: ${answer}`);
    check((await viewer.getByTestId('action-card').getByRole('button').count()) === 0, 'a viewer has no decision button');
    await viewer.screenshot({ path: join(out, 'chat-07-viewer-refused.png') });
  });

  await step('the dock opens from another page with Ctrl+/ and closes with Escape', async () => {
    await viewer.goto('/pipelines');
    await viewer.getByRole('heading', { name: 'Pipelines' }).waitFor();
    const toggle = viewer.getByTestId('chat-dock-toggle');
    check((await toggle.getAttribute('aria-keyshortcuts'))?.includes('Control+/'), 'the shortcut is announced');
    await viewer.keyboard.press('Control+/');
    const dock = viewer.getByRole('dialog', { name: 'Chat' });
    await dock.waitFor();
    await dock.getByRole('textbox').waitFor();
    check(await dock.getByRole('textbox').evaluate((el) => el === document.activeElement), 'focus is in the composer');
    await viewer.screenshot({ path: join(out, 'chat-08-dock.png') });
    await viewer.keyboard.press('Escape');
    await dock.waitFor({ state: 'detached' });
    check(await toggle.evaluate((el) => el === document.activeElement), 'focus is back on the toggle');
  });

  await step('the audit page lists each step of the production deploy, and the chain is intact', async () => {
    await approver.goto('/admin/audit');
    await approver.getByTestId('chain-status').filter({ hasText: 'Chain intact' }).waitFor();
    await approver.getByLabel('Kind').fill('chat.action.*');
    await approver.getByRole('button', { name: 'Apply' }).click();
    await approver.locator('[data-testid=audit-row][data-kind="chat.action.approve"]').first().waitFor();
    const target = `action:${productionAction}`;
    const kinds = await approver
      .getByTestId('audit-row')
      .filter({ hasText: target })
      .evaluateAll((rows) => rows.map((r) => r.dataset.kind));
    for (const kind of ['chat.action.propose', 'chat.action.confirm', 'chat.action.approve', 'chat.action.run_started', 'chat.action.outcome']) {
      check(kinds.includes(kind), `audit lacks ${kind}: ${[...new Set(kinds)].join(', ')}`);
    }
    await approver.screenshot({ path: join(out, 'chat-09-audit.png'), fullPage: true });
  });

  await step('the audit filter by actor keeps only that person', async () => {
    await approver.getByTestId('audit-row').filter({ hasText: people.operator.name }).first().getByRole('button').click();
    await approver.waitForFunction(
      (name) => {
        const rows = [...document.querySelectorAll('[data-testid=audit-row]')];
        return rows.length > 0 && rows.every((r) => r.textContent.includes(name));
      },
      people.operator.name,
    );
  });
} catch {
  failed = true;
} finally {
  await browser.close();
  writeFileSync(join(out, 'chat-timings.json'), `${JSON.stringify(timings, null, 2)}\n`);
}
console.log(`chat e2e: ${passed} passed, ${failed ? 1 : 0} failed (screenshots and chat-timings.json in ${out}/)`);
process.exit(failed ? 1 : 0);
