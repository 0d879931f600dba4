// The device's copy at sign-out (finding 25 of the security review): scans queued under one
// login were uploaded under whichever signed in next, and the tickets stayed in IndexedDB after
// sign-out. Each test fails on any page error or console error.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ADMIN_PASSWORD, call, hydrated, launchBrowser, scannerAt, seedPerformance, signIn, startServer, wedgeScan } from '../support.mjs';

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
const STEWARD = { admin: false, pda: true, backoffice: false };

/**
 * Records every page error and console error of the pages of `context`, but two that Chromium
 * logs for what the test does: the 401 of `whoami` asked with nobody signed in (how the scanner
 * learns it must ask for a sign-in), and a request in flight when the test cuts the network.
 */
function watchErrors(context) {
  const errors = [];
  const watch = (page) => {
    page.on('pageerror', (error) => errors.push(`page error: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() !== 'error') return;
      const signedOutCheck = /status of 401/.test(message.text()) && /\/api\/whoami$/.test(message.location().url);
      const cutByTheTest = /net::ERR_INTERNET_DISCONNECTED/.test(message.text());
      if (!signedOutCheck && !cutByTheTest) errors.push(`console error: ${message.text()} (${message.location().url})`);
    });
  };
  context.pages().forEach(watch);
  context.on('page', watch);
  return errors;
}

/** The numbers the server admitted for a performance. */
async function serverBarcodes(page, performance) {
  const delta = await call(page, 'sync_delta', { performances: [performance], cursor: 0 });
  return delta.passes.map((p) => p.barcode).sort();
}

/** How many records each store of the scanner's IndexedDB holds; `kept`: the scans' numbers and whether sent. */
function storedCounts(page) {
  return page.evaluate(() => new Promise((done, fail) => {
    const request = indexedDB.open('billetix-scanner');
    request.onerror = () => fail(request.error);
    request.onsuccess = () => {
      const db = request.result;
      const names = ['performances', 'chunks', 'changes', 'passes', 'scans'];
      const tx = db.transaction(names, 'readonly');
      const counts = {};
      for (const name of names) {
        const count = tx.objectStore(name).count();
        count.onsuccess = () => { counts[name] = count.result; };
      }
      const scans = tx.objectStore('scans').getAll();
      scans.onsuccess = () => { counts.kept = scans.result.map((s) => ({ barcode: s.scan.barcode, uploaded: s.uploaded })); };
      tx.oncomplete = () => { db.close(); done(counts); };
      tx.onerror = () => fail(tx.error);
    };
  }));
}

/** Signs in on the scanner's own panel (the device keeps its door meanwhile). */
async function scannerSignIn(page, login, password) {
  const panel = page.locator('[data-testid=scanner-signin]');
  await panel.waitFor();
  await panel.locator('input[name=login]').fill(login);
  await panel.locator('input[name=password]').fill(password);
  await panel.locator('button[type=submit]').click();
  await page.locator('[data-testid=scanner-sign-out]', { hasText: login }).waitFor();
}

test("a login's queued scans wait for it: never uploaded under the next login, sent when it signs in again", async () => {
  const office = await browser.newContext({ locale: 'en-GB' });
  const admin = await office.newPage();
  await signIn(admin, server.url, 'admin', ADMIN_PASSWORD);
  const tickets = numbered('TAG', 6);
  const { institution, performance } = await seedPerformance(admin, { institution: 'Shared tablet hall', tickets });
  await call(admin, 'create_login', { institution, login: 'steward.anna', password: 'anna door password', rights: STEWARD });
  await call(admin, 'create_login', { institution, login: 'steward.bob', password: 'bob door password', rights: STEWARD });

  // One browser profile, as a tablet shared at the door.
  const device = await browser.newContext({ locale: 'en-GB' });
  const errors = watchErrors(device);
  const page = await device.newPage();
  await scannerAt(page, server.url, performance, { login: 'steward.anna', password: 'anna door password' });
  await device.setOffline(true);
  await page.locator('[data-testid=online][data-online=false]').waitFor();
  for (const ticket of tickets.slice(0, 3)) await wedgeScan(page, ticket.barcode);
  await page.locator('[data-testid=pending][data-count="3"]').waitFor();

  // Anna signs out, offline, keeping the copy: with the keyboard alone.
  await page.click('[data-testid=scanner-sign-out]');
  const dialog = page.locator('[data-testid=signout-dialog]');
  await dialog.waitFor();
  assert.equal(await dialog.getAttribute('data-performances'), '1');
  assert.equal(await dialog.getAttribute('data-unrecorded'), '3');
  assert.match(await dialog.textContent(), /performances imported here \(1\)/);
  assert.match(await dialog.textContent(), /3 scans the server has not recorded/);
  assert.equal(await page.evaluate(() => document.activeElement?.dataset.testid), 'signout-keep', 'focus starts in the dialog');
  await page.keyboard.press('Enter');
  await dialog.waitFor({ state: 'detached' });
  await page.locator('[data-testid=scanner-sign-out]').waitFor({ state: 'detached' });
  const waiting = page.locator('[data-testid=waiting-for-login][data-login="steward.anna"]');
  await waiting.locator('text=3 scans waiting for steward.anna to sign in again').waitFor();

  // Bob signs in on the same browser and goes online; his own scans go up, Anna's wait.
  await device.setOffline(false);
  await scannerSignIn(page, 'steward.bob', 'bob door password');
  await device.setOffline(true);
  await page.locator('[data-testid=online][data-online=false]').waitFor();
  await wedgeScan(page, tickets[5].barcode);
  await page.locator('[data-testid=pending][data-count="4"]').waitFor();
  await device.setOffline(false);
  await page.locator('[data-testid=pending][data-count="3"]').waitFor({ timeout: 30_000 });
  assert.deepEqual(await serverBarcodes(admin, performance), ['TAG-0005'], "none of Anna's scans under Bob");
  assert.equal(await waiting.getAttribute('data-count'), '3');
  assert.match(await waiting.textContent(), /3 scans waiting for steward\.anna to sign in again/);
  const csv = decodeURIComponent((await waiting.locator('[data-testid=waiting-download]').getAttribute('href')).replace(/^data:text\/csv;charset=utf-8,/, ''));
  assert.deepEqual(csv.trim().split('\n').slice(1).map((line) => line.split(';')[1]), ['"TAG-0000"', '"TAG-0001"', '"TAG-0002"'], 'exportable meanwhile');

  // Bob signs out (keep, by mouse); Anna signs in again: hers go up now.
  await page.click('[data-testid=scanner-sign-out]');
  await page.click('[data-testid=signout-keep]');
  await scannerSignIn(page, 'steward.anna', 'anna door password');
  await page.locator('[data-testid=pending][data-count="0"]').waitFor({ timeout: 30_000 });
  await waiting.waitFor({ state: 'detached' });
  assert.deepEqual(await serverBarcodes(admin, performance), ['TAG-0000', 'TAG-0001', 'TAG-0002', 'TAG-0005']);
  assert.deepEqual(errors, []);
  await device.close();
  await office.close();
});

test('sign-out choosing "clear" leaves no tickets on the device: reopened offline, the scanner has no copy', async () => {
  const office = await browser.newContext({ locale: 'en-GB' });
  const admin = await office.newPage();
  await signIn(admin, server.url, 'admin', ADMIN_PASSWORD);
  const tickets = numbered('WIPE', 5);
  const { institution, performance } = await seedPerformance(admin, { institution: 'Wipe hall', tickets });
  await call(admin, 'create_login', { institution, login: 'steward.wipe', password: 'wipe door password', rights: STEWARD });

  const device = await browser.newContext({ locale: 'fr-FR' });
  const errors = watchErrors(device);
  const page = await device.newPage();
  await scannerAt(page, server.url, performance, { login: 'steward.wipe', password: 'wipe door password' });
  await page.evaluate(() => navigator.serviceWorker.ready);
  await wedgeScan(page, tickets[0].barcode);
  await page.locator('[data-testid=device-counter][data-admitted="1"]').waitFor();
  await page.locator('[data-testid=pending][data-count="0"]').waitFor({ timeout: 30_000 });
  await device.setOffline(true);
  await page.locator('[data-testid=online][data-online=false]').waitFor();
  await wedgeScan(page, tickets[1].barcode);
  await page.locator('[data-testid=pending][data-count="1"]').waitFor();
  const before = await storedCounts(page);
  assert.equal(before.performances, 1);
  assert.ok(before.chunks >= 1, 'the tickets are on the device');

  await page.click('[data-testid=scanner-sign-out]');
  const dialog = page.locator('[data-testid=signout-dialog]');
  await dialog.waitFor();
  assert.match(await dialog.textContent(), /les billets des représentations importées ici \(1\)/);
  assert.match(await dialog.textContent(), /1 contrôles que le serveur n'a pas enregistrés/);
  assert.match(await dialog.locator('[data-testid=signout-clear]').textContent(), /Effacer la copie/);
  await dialog.locator('[data-testid=signout-clear]').click();
  await dialog.waitFor({ state: 'detached' });
  // The door closes once the copy is gone.
  await page.locator('[data-testid=door-choice]').waitFor();
  const after = await storedCounts(page);
  assert.deepEqual([after.performances, after.chunks, after.changes, after.passes], [0, 0, 0, 0], 'no tickets, no admissions left');
  assert.ok(after.kept.some((s) => s.barcode === 'WIPE-0001' && !s.uploaded), 'the scan not yet sent is kept (not discarded)');
  assert.deepEqual(after.kept.filter((s) => s.uploaded), [], 'scans the server has go with the copy');

  // Reopened with no network: the worker serves the page, the device holds no copy.
  await page.reload();
  await page.locator('[data-testid=scanner][data-phase=ready]').waitFor();
  await page.locator('[data-testid=door-choice]').waitFor();
  assert.equal(await page.locator('[data-testid=control]').count(), 0, 'nothing imported');
  assert.equal(await page.locator('[data-testid=device-counter]').count(), 0, 'no door runs');
  await page.locator('[data-testid=waiting-for-login][data-login="steward.wipe"][data-count="1"]').waitFor();

  // Back online, the same login sends its kept scan; the copy stays gone.
  await device.setOffline(false);
  await scannerSignIn(page, 'steward.wipe', 'wipe door password');
  await page.locator('[data-testid=pending][data-count="0"]').waitFor({ timeout: 30_000 });
  assert.deepEqual(await serverBarcodes(admin, performance), ['WIPE-0000', 'WIPE-0001']);
  assert.equal((await storedCounts(page)).chunks, 0);
  assert.deepEqual(errors, []);
  await device.close();
  await office.close();
});

test("the header's sign-out offers to clear the scanner's copy kept in the same browser", async () => {
  const context = await browser.newContext({ locale: 'en-GB' });
  const errors = watchErrors(context);
  const page = await context.newPage();
  await signIn(page, server.url, 'admin', ADMIN_PASSWORD);
  const { performance } = await seedPerformance(page, { institution: 'Office hall', tickets: numbered('DESK', 3) });
  await scannerAt(page, server.url, performance);
  assert.equal((await storedCounts(page)).performances, 1);

  await page.goto(`${server.url}/account`);
  await hydrated(page);
  await page.click('[data-testid=sign-out]');
  const dialog = page.locator('[data-testid=signout-dialog]');
  await dialog.waitFor();
  // Escape stays signed in.
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'detached' });
  await page.click('[data-testid=sign-out]');
  await dialog.locator('[data-testid=signout-clear]').click();
  await page.waitForURL((u) => u.pathname.startsWith('/signin'));
  const after = await storedCounts(page);
  assert.deepEqual([after.performances, after.chunks], [0, 0]);
  await assert.rejects(call(page, 'whoami', {}), /not|signed/i, 'signed out on the server');
  assert.deepEqual(errors, []);
  await context.close();
});
