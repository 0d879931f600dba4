// The report's pages and the Usage tab, as a venue manager reaches them (issue 23's two broken
// screens): the report's *Next* was always disabled, with source code for its label, and opening
// *Usage* panicked in the browser. Each test fails on any page error or console error.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ADMIN_PASSWORD, launchBrowser, recordErrors, seedPerformance, signIn, startServer } from '../support.mjs';

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
async function watchedPage(locale = 'en-GB') {
  const page = await (await browser.newContext({ locale })).newPage();
  const errors = recordErrors(page);
  await signIn(page, server.url, 'admin', ADMIN_PASSWORD);
  return { page, errors };
}

/** The report of `institution`'s performance, opened from its grid row. */
async function openReport(page, institution, performance) {
  await page.goto(`${server.url}/backoffice`);
  await page.locator(`[data-testid=institution-tree] button.node:has-text("${institution}")`).click();
  const row = page.locator(`tr[data-performance="${performance}"]`);
  await row.locator('[data-testid=report-link] summary').click();
  return row;
}

test('the report pages forward and back through 60 tickets', async () => {
  const { page, errors } = await watchedPage();
  const tickets = Array.from({ length: 60 }, (_, i) => ({ barcode: `PAGE-${String(i).padStart(3, '0')}` }));
  const { performance } = await seedPerformance(page, { institution: 'Report arena', tickets });
  const row = await openReport(page, 'Report arena', performance);
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

test('195 tickets: first, previous, next and last page, a page size, and where the rows sit', async () => {
  const { page, errors } = await watchedPage();
  const tickets = Array.from({ length: 195 }, (_, i) => ({ barcode: `ROW-${String(i + 1).padStart(3, '0')}` }));
  const { performance } = await seedPerformance(page, { institution: 'Paging hall', tickets });
  const row = await openReport(page, 'Paging hall', performance);
  const range = row.locator('[data-testid=report-range]');
  const button = (name) => row.locator(`[data-testid=report-${name}]`);
  const shows = async (text, first, last) => {
    await range.filter({ hasText: text }).waitFor();
    const barcodes = await row.locator('[data-testid=report-rows] tbody tr').evaluateAll((rows) => rows.map((r) => r.dataset.barcode));
    assert.equal(barcodes[0], first, `first row of ${text}`);
    assert.equal(barcodes.at(-1), last, `last row of ${text}`);
  };
  const enabled = async (expected) => {
    for (const [name, on] of Object.entries(expected)) assert.equal(await button(name).isEnabled(), on, `${name} enabled`);
  };

  await shows('rows 1–50 of 195', 'ROW-001', 'ROW-050');
  await enabled({ first: false, prev: false, next: true, last: true });
  assert.deepEqual(await Promise.all(['first', 'prev', 'next', 'last'].map(async (n) => (await button(n).textContent()).trim())),
    ['First', 'Previous', 'Next', 'Last']);
  await button('next').click();
  await shows('rows 51–100 of 195', 'ROW-051', 'ROW-100');
  await enabled({ first: true, prev: true, next: true, last: true });
  await button('last').click();
  await shows('rows 151–195 of 195', 'ROW-151', 'ROW-195');
  await enabled({ first: true, prev: true, next: false, last: false });
  await button('prev').click();
  await shows('rows 101–150 of 195', 'ROW-101', 'ROW-150');
  await button('first').click();
  await shows('rows 1–50 of 195', 'ROW-001', 'ROW-050');

  // A bigger page; then a smaller one keeps the first row shown.
  const size = row.locator('[data-testid=report-page-size]');
  assert.equal(await size.inputValue(), '50');
  await size.selectOption('100');
  await shows('rows 1–100 of 195', 'ROW-001', 'ROW-100');
  await button('next').click();
  await shows('rows 101–195 of 195', 'ROW-101', 'ROW-195');
  await enabled({ next: false, last: false });
  await size.selectOption('25');
  await shows('rows 101–125 of 195', 'ROW-101', 'ROW-125');
  await button('last').click();
  await shows('rows 176–195 of 195', 'ROW-176', 'ROW-195');

  // A filter starts again from its first page, and counts what it matches.
  await row.locator('[data-testid=report-filter]').fill('ROW-19');
  await shows('rows 1–6 of 6', 'ROW-190', 'ROW-195');
  await enabled({ first: false, prev: false, next: false, last: false });
  assert.deepEqual(errors, []);
});

test('the report pages in French', async () => {
  const { page, errors } = await watchedPage('fr-FR');
  const tickets = Array.from({ length: 60 }, (_, i) => ({ barcode: `FR-${String(i + 1).padStart(3, '0')}` }));
  const { performance } = await seedPerformance(page, { institution: 'Salle Favart', tickets });
  const row = await openReport(page, 'Salle Favart', performance);
  const range = row.locator('[data-testid=report-range]');
  await range.filter({ hasText: 'lignes 1 à 50 sur 60' }).waitFor();
  assert.deepEqual(await Promise.all(['first', 'prev', 'next', 'last'].map(async (n) => (await row.locator(`[data-testid=report-${n}]`).textContent()).trim())),
    ['Première', 'Précédente', 'Suivante', 'Dernière']);
  assert.match(await row.locator('[data-testid=report-pager] label').textContent(), /Lignes par page/);
  await row.locator('[data-testid=report-last]').click();
  await range.filter({ hasText: 'lignes 51 à 60 sur 60' }).waitFor();
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
