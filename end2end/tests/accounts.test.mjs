// A Master builds an institution and a scanner login; that login signing in again elsewhere
// ends its first session, and the first browser is told so.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ADMIN_PASSWORD, hydrated, launchBrowser, signIn, startServer } from '../support.mjs';

let server;
let browser;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  server?.stop();
});

test('one live session per login, told to the browser it ended', async () => {
  const master = await (await browser.newContext({ locale: 'en-GB' })).newPage();
  await signIn(master, server.url, 'admin', ADMIN_PASSWORD);
  assert.equal(new URL(master.url()).pathname, '/backoffice');
  await master.getByRole('button', { name: 'root', exact: true }).waitFor();

  await master.fill('[data-testid=create-child-form] input', 'Salle Pleyel');
  await master.click('[data-testid=create-child-form] button');
  await master.getByRole('button', { name: 'Salle Pleyel' }).click();
  await master.waitForSelector('[data-testid=institution-name]:has-text("Salle Pleyel")');

  await master.click('[data-testid=users-tab-button]');
  await master.fill('input[name=new-login]', 'door.one');
  await master.fill('input[name=new-password]', 'door one password');
  await master.check('input[name=new-pda]');
  await master.click('[data-testid=create-login-form] button[type=submit]');
  await master.waitForSelector('tr[data-login="door.one"]');

  const second = await (await browser.newContext({ locale: 'en-GB' })).newPage();
  await signIn(second, server.url, 'door.one', 'door one password');
  assert.equal(new URL(second.url()).pathname, '/account', 'a scanner-only login has no back office');
  await second.waitForSelector('[data-testid=account-login]:has-text("door.one")');

  const third = await (await browser.newContext({ locale: 'en-GB' })).newPage();
  await signIn(third, server.url, 'door.one', 'door one password');
  await third.waitForSelector('[data-testid=account-login]:has-text("door.one")');

  await second.reload();
  await second.waitForURL((u) => u.pathname === '/signin');
  await hydrated(second);
  const notice = await second.textContent('[data-testid=ended-elsewhere]');
  assert.match(notice, /signed in on another device/);

  // The third browser is still signed in.
  await third.reload();
  await third.waitForSelector('[data-testid=account-login]:has-text("door.one")');
});

test('the interface speaks French to a French browser', async () => {
  const page = await (await browser.newContext({ locale: 'fr-FR' })).newPage();
  await page.goto(`${server.url}/signin`);
  await hydrated(page);
  assert.equal(await page.textContent('h1'), 'Connexion à Billetix');
  await page.click('[data-testid=language]');
  await page.waitForSelector('h1:has-text("Sign in to Billetix")');
});

test('a performance added in the grid opens for scanning when PDA is ticked', async () => {
  const page = await (await browser.newContext({ locale: 'en-GB' })).newPage();
  await signIn(page, server.url, 'admin', ADMIN_PASSWORD);
  await page.fill('input[name=venue-name]', 'Zénith');
  await page.click('[data-testid=venue-form] button');
  await page.waitForSelector('select[name=event-venue] option:has-text("Zénith")', { state: 'attached' });
  await page.selectOption('select[name=event-venue]', { label: 'Zénith' });
  await page.fill('input[name=event-name]', 'Carmen');
  await page.click('[data-testid=event-form] button');
  await page.waitForSelector('select[name=performance-event] option:has-text("Carmen")', { state: 'attached' });
  await page.selectOption('select[name=performance-event]', { label: 'Carmen' });
  await page.fill('input[name=performance-start]', '2026-12-31T20:30');
  await page.click('[data-testid=performance-form] button');
  const row = page.locator('tr[data-venue="Zénith"]');
  await row.waitFor();
  assert.match(await row.textContent(), /31\/12\/2026 20:30/);
  await row.locator('[data-testid=pda]').check();

  // A door (here the Master, over the scanner's HTTP API) may now scan it: an unknown number is
  // refused as unknown, not as "closed for scanning"; the grid keeps its state.
  const performance = await row.getAttribute('data-performance');
  const verdict = await page.evaluate(async (performance) => {
    const response = await fetch('/api/scan', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ request: { scan_id: crypto.randomUUID(), barcode: 'NOPE', device: 'e2e', client_time: Date.now(),
        door: { performances: [Number(performance)], mode: { mode: 'single_pass' } } } }),
    });
    return (await response.json()).verdict;
  }, performance);
  assert.equal(verdict.reason, 'unknown_number');
  assert.equal(await row.locator('[data-testid=pda]').isChecked(), true);
  assert.equal((await row.locator('[data-testid=counter]').textContent()).trim(), '0 / 0');
});
