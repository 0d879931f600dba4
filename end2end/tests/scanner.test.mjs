// The scanner as stewards use it: a keyboard-wedge scanner at the door, a night with no
// network (the service worker opens the app, scans wait in IndexedDB and reach the server
// once), and two offline devices admitting the same ticket (a double entry both are told of).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ADMIN_PASSWORD, call, launchBrowser, launchProfile, scannerAt, seedPerformance, signIn, startServer, wedgeScan } from '../support.mjs';

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

const numbered = (prefix, count) => Array.from({ length: count }, (_, i) => ({ barcode: `${prefix}-${String(i).padStart(4, '0')}` }));

/** The admissions the server recorded for a performance, from the device protocol's delta. */
async function serverPasses(page, performance) {
  const delta = await call(page, 'sync_delta', { performances: [performance], cursor: 0 });
  return delta.passes;
}

async function verdictOf(page, code) {
  const scans = page.locator('[data-testid=verdict]');
  const before = await scans.getAttribute('data-scan').catch(() => null);
  await wedgeScan(page, code);
  const shown = page.locator('[data-testid=verdict]' + (before ? `:not([data-scan="${before}"])` : ''));
  await shown.waitFor();
  return { colour: await shown.getAttribute('data-colour'), reason: await shown.getAttribute('data-reason'), text: await shown.textContent() };
}

test('a keyboard-wedge scanner admits 50 tickets, refuses repeats, and the server counts them', async () => {
  // A real profile: Chromium does not offer to install apps from incognito contexts.
  const context = await launchProfile({ locale: 'en-GB' });
  const page = await context.newPage();
  await signIn(page, server.url, 'admin', ADMIN_PASSWORD);
  const tickets = numbered('WEDGE', 50);
  const { performance } = await seedPerformance(page, { institution: 'Wedge hall', tickets: [...tickets, { barcode: 'WEDGE-VOID', status: 'cancelled' }] });
  await scannerAt(page, server.url, performance);

  // Installable: Chromium finds nothing missing in the manifest and worker.
  const cdp = await context.newCDPSession(page);
  await page.evaluate(() => navigator.serviceWorker.ready);
  const { installabilityErrors } = await cdp.send('Page.getInstallabilityErrors');
  assert.deepEqual(installabilityErrors, []);

  const first = await verdictOf(page, tickets[0].barcode);
  assert.deepEqual([first.colour, first.reason], ['green', 'accepted_in']);
  for (const ticket of tickets.slice(1)) await wedgeScan(page, ticket.barcode);
  await page.locator('[data-testid=device-counter][data-admitted="50"]').waitFor();
  assert.match(await page.locator('[data-testid=device-counter]').textContent(), /50\s*\/\s*50/);

  const again = await verdictOf(page, tickets[7].barcode);
  assert.deepEqual([again.colour, again.reason], ['red', 'already_scanned']);
  assert.match(again.text, /Already scanned on .* by PDA-/);
  const cancelled = await verdictOf(page, 'WEDGE-VOID');
  assert.equal(cancelled.reason, 'cancelled');
  const unknown = await verdictOf(page, 'NOT-A-TICKET');
  assert.equal(unknown.reason, 'unknown_number');

  await page.locator('[data-testid=pending][data-count="0"]').waitFor({ timeout: 20_000 });
  const passes = await serverPasses(page, performance);
  assert.equal(passes.length, 50);
  assert.equal(new Set(passes.map((p) => p.barcode)).size, 50);
  await context.close();
});

test('offline: the app reopens from its worker, 100 scans wait on the device and reach the server once', async () => {
  const context = await browser.newContext({ locale: 'fr-FR' });
  let page = await context.newPage();
  await signIn(page, server.url, 'admin', ADMIN_PASSWORD);
  const tickets = numbered('NIGHT', 100);
  const { institution, performance } = await seedPerformance(page, { institution: 'Night club', tickets });
  await scannerAt(page, server.url, performance);
  await page.evaluate(() => navigator.serviceWorker.ready);

  await context.setOffline(true);
  await page.reload();
  await page.locator('[data-testid=scanner][data-phase=ready]').waitFor();
  await page.locator('[data-testid=online][data-online=false]').waitFor();
  // The door comes back as it was: the device's copy is in IndexedDB.
  await page.locator('[data-testid=device-counter]').waitFor();
  for (const ticket of tickets) await wedgeScan(page, ticket.barcode);
  await page.locator('[data-testid=device-counter][data-admitted="100"]').waitFor();
  await page.locator('[data-testid=pending][data-count="100"]').waitFor();
  assert.match(await page.locator('[data-testid=pending]').textContent(), /100 contrôles en attente/);
  await page.close();

  page = await context.newPage();
  await page.goto(`${server.url}/scanner`);
  await page.locator('[data-testid=pending][data-count="100"]').waitFor();
  await context.setOffline(false);
  await page.locator('[data-testid=pending][data-count="0"]').waitFor({ timeout: 30_000 });

  const passes = await serverPasses(page, performance);
  assert.equal(passes.length, 100, 'each scan recorded once');
  assert.equal(new Set(passes.map((p) => p.scan_id)).size, 100);

  // The back office shows them.
  const grid = await call(page, 'performance_grid', { institution, with_archived: false });
  assert.deepEqual([grid[0].admitted, grid[0].total], [100, 100]);
  await page.goto(`${server.url}/backoffice`);
  await page.locator('.tree .node', { hasText: 'Night club' }).click();
  await page.locator(`tr[data-performance="${performance}"] [data-testid=counter]`, { hasText: '100 / 100' }).waitFor();
  await context.close();
});

