// End-to-end run of the dashboard in Debian's Chromium (driven by playwright-core, no browser download) against a real
// `devopstrack up`. scripts/e2e.sh starts the stack and sets:
//   E2E_BASE_URL        http://127.0.0.1:PORT
//   E2E_ADMIN_EMAIL     admin@localhost
//   E2E_ADMIN_PASSWORD  the generated password printed by `up`
//   E2E_OUT             where screenshots and timings go (target/e2e)
//   CHROMIUM            the browser (default /usr/bin/chromium)
//   E2E_OVERVIEW_BUDGET_MS  optional: the overview's render budget (default 1000)
// Each step is a check; the run ends with "N passed, N failed" and exits non-zero on any failure.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const base = required('E2E_BASE_URL');
const email = required('E2E_ADMIN_EMAIL');
const password = required('E2E_ADMIN_PASSWORD');
const out = process.env.E2E_OUT ?? 'target/e2e';
const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';
export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-sync',
];
const STEP_TIMEOUT = 60_000;
// The overview's render budget (the fastest of three fresh loads). 1 s; E2E_OVERVIEW_BUDGET_MS raises it on a machine
// whose cores are shared with other builds, where the figure measures the load rather than the dashboard.
const OVERVIEW_BUDGET_MS = Number(process.env.E2E_OVERVIEW_BUDGET_MS ?? 1000);

function required(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`e2e: ${name} is not set (run scripts/e2e.sh)`);
    process.exit(2);
  }
  return value;
}

mkdirSync(out, { recursive: true });
const results = [];
const timings = {};
const pending = [];

async function step(name, run) {
  const started = Date.now();
  try {
    await run();
    results.push({ name, ok: true });
    console.log(`  ok   ${name} (${Date.now() - started} ms)`);
  } catch (error) {
    results.push({ name, ok: false });
    console.log(`  FAIL ${name}: ${error instanceof Error ? error.message.split('\n')[0] : error}`);
    if (page) await page.screenshot({ path: join(out, `FAILED-${slugify(name)}.png`), fullPage: true }).catch(() => {});
    throw error;
  }
}

function slugify(s) {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
}

async function shot(name) {
  await page.screenshot({ path: join(out, `${name}.png`), fullPage: true });
}

/** The run label in the pipeline page's title, once that page (a lazily loaded chunk) has replaced the previous one. */
async function titleRunLabel() {
  const label = page.locator('h1 [data-testid=run-label]');
  await label.waitFor();
  return label.innerText();
}

function check(condition, message) {
  if (!condition) throw new Error(message);
}

const browser = await chromium.launch({ executablePath, headless: true, args: CHROMIUM_FLAGS });
const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, baseURL: base });
context.setDefaultTimeout(STEP_TIMEOUT);
let page = await context.newPage();
const consoleErrors = [];
page.on('console', (m) => {
  // With the URL: a failed request is only "Failed to load resource: … 400" without it.
  if (m.type() === 'error') consoleErrors.push(`${m.text()} @ ${m.location()?.url ?? '?'}`);
});
page.on('pageerror', (e) => consoleErrors.push(String(e)));

const slug = `e2e-${Date.now().toString(36)}`;
let failed = false;

