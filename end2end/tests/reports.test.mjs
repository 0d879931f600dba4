// The report's pages and the Usage tab, as a venue manager reaches them (issue 23's two broken
// screens): the report's *Next* was always disabled, with source code for its label, and opening
// *Usage* panicked in the browser. Each test fails on any page error or console error.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ADMIN_PASSWORD, launchBrowser, seedPerformance, signIn, startServer } from '../support.mjs';

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

/** A signed-in page that records every page error and console error. */
async function watchedPage() {
  const page = await (await browser.newContext({ locale: 'en-GB' })).newPage();
  const errors = [];
  page.on('pageerror', (error) => errors.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console error: ${message.text()}`);
  });
  await signIn(page, server.url, 'admin', ADMIN_PASSWORD);
  return { page, errors };
}

test('the report pages forward and back through 60 tickets', async () => {
  const { page, errors } = await watchedPage();
  const tickets = Array.from({ length: 60 }, (_, i) => ({ barcode: `PAGE-${String(i).padStart(3, '0')}` }));
  const { performance } = await seedPerformance(page, { institution: 'Report arena', tickets });
  await page.goto(`${server.url}/backoffice`);
  await page.locator('[data-testid=institution-tree] button.node:has-text("Report arena")').click();
  const row = page.locator(`tr[data-performance="${performance}"]`);
  await row.locator('[data-testid=report-link] summary').click();
  const range = row.locator('[data-testid=report-range]');
  await range.filter({ hasText: '1–50 of 60' }).waitFor();
  const next = row.locator('[data-testid=report-next]');
  assert.equal((await next.textContent()).trim(), 'Next', 'the label is a word, not source code');
  assert.ok(await next.isEnabled(), 'rows past the first page can be reached');
  await next.click();
  await range.filter({ hasText: '51–60 of 60' }).waitFor();
  assert.ok(await row.locator('[data-testid=report-rows] tr[data-barcode="PAGE-059"]').isVisible());
  assert.ok(await next.isDisabled(), 'no page after the last');
  await row.locator('[data-testid=report-prev]').click();
  await range.filter({ hasText: '1–50 of 60' }).waitFor();
  assert.deepEqual(errors, []);
});

test('the Usage tab opens without an error', async () => {
  const { page, errors } = await watchedPage();
  // The tab is the root institution's, the tree's first node.
  await page.locator('[data-testid=institution-tree] button.node').first().click();
  await page.click('[data-testid=usage-tab-button]');
  await page.locator('[data-testid=usage-tab]').waitFor();
  await page.locator('[data-testid=usage-tab] input[name=usage-from]').waitFor();
  const month = await page.locator('[data-testid=usage-tab] input[name=usage-from]').inputValue();
  assert.match(month, /^\d{4}-\d{2}$/, 'this month is shown');
  // Another tab and back: the app keeps working.
  await page.click('[data-testid=users-tab-button]');
  await page.click('[data-testid=usage-tab-button]');
  await page.locator('[data-testid=usage-tab]').waitFor();
  await page.waitForTimeout(300);
  assert.deepEqual(errors, []);
});