test('two offline devices admit the same ticket: the server records a double entry and both show it', async () => {
  const adminContext = await browser.newContext({ locale: 'en-GB' });
  const admin = await adminContext.newPage();
  await signIn(admin, server.url, 'admin', ADMIN_PASSWORD);
  const { institution, performance } = await seedPerformance(admin, { institution: 'Stadium', tickets: numbered('GATE', 3) });
  const rights = { admin: false, pda: true, backoffice: false };
  await call(admin, 'create_login', { institution, login: 'gate-north', password: 'north-door-password', rights });
  await call(admin, 'create_login', { institution, login: 'gate-south', password: 'south-door-password', rights });

  const devices = [];
  for (const [login, password] of [['gate-north', 'north-door-password'], ['gate-south', 'south-door-password']]) {
    const context = await browser.newContext({ locale: 'en-GB' });
    const page = await context.newPage();
    await scannerAt(page, server.url, performance, { login, password });
    devices.push({ context, page });
  }
  for (const { context } of devices) await context.setOffline(true);
  for (const { page } of devices) {
    await page.locator('[data-testid=online][data-online=false]').waitFor();
    const verdict = await verdictOf(page, 'GATE-0001');
    assert.equal(verdict.colour, 'green', 'offline, each device admits on its own copy');
  }
  for (const { context } of devices) await context.setOffline(false);
  for (const { page } of devices) {
    await page.locator('[data-testid=pending][data-count="0"]').waitFor({ timeout: 30_000 });
  }

  const passes = (await serverPasses(admin, performance)).filter((p) => p.barcode === 'GATE-0001');
  assert.equal(passes.length, 2, 'both admissions are kept');
  assert.equal(passes.filter((p) => p.conflict).length, 1, 'the later one is flagged');
  // Each device learns of it: its own upload's answer, or the other's scan by delta.
  for (const { page } of devices) {
    await page.locator('[data-testid=conflict]', { hasText: 'GATE-0001' }).waitFor({ timeout: 30_000 });
  }
  for (const { context } of devices) await context.close();
  await adminContext.close();
});

test('a scan the server will never take is set aside: the scans behind it still reach the server', async () => {
  const office = await browser.newContext({ locale: 'en-GB' });
  const admin = await office.newPage();
  await signIn(admin, server.url, 'admin', ADMIN_PASSWORD);
  const { institution, performance } = await seedPerformance(admin, { institution: 'Aside hall', tickets: numbered('ASIDE', 3) });
  await call(admin, 'create_login', {
    institution, login: 'steward.aside', password: 'a long enough password', rights: { admin: false, pda: true, backoffice: false },
  });

  const device = await browser.newContext({ locale: 'en-GB' });
  const page = await device.newPage();
  await scannerAt(page, server.url, performance, { login: 'steward.aside', password: 'a long enough password' });
  await device.setOffline(true);
  await wedgeScan(page, 'ASIDE-0000');
  await wedgeScan(page, 'ASIDE-0001');
  await page.locator('[data-testid=pending][data-count="2"]').waitFor();
  // Meanwhile the back office closes the performance for scanning: the server will never take
  // those two scans, and must not let them hold back the next.
  await call(admin, 'set_pda_open', { performance, open: false });
  await device.setOffline(false);
  await page.locator('[data-testid=set-aside-count]', { hasText: '2' }).waitFor({ timeout: 30_000 });
  await page.locator('[data-testid=pending][data-count="0"]').waitFor({ timeout: 30_000 });
  assert.match(await page.locator('[data-testid=set-aside]').textContent(), /not open for scanning/);
  assert.match(await page.locator('[data-testid=set-aside-download]').getAttribute('href'), /^data:text\/csv/);

  await call(admin, 'set_pda_open', { performance, open: true });
  await wedgeScan(page, 'ASIDE-0002');
  await page.locator('[data-testid=pending][data-count="0"]').waitFor({ timeout: 30_000 });
  const passes = await serverPasses(admin, performance);
  assert.deepEqual(passes.map((p) => p.barcode), ['ASIDE-0002']);
  await device.close();
  await office.close();
});

test('a re-import cut halfway leaves the previous copy: the door still opens and scans', async () => {
  const context = await browser.newContext({ locale: 'en-GB' });
  let page = await context.newPage();
  await signIn(page, server.url, 'admin', ADMIN_PASSWORD);
  const tickets = numbered('CUT', 60_000);
  const { performance } = await seedPerformance(page, { institution: 'Cut hall', tickets });
  await scannerAt(page, server.url, performance);
  assert.equal((await verdictOf(page, 'CUT-0001')).reason, 'accepted_in');

  // Import again, and close the tab while the tickets are being written. The CPU is slowed as
  // on a cheap phone: on an idle machine the writes end before the test can see them run.
  await page.click('[data-testid=change-door]');
  const open = page.locator(`[data-testid=open-performance][data-performance="${performance}"]`);
  const cdp = await context.newCDPSession(page);
  await cdp.send('Emulation.setCPUThrottlingRate', { rate: 20 });
  await open.locator('[data-testid=import]').click();
  await open.locator('[data-testid=import-progress][max]').waitFor();
  await page.close();

  page = await context.newPage();
  await page.goto(`${server.url}/scanner`);
  await page.locator('[data-testid=scanner][data-phase=ready]').waitFor();
  await page.locator(`[data-testid=control][data-performance="${performance}"]`).check();
  await page.click('[data-testid=start-door]');
  await page.locator('[data-testid=device-counter]').waitFor();
  assert.match(await page.locator('[data-testid=device-counter]').textContent(), /1\s*\/\s*60000/);
  assert.equal((await verdictOf(page, 'CUT-0001')).reason, 'already_scanned');
  assert.equal((await verdictOf(page, 'CUT-0002')).reason, 'accepted_in');
  await context.close();
});