try {
  await step('an anonymous visit lands on the login page', async () => {
    await page.goto('/');
    await page.waitForURL('**/login');
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await shot('01-login');
  });

  await step('a wrong password is said plainly', async () => {
    await page.getByLabel('Email', { exact: true }).fill(email);
    await page.getByLabel('Password', { exact: true }).fill('definitely-not-the-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    const text = await alert.innerText();
    check(/wrong|invalid|incorrect/i.test(text), `unexpected error text: ${text}`);
    await shot('02-login-error');
  });

  await step('the admin signs in and sees the overview', async () => {
    await page.getByLabel('Password', { exact: true }).fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    await page.locator('[data-live=live]').first().waitFor();
  });

  await step('the overview renders within a second of navigation (fresh load, session from the cookie)', async () => {
    const samples = [];
    for (let i = 0; i < 3; i += 1) {
      await page.goto('/');
      await page.locator('[data-testid=dora-tiles], [data-testid=dora-section] [role=alert]').first().waitFor();
      await page.locator('[data-testid=running-now] ul, [data-testid=running-now] p').first().waitFor();
      samples.push(await page.evaluate(() => Math.round(performance.now())));
    }
    const nav = await page.evaluate(() => {
      const [n] = performance.getEntriesByType('navigation');
      return { domContentLoaded: Math.round(n.domContentLoadedEventEnd), load: Math.round(n.loadEventEnd) };
    });
    timings.overviewRenderedMs = samples;
    timings.overviewNavigation = nav;
    console.log(`       overview rendered after ${samples.join(', ')} ms (DOMContentLoaded ${nav.domContentLoaded} ms)`);
    check(Math.min(...samples) <= OVERVIEW_BUDGET_MS, `overview took ${Math.min(...samples)} ms (budget ${OVERVIEW_BUDGET_MS} ms)`);
    await shot('03-overview');
  });

  // The DORA step needs the metrics service in `up`. scripts/e2e.sh sets E2E_REQUIRE_DORA=1 when the banner lists it;
  // otherwise a metrics overview that does not answer 200 makes the step pending (reported), not skipped silently.
  const requireDora = process.env.E2E_REQUIRE_DORA === '1';
  // The overview page is loaded: either the tiles rendered (the metrics answered) or the section shows the error.
  const overviewStatus = (await page.getByTestId('dora-tiles').count()) > 0
    ? 'tiles'
    : `an error: ${await page.locator('[data-testid=dora-section] [role=alert]').innerText().catch(() => '?')}`;
  const metricsWired = requireDora || overviewStatus === 'tiles';

  // A second tab keeps the overview open through the deploy: its DORA tiles must change there without a reload.
  let overviewTab = null;
  const liveFrames = [];

  await step('an admin creates a project with environments', async () => {
    await page.getByRole('link', { name: 'Projects' }).first().click();
    await page.getByRole('heading', { name: 'Projects' }).waitFor();
    await page.getByRole('button', { name: 'New project' }).click();
    await page.getByLabel('Slug', { exact: true }).fill(slug);
    await page.getByLabel('Name', { exact: true }).fill('E2E service');
    await page.getByLabel('Description', { exact: true }).fill('Created by the end-to-end run.');
    await page.getByLabel('Repository URL', { exact: true }).fill('https://github.com/acme/e2e-service');
    await page.getByRole('button', { name: 'Create project' }).click();
    await page.getByRole('heading', { name: 'E2E service' }).waitFor();
    await page.getByTestId('env-version-staging').waitFor();
    await page.getByTestId('env-version-production').waitFor();
    await shot('04-project-new');
  });

  await step('the projects list finds it by search', async () => {
    await page.getByRole('link', { name: 'Projects' }).first().click();
    await page.getByLabel('Search projects', { exact: true }).fill(slug);
    await page.locator('[data-testid=project-card]', { hasText: slug }).waitFor();
    check((await page.getByTestId('project-card').count()) === 1, 'search should leave one project');
    await shot('05-projects');
    await page.locator('[data-testid=project-card]', { hasText: slug }).click();
    await page.getByRole('heading', { name: 'E2E service' }).waitFor();
  });

  await step('an admin defines a pipeline; the server refuses a bad job name on that field', async () => {
    const card = page.getByTestId('definitions-card');
    // New projects come with the ci and deploy definitions.
    await card.locator('[data-testid=definition-row][data-name=ci]').waitFor();
    await card.locator('[data-testid=definition-row][data-name=deploy]').waitFor();
    await card.getByRole('button', { name: 'New definition' }).click();
    const dialog = page.locator('dialog[open]');
    await dialog.getByLabel('Name', { exact: true }).fill('e2e-ci');
    await dialog.getByLabel('Description', { exact: true }).fill('Defined by the end-to-end run');
    await dialog.getByLabel('Stage 1 name', { exact: true }).fill('build');
    await dialog.getByLabel('Job 1 name', { exact: true }).fill('Compile Step');
    await dialog.getByLabel('Params of Compile Step (JSON)', { exact: true }).fill('{"durationMs": 3000, "logLines": 40}');
    await dialog.getByRole('button', { name: 'Add stage' }).click();
    await dialog.getByLabel('Stage 2 name', { exact: true }).fill('test');
    await dialog.getByLabel('Params of job (JSON)', { exact: true }).fill('{"durationMs": 1000, "logLines": 5}');
    await dialog.getByRole('button', { name: 'Create definition' }).click();
    // Validated by the server (the browser does not check job names): its message names stages[0].jobs[0].name.
    const error = page.locator('#def-stages-0-jobs-0-name-error');
    await error.waitFor();
    check(/must match/.test(await error.innerText()), `unexpected field error: ${await error.innerText()}`);
    const input = page.locator('#def-stages-0-jobs-0-name');
    check((await input.getAttribute('aria-invalid')) === 'true', 'the job name should be marked invalid');
    check(await input.evaluate((el) => el === document.activeElement), 'the invalid field should have the focus');
    check((await dialog.getByRole('alert').count()) === 0, 'the error belongs to the field, not the top of the form');
    await shot('06-definition-field-error');
    await input.fill('compile');
    await dialog.getByRole('button', { name: 'Create definition' }).click();
    const row = card.locator('[data-testid=definition-row][data-name=e2e-ci]');
    await row.waitFor();
    check((await row.innerText()).includes('build → test · 2 jobs'), `row: ${await row.innerText()}`);
    await shot('07-definitions');
  });

  await step('Run pipeline runs it: api#1 goes to succeeded live, and its log follows as it is written', async () => {
    await page.getByRole('button', { name: 'Run pipeline' }).click();
    const dialog = page.locator('dialog[open]');
    await dialog.getByRole('radio', { name: /e2e-ci/ }).check();
    await dialog.getByRole('button', { name: 'Run e2e-ci' }).click();
    await page.waitForURL(/\/pipelines\/[0-9a-f-]{36}$/);
    await page.evaluate(() => {
      window.__e2eNoReload = true;
    });
    const label = await titleRunLabel();
    check(label === `${slug}#1`, `the first run of the project should be ${slug}#1, not ${label}`);
    const crumbs = await page.getByTestId('breadcrumbs').innerText();
    check(crumbs.includes(`${slug}#1`), `breadcrumbs: ${crumbs}`);
    check((await page.title()).startsWith(`${slug}#1`), `tab title: ${await page.title()}`);
    check((await page.getByTestId('run-definition').innerText()).includes('e2e-ci v1'), 'the run names its definition');
    await page.locator('[data-testid=job][data-job-name=compile] a').click();
    const log = page.getByTestId('log-viewer');
    await log.waitFor();
    await page.locator('[data-testid=log-lines] li').first().waitFor({ timeout: 20_000 });
    const early = await page.locator('[data-testid=log-lines] li').count();
    await shot('08-pipeline-running-log');
    await page.locator('[data-testid=pipeline-status] [data-status=succeeded]').waitFor({ timeout: 90_000 });
    const late = await page.locator('[data-testid=log-lines] li').count();
    check(late >= 40, `the log should hold 40 lines, has ${late}`);
    check(late >= early, 'the log only grows');
    check(await page.evaluate(() => window.__e2eNoReload === true), 'the page reloaded');
    const jobs = await page.locator('[data-testid=job]').evaluateAll((els) => els.map((e) => e.getAttribute('data-status')));
    check(jobs.length === 2 && jobs.every((s) => s === 'succeeded'), `jobs: ${jobs.join(', ')}`);
    console.log(`       log lines when first seen: ${early}, at the end: ${late}`);
    await shot('09-pipeline-succeeded');
  });

  await step('the pipelines list shows it with its live status', async () => {
    await page.getByRole('link', { name: 'Pipelines' }).first().click();
    const row = page.locator(`[data-testid=pipeline-row][data-status=succeeded]`, { hasText: `${slug}#1` });
    await row.waitFor();
    check((await row.getByTestId('run-label').innerText()) === `${slug}#1`, 'the list names the run by its number');
    await shot('10-pipelines');
  });

  if (metricsWired) {
    await step('a second tab opens the overview before the deploy', async () => {
      overviewTab = await context.newPage();
      overviewTab.on('pageerror', (e) => consoleErrors.push(String(e)));
      overviewTab.on('websocket', (ws) =>
        ws.on('framereceived', (f) => {
          const type = /"type":"([a-z.]+)"/.exec(String(f.payload))?.[1];
          if (type && type !== 'job.log') liveFrames.push(type);
        }),
      );
      await overviewTab.goto('/');
      await overviewTab.getByTestId('dora-tiles').waitFor();
      await overviewTab.locator('[data-live=live]').first().waitFor();
      check((await overviewTab.getByTestId('dora-tile-staging').count()) === 0, 'no staging deployments yet');
      await overviewTab.evaluate(() => {
        window.__e2eNoReload = true;
      });
    });
  }

  const releaseSha = '3484a3fb816e0859fd6e1cea078d76385ff50625';
  await step('a release deployed to staging carries its commit and moves the environment version, live', async () => {
    await page.goto(`/projects/${slug}`);
    await page.getByRole('button', { name: 'New release' }).click();
    await page.getByLabel('Version', { exact: true }).fill('1.0.0');
    await page.getByLabel('Notes', { exact: true }).fill('First release');
    await page.getByLabel('Commit SHA', { exact: true }).fill(releaseSha);
    await page.getByRole('button', { name: 'Create release' }).click();
    await page.getByTestId('releases').getByText('1.0.0').waitFor();
    check((await page.getByTestId('env-version-staging').innerText()) === '—', 'staging should start empty');
    await page.getByTestId('env-staging').getByRole('button', { name: 'Deploy' }).click();
    await page.getByLabel('Environment', { exact: true }).selectOption('staging');
    // The deploy form offers the release's commit; the pipeline carries it (what DORA lead time counts from).
    const offered = await page.locator('#run-commit').inputValue();
    check(offered === releaseSha, `the deploy form should offer the release's commit, not ${JSON.stringify(offered)}`);
    await page.locator('dialog').getByRole('button', { name: /Deploy 1\.0\.0 to staging/ }).click();
    await page.waitForURL(/\/pipelines\/[0-9a-f-]{36}$/);
    await page.getByTestId('commit').filter({ hasText: releaseSha.slice(0, 7) }).first().waitFor();
    const label = await titleRunLabel();
    check(label === `${slug}#2`, `the deploy should be ${slug}#2, not ${label}`);
    await shot('11-deploy-pipeline');
    // Back on the project page while the deploy runs: the version must change there without a reload.
    await page.goBack();
    await page.getByRole('heading', { name: 'E2E service' }).waitFor();
    await page.evaluate(() => {
      window.__e2eNoReload = true;
    });
    await page.locator('[data-testid=env-version-staging]', { hasText: '1.0.0' }).waitFor({ timeout: 90_000 });
    await page.getByTestId('deployments').getByText('1.0.0').first().waitFor();
    check(await page.evaluate(() => window.__e2eNoReload === true), 'the page reloaded');
    check((await page.getByTestId('env-version-production').innerText()) === '—', 'production must not move');
    await shot('12-project-deployed');
  });

  if (metricsWired) {
    await step('the DORA tiles change after the deploy, live in the overview tab', async () => {
      const tile = overviewTab.getByTestId('dora-tile-staging');
      await tile.waitFor({ timeout: 30_000 }).catch(async (error) => {
        await overviewTab.screenshot({ path: join(out, 'FAILED-overview-tab.png'), fullPage: true });
        console.log(`       overview tab saw: ${liveFrames.join(', ') || 'no live events'}`);
        throw error;
      });
      await overviewTab.waitForFunction(
        () => /\b1 deployment\b/.test(document.querySelector('[data-testid=dora-tile-staging]')?.innerText ?? ''),
        null,
        { timeout: 30_000 },
      );
      check(await overviewTab.evaluate(() => window.__e2eNoReload === true), 'the overview tab reloaded');
      await overviewTab.screenshot({ path: join(out, '13-overview-after-deploy.png'), fullPage: true });
      await overviewTab.close();
    });
  } else {
    const why = `the overview's metrics answered ${overviewStatus.replace(/\s+/g, ' ')} (the metrics service is not in this devopstrack up)`;
    pending.push(`the DORA tiles change after the deploy (${why})`);
    console.log(`  PENDING the DORA tiles change after the deploy: ${why}`);
  }

  await step('1.1.0 deployed to staging, then rolled back from its card: staging moves back to 1.0.0, live', async () => {
    await page.goto(`/projects/${slug}`);
    await page.getByRole('button', { name: 'New release' }).click();
    await page.getByLabel('Version', { exact: true }).fill('1.1.0');
    await page.getByRole('button', { name: 'Create release' }).click();
    await page.getByTestId('releases').getByText('1.1.0').waitFor();
    await page.getByTestId('env-staging').getByRole('button', { name: 'Deploy' }).click();
    await page.locator('dialog[open]').getByLabel('Release', { exact: true }).selectOption('1.1.0');
    await page.locator('dialog[open]').getByRole('button', { name: 'Deploy 1.1.0 to staging' }).click();
    await page.waitForURL(/\/pipelines\/[0-9a-f-]{36}$/);
    check((await titleRunLabel()) === `${slug}#3`, 'the second deploy should be the third run');
    await page.goBack(); // the project page follows the deploy live
    await page.locator('[data-testid=env-version-staging]', { hasText: '1.1.0' }).waitFor({ timeout: 90_000 });

    // The confirmation is a keyboard-usable dialog: Escape leaves it without rolling anything back.
    const rollback = page.getByTestId('env-staging').getByRole('button', { name: 'Rollback' });
    await rollback.click();
    const question = page.getByTestId('rollback-question');
    await question.waitFor();
    await page.keyboard.press('Escape');
    await page.locator('dialog[open]').waitFor({ state: 'detached' });
    await rollback.focus();
    await page.keyboard.press('Enter');
    await question.waitFor();
    const text = await question.innerText();
    check(text === 'Roll back staging from 1.1.0 to 1.0.0?', `the confirmation says: ${text}`);
    await shot('14-rollback-confirm');
    await page.locator('dialog[open]').getByRole('button', { name: 'Roll back to 1.0.0' }).click();
    await page.waitForURL(/\/pipelines\/[0-9a-f-]{36}$/);
    const label = await titleRunLabel();
    check(label === `${slug}#4`, `the rollback should be ${slug}#4, not ${label}`);
    await page.getByRole('heading', { name: /Rollback staging to 1\.0\.0/ }).waitFor();
    await shot('15-rollback-pipeline');
    // Back on the project page while the rollback runs: staging must move back without a reload.
    await page.goBack();
    await page.getByRole('heading', { name: 'E2E service' }).waitFor();
    await page.evaluate(() => {
      window.__e2eNoReload = true;
    });
    // The deployment is recorded through an outbox: the page refreshes on the run's end and shortly after.
    await page.locator('[data-testid=env-version-staging]', { hasText: /^1\.0\.0$/ }).waitFor({ timeout: 90_000 });
    const newest = page.getByTestId('deployment-row').first();
    await newest.getByText('1.0.0').waitFor({ timeout: 30_000 });
    check((await newest.getAttribute('data-rollback')) === 'true', 'the newest deployment should be marked a rollback');
    check((await newest.getByRole('link').innerText()) === '#4', `the history names the run: ${await newest.innerText()}`);
    check(await page.evaluate(() => window.__e2eNoReload === true), 'the page reloaded');
    check((await page.getByTestId('env-version-production').innerText()) === '—', 'production must not move');
    const rows = await page.locator('[data-testid=project-pipelines] [data-testid=run-label]').allInnerTexts();
    check(['#4', '#3', '#2', '#1'].every((n) => rows.includes(n)), `recent runs: ${rows.join(', ')}`);
    await shot('16-project-rolled-back');
  });

  await step('admin pages: users, and an API token whose secret is shown once', async () => {
    await page.getByRole('link', { name: 'Users' }).first().click();
    await page.getByTestId('user-row').first().waitFor();
    await shot('17-admin-users');
    await page.getByRole('link', { name: 'API tokens' }).first().click();
    await page.getByRole('button', { name: 'New token' }).click();
    await page.getByLabel('Name', { exact: true }).fill(`ci-${slug}`);
    await page.getByRole('button', { name: 'Create token' }).click();
    const secret = await page.getByTestId('token-secret').innerText();
    check(secret.startsWith('dtk_'), `secret: ${secret.slice(0, 4)}…`);
    await shot('18-admin-token-created');
    await page.getByRole('button', { name: 'Close dialog' }).click();
    await page.locator('[data-testid=token-row]', { hasText: `ci-${slug}` }).waitFor();
    check((await page.content()).includes(secret) === false, 'the secret must not stay on the page');
    await shot('19-admin-tokens');
  });

  await step('the dashboard is usable on a phone', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto('/');
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    await page.getByRole('button', { name: 'Open menu' }).click();
    await page.locator('#mobile-nav').getByRole('link', { name: 'Projects' }).waitFor();
    await shot('20-phone-menu');
    await page.locator('#mobile-nav').getByRole('link', { name: 'Projects' }).click();
    await page.getByRole('heading', { name: 'Projects' }).waitFor();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    check(overflow <= 0, `the page scrolls sideways by ${overflow}px`);
    await shot('21-phone-projects');
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  await step('sign-out ends the session', async () => {
    await page.goto('/');
    await page.getByRole('button', { name: 'Sign out' }).first().click();
    await page.waitForURL('**/login');
    await page.getByText('You have signed out.').waitFor();
    await page.goto('/pipelines');
    await page.waitForURL('**/login');
    await shot('22-signed-out');
  });

  await step('the browser console stayed free of errors', async () => {
    // The failed sign-in (401) is logged by Chromium as a failed resource load: that one is expected.
    // Without the metrics service, its 503s are expected too (the step is reported pending).
    // The definition refused on purpose answers one 400 from the definitions route.
    const expected = metricsWired ? /\b401\b|Unauthorized/ : /\b(401|503)\b|Unauthorized|Service Unavailable/;
    const refused = /\b400\b.*@ .*\/api\/v1\/projects\/[^/]+\/definitions$/;
    check(consoleErrors.filter((e) => refused.test(e)).length === 1, 'one refused definition (400) expected');
    const unexpected = consoleErrors.filter((e) => !expected.test(e) && !refused.test(e));
    check(unexpected.length === 0, unexpected.join(' | '));
  });
} catch {
  failed = true;
} finally {
  await browser.close();
}

writeFileSync(join(out, 'timings.json'), `${JSON.stringify({ ...timings, pending }, null, 2)}\n`);
const passed = results.filter((r) => r.ok).length;
const failures = results.length - passed;
console.log(`\ne2e: screenshots in ${out}/`);
if (pending.length) console.log(`e2e: pending: ${pending.join('; ')}`);
console.log(`${passed} passed, ${failures} failed`);
process.exit(failed || failures > 0 ? 1 : 0);
