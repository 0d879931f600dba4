// Online first (issue 24): two doors online scanning one ticket at the same moment get one
// green and one "already scanned", decided by the server; a server slower than the deadline
// leaves the door its own verdict within the deadline, the scan recorded once, and after three
// misses in a row the door stops asking.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { ADMIN_PASSWORD, call, launchBrowser, scannerAt, seedPerformance, signIn, startServer, wedgeScan } from '../support.mjs';

const DEADLINE_MS = 400;
const rights = { admin: false, pda: true, backoffice: false };
const running = [];

after(async () => {
  for (const { browser, server } of running) {
    await browser.close();
    server.stop();
  }
});

async function start(env) {
  const server = await startServer({ env });
  const browser = await launchBrowser();
  running.push({ browser, server });
  return { server, browser };
}

/** A scanner with the door open, online and signed in, the server asked first. */
async function door(browser, server, performance, login, password) {
  const context = await browser.newContext({ locale: 'en-GB' });
  const page = await context.newPage();
  await scannerAt(page, server.url, performance, { login, password });
  await page.locator('[data-testid=decision-mode][data-mode=online_first]').waitFor();
  return { context, page };
}

/** The verdict shown for the scan after `before` (a scan id), with how long it took. */
async function nextVerdict(page, before) {
  const shown = page.locator('[data-testid=verdict]' + (before ? `:not([data-scan="${before}"])` : ''));
  await shown.waitFor();
  return {
    scan: await shown.getAttribute('data-scan'),
    colour: await shown.getAttribute('data-colour'),
    reason: await shown.getAttribute('data-reason'),
    decidedBy: await shown.getAttribute('data-decided-by'),
    decidedMs: Number(await shown.getAttribute('data-decided-ms')),
  };
}

test('two doors online scan one ticket at the same moment: one green, one "already scanned", both from the server', async () => {
  const { server, browser } = await start({});
  const office = await browser.newContext({ locale: 'en-GB' });
  const admin = await office.newPage();
  await signIn(admin, server.url, 'admin', ADMIN_PASSWORD);
  const { institution, performance } = await seedPerformance(admin, { institution: 'Twin gates', tickets: [{ barcode: 'SHOT-0001' }] });
  await call(admin, 'create_login', { institution, login: 'gate-east', password: 'east-door-password', rights });
  await call(admin, 'create_login', { institution, login: 'gate-west', password: 'west-door-password', rights });
  const doors = [
    await door(browser, server, performance, 'gate-east', 'east-door-password'),
    await door(browser, server, performance, 'gate-west', 'west-door-password'),
  ];

  // Typed on both, then submitted by each page's own timer at the same wall-clock instant.
  for (const { page } of doors) await page.fill('[data-testid=typed-number]', 'SHOT-0001');
  const at = Date.now() + 300;
  const sentAt = await Promise.all(doors.map(({ page }) => page.evaluate((at) => new Promise((done) => {
    setTimeout(() => {
      const sent = Date.now();
      document.querySelector('form.typed-entry').requestSubmit();
      done(sent);
    }, at - Date.now());
  }), at)));
  assert.ok(Math.abs(sentAt[0] - sentAt[1]) <= 15, `both scans sent within a few ms: ${sentAt}`);
  console.log(`two doors: scans sent ${Math.abs(sentAt[0] - sentAt[1])} ms apart`);
  const verdicts = await Promise.all(doors.map(({ page }) => nextVerdict(page, null)));
  assert.deepEqual(verdicts.map((v) => v.decidedBy), ['server', 'server']);
  assert.deepEqual(verdicts.map((v) => v.colour).sort(), ['green', 'red'], JSON.stringify(verdicts));
  assert.deepEqual(verdicts.map((v) => v.reason).sort(), ['accepted_in', 'already_scanned']);

  const delta = await call(admin, 'sync_delta', { performances: [performance], cursor: 0 });
  assert.equal(delta.passes.filter((p) => p.barcode === 'SHOT-0001').length, 1, 'one admission, none flagged');
  assert.equal(delta.passes.filter((p) => p.conflict).length, 0);
  const history = await call(admin, 'reports/history', { performance, barcode: 'SHOT-0001' });
  assert.equal(history.scans.length, 2);
  for (const scan of history.scans) assert.equal(scan.offline, false, 'decided by the server');
  console.log(`two doors: server verdicts after ${verdicts.map((v) => v.decidedMs.toFixed(1)).join(', ')} ms (deadline ${DEADLINE_MS} ms)`);
  // Once uploaded, each server decision carries the round trip its door measured.
  let timed;
  for (let tries = 0; tries < 50; tries++) {
    timed = await call(admin, 'reports/history', { performance, barcode: 'SHOT-0001' });
    if (timed.scans.every((scan) => scan.round_trip_ms !== null)) break;
    await admin.waitForTimeout(200);
  }
  for (const scan of timed.scans) assert.ok(Number.isInteger(scan.round_trip_ms) && scan.round_trip_ms < DEADLINE_MS, JSON.stringify(scan));
  for (const { context } of doors) await context.close();
  await office.close();
});

