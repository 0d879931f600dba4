// The back office as a venue uses it: a file source feeds a performance from a CSV (checked,
// then imported), PDA opens it, the counter follows the doors without a reload, and an
// excluded category is refused as filtered; the report exports to .xlsx and reads back.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { readSheet } from 'read-excel-file/node';
import { ADMIN_PASSWORD, launchBrowser, signIn, startServer } from '../support.mjs';

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

/** Scans through the scanner's HTTP API, as a door would (same session as the page). */
function scan(page, performance, barcode) {
  return page.evaluate(async ([performance, barcode]) => {
    const response = await fetch('/api/scan', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ request: { scan_id: crypto.randomUUID(), barcode, device: 'e2e-door', client_time: Date.now(),
        door: { performances: [Number(performance)], mode: { mode: 'single_pass' } } } }),
    });
    return (await response.json()).verdict;
  }, [performance, barcode]);
}

test('a CSV feeds a performance; the counter follows the doors live; a category is filtered', async () => {
  const page = await (await browser.newContext({ locale: 'en-GB' })).newPage();
  await signIn(page, server.url, 'admin', ADMIN_PASSWORD);

  // The institution's file source.
  await page.click('[data-testid=sources-tab-button]');
  await page.click('[data-testid=add-source]');
  await page.selectOption('[data-testid=source-form] select[name=kind]', 'file');
  await page.fill('[data-testid=source-form] input[name=source-name]', 'Box office');
  await page.click('[data-testid=source-form] button[type=submit]');
  await page.locator('tr[data-source="Box office"]').waitFor();

  // A venue, an event, a performance.
  await page.click('nav.tabs button:first-child');
  await page.fill('input[name=venue-name]', 'Olympia');
  await page.click('[data-testid=venue-form] button');
  await page.waitForSelector('select[name=event-venue] option:has-text("Olympia")', { state: 'attached' });
  await page.selectOption('select[name=event-venue]', { label: 'Olympia' });
  await page.fill('input[name=event-name]', 'Gala');
  await page.click('[data-testid=event-form] button');
  await page.waitForSelector('select[name=performance-event] option:has-text("Gala")', { state: 'attached' });
  await page.selectOption('select[name=performance-event]', { label: 'Gala' });
  await page.fill('input[name=performance-start]', '2030-03-14T20:00');
  await page.click('[data-testid=performance-form] button');
  const row = page.locator('tr[data-venue="Olympia"]');
  await row.waitFor();
  const performance = await row.getAttribute('data-performance');

  // Attach the source, check the file, import it.
  await row.locator('[data-testid=performance-sources] summary').click();
  await row.locator('select[name=attach-source]').selectOption({ label: 'Box office' });
  await row.locator('[data-testid=attach-form] button[type=submit]').click();
  const attachment = row.locator('[data-testid=attachment]');
  await attachment.waitFor();
  const csv = 'barcode;category;holder_name;status\nGALA-001;general;Ada Lovelace;valid\nGALA-002;vip;Alan Turing;valid\n'
    + 'GALA-003;general;Grace Hopper;cancelled\nGALA-004;general;Edsger Dijkstra;valid\n';
  await attachment.locator('[data-testid=file-input]').setInputFiles({ name: 'gala.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
  await attachment.locator('[data-testid=check-file]').click();
  await attachment.locator('[data-testid=upload-result]:has-text("4 tickets ready")').waitFor();
  assert.match(await attachment.locator('[data-testid=file-preview]').textContent(), /Ada Lovelace/);
  await attachment.locator('[data-testid=import-file]').click();
  await row.locator('[data-testid=attachment-tickets]:has-text("4")').waitFor();
  await row.locator('[data-testid=counter]:has-text("0 / 3")').waitFor();

  // Open for scanning; the doors admit; the counter moves without a reload.
  await row.locator('[data-testid=pda]').check();
  await page.waitForFunction(() => true);
  assert.equal((await scan(page, performance, 'GALA-001')).verdict, 'accepted');
  await row.locator('[data-testid=counter]:has-text("1 / 3")').waitFor({ timeout: 5_000 });
  assert.equal((await scan(page, performance, 'GALA-003')).reason, 'cancelled');

  // Exclude the VIP category: refused as filtered, still counted.
  await row.locator('[data-testid=filters] summary').click();
  await row.locator('input[data-category=vip]').check();
  await page.waitForFunction(() => true);
  let verdict;
  for (let attempt = 0; attempt < 20; attempt += 1) {
    verdict = await scan(page, performance, 'GALA-002');
    if (verdict.reason === 'filtered_category') break;
    await new Promise((r) => setTimeout(r, 250));
  }
  assert.equal(verdict.reason, 'filtered_category');
  await row.locator('[data-testid=counter]:has-text("1 / 3")').waitFor();

  // The report's .xlsx export, downloaded as the browser does, read back.
  const bytes = await page.evaluate(async (performance) => {
    const response = await fetch(`/export/report?performance=${performance}&format=xlsx`);
    if (!response.ok) throw new Error(`export: ${response.status}`);
    return Array.from(new Uint8Array(await response.arrayBuffer()));
  }, performance);
  const sheet = await readSheet(Buffer.from(bytes));
  assert.equal(sheet.length, 1 + 4, 'a header row and one row per ticket');
  const header = sheet[0].map(String);
  for (const column of ['barcode', 'state', 'category', 'holder_name']) {
    assert.ok(header.some((h) => h.toLowerCase().includes(column)), `column ${column} in ${header}`);
  }
  assert.ok(sheet.some((r) => r.includes('GALA-001')));
});