test('a server slower than the deadline: the door shows its own verdict in time, the server records it once, three misses switch to the device', async () => {
  const { server, browser } = await start({ BILLETIX_TEST_SCAN_DELAY_MS: '1000' });
  const office = await browser.newContext({ locale: 'en-GB' });
  const admin = await office.newPage();
  await signIn(admin, server.url, 'admin', ADMIN_PASSWORD);
  const tickets = Array.from({ length: 4 }, (_, i) => ({ barcode: `SLOW-${i}` }));
  const { institution, performance } = await seedPerformance(admin, { institution: 'Slow hall', tickets });
  await call(admin, 'create_login', { institution, login: 'gate-slow', password: 'slow-door-password', rights });
  const { context, page } = await door(browser, server, performance, 'gate-slow', 'slow-door-password');
  assert.equal(await page.locator('[data-testid=decision-mode]').getAttribute('data-deadline'), String(DEADLINE_MS));

  // Enter to verdict on screen, measured in the page.
  await page.evaluate(() => {
    window.timings = [];
    document.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') window.timings.push({ enter: performance.now(), before: document.querySelector('[data-testid=verdict]')?.dataset.scan });
    }, true);
    new MutationObserver(() => {
      const last = window.timings.at(-1);
      const shown = document.querySelector('[data-testid=verdict]');
      if (last && !last.shown && shown && shown.dataset.scan !== last.before) last.shown = performance.now();
    }).observe(document.body, { subtree: true, childList: true, attributes: true });
  });
  let before = null;
  const verdicts = [];
  for (const { barcode } of tickets) {
    await wedgeScan(page, barcode);
    const verdict = await nextVerdict(page, before);
    verdicts.push(verdict);
    before = verdict.scan;
  }
  const timings = await page.evaluate(() => window.timings.map((t) => t.shown - t.enter));
  console.log(`slow server: Enter to verdict ${timings.map((t) => t.toFixed(1)).join(', ')} ms; read to verdict ${verdicts.map((v) => v.decidedMs.toFixed(1)).join(', ')} ms (deadline ${DEADLINE_MS} ms)`);
  for (const [i, verdict] of verdicts.entries()) {
    assert.deepEqual([verdict.colour, verdict.decidedBy], ['green', 'device'], `scan ${i}: ${JSON.stringify(verdict)}`);
    assert.ok(timings[i] <= DEADLINE_MS + 50, `scan ${i}: verdict after ${timings[i]} ms, deadline ${DEADLINE_MS} ms`);
  }
  // Three misses in a row: the door decides alone, at once, and says so.
  await page.locator('[data-testid=decision-mode][data-mode=device_only]').waitFor();
  assert.match(await page.locator('[data-testid=decision-mode]').textContent(), /too slow/);
  assert.ok(timings[3] < 100, `device only: ${timings[3]} ms`);

  await page.locator('[data-testid=pending][data-count="0"]').waitFor({ timeout: 30_000 });
  await page.waitForTimeout(1_500); // the late online requests land after the uploads
  const delta = await call(admin, 'sync_delta', { performances: [performance], cursor: 0 });
  for (const { barcode } of tickets) {
    assert.equal(delta.passes.filter((p) => p.barcode === barcode).length, 1, `${barcode} recorded once`);
    const history = await call(admin, 'reports/history', { performance, barcode });
    assert.equal(history.scans.length, 1, `${barcode}: one scan`);
    assert.equal(history.scans[0].offline, true, 'decided on the device');
    assert.equal(history.scans[0].server_agreed, true);
  }
  const reasons = await Promise.all(tickets.map(({ barcode }) => call(admin, 'reports/history', { performance, barcode })));
  assert.deepEqual(reasons.map((h) => h.scans[0].device_reason), ['timeout', 'timeout', 'timeout', 'device_only']);
  await context.close();
  await office.close();
});
