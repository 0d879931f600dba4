// Every back-office screen, visited as a Master would, in English and in French: the tree, the
// grid and each of its row's panels (category filters, sources, report and a ticket's history,
// editing), automatic creation, the users, sources (each kind's form) and usage tabs, the
// account page and the scanner it opens. Any page error (a WASM panic) or console error fails
// the tour, and so does a screen that never shows: the Usage tab's panic (issue 23) left the
// tab empty and the app showing wrong data until a reload.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ADMIN_PASSWORD, call, launchBrowser, recordErrors, seedPerformance, signIn, startServer } from '../support.mjs';

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

/** A scan through the doors' HTTP API, so the report has a history to show. */
function scan(page, performance, barcode) {
  return call(page, 'scan', {
    request: {
      scan_id: crypto.randomUUID(), barcode, device: 'tour-door', client_time: Date.now(),
      door: { performances: [Number(performance)], mode: { mode: 'single_pass' } },
    },
  });
}

async function tour(locale, institution) {
  const page = await (await browser.newContext({ locale, viewport: { width: 1366, height: 800 } })).newPage();
  const errors = recordErrors(page);
  const visited = [];
  // Each screen must show, and leave no error behind: a failure names the screen.
  const screen = async (name, shown) => {
    try {
      await shown();
    } catch (error) {
      throw new Error(`${name}: did not show (${error.message.split('\n')[0]}); errors: ${JSON.stringify(errors)}`);
    }
    assert.deepEqual(errors, [], `errors on ${name}`);
    visited.push(name);
  };
  await signIn(page, server.url, 'admin', ADMIN_PASSWORD);
  const tickets = [
    { barcode: 'TOUR-001', category: 'general', holder: 'Ada Lovelace' },
    { barcode: 'TOUR-002', category: 'vip', holder: 'Émilie du Châtelet' },
    { barcode: 'TOUR-003', category: 'general', status: 'cancelled' },
  ];
  const { performance } = await seedPerformance(page, { institution, tickets });
  await scan(page, performance, 'TOUR-001');
  await page.goto(`${server.url}/backoffice`);
  const tree = page.locator('[data-testid=institution-tree]');
  const tab = (name) => page.click(`[data-testid=${name}-tab-button]`);
  const performancesTab = () => page.click('nav.tabs button:first-child');

  // The root institution: the Usage tab is its alone.
  await tree.locator('button.node').first().click();
  await screen('root grid', () => page.locator('[data-testid=performance-grid]').waitFor());
  await screen('automatic creation', async () => {
    const listed = page.waitForResponse((r) => new URL(r.url()).pathname === '/api/partner_events');
    await page.click('[data-testid=list-partner-events]');
    assert.equal((await listed).status(), 200);
  });
  await tab('users');
  await screen('root users', () => page.locator('[data-testid=create-login-form]').waitFor());
  await tab('sources');
  await screen('root sources', () => page.locator('[data-testid=sources]').waitFor());
  await page.click('[data-testid=add-source]');
  const kinds = await page.locator('[data-testid=source-form] select[name=kind] option').evaluateAll((o) => o.map((e) => e.value));
  assert.ok(kinds.length >= 2, `source kinds: ${kinds}`);
  for (const kind of kinds) {
    await screen(`source form: ${kind}`, async () => {
      await page.selectOption('[data-testid=source-form] select[name=kind]', kind);
      await page.locator('[data-testid=source-form] input[name=source-name]').waitFor();
    });
  }
  await page.click('[data-testid=source-form] button[type=button]');
  await tab('usage');
  await screen('usage', () => page.locator('[data-testid=usage]').waitFor({ timeout: 5_000 }));
  const from = page.locator('[data-testid=usage-tab] input[name=usage-from]');
  assert.match(await from.inputValue(), /^\d{4}-\d{2}$/, 'this month, by the browser clock');
  await screen('usage, another month', async () => {
    await from.fill('2020-01');
    await from.dispatchEvent('change');
    await page.locator('[data-testid=usage]').waitFor();
  });
  await performancesTab();

  // The seeded institution: its grid answers after the Usage tab (it did not once that tab had
  // panicked), and each panel of its row opens.
  await tree.locator(`button.node:has-text("${institution}")`).click();
  const row = page.locator(`tr[data-performance="${performance}"]`);
  await screen('grid', () => row.waitFor({ timeout: 5_000 }));
  await screen('category filters', async () => {
    await row.locator('[data-testid=filters] summary').click();
    await row.locator('input[data-category=vip]').waitFor();
  });
  await screen('performance sources', async () => {
    await row.locator('[data-testid=performance-sources] summary').click();
    await row.locator('[data-testid=attachment]').waitFor();
  });
  await screen('report', async () => {
    await row.locator('[data-testid=report-link] summary').click();
    await row.locator('[data-testid=report-rows] tr[data-barcode=TOUR-003]').waitFor();
  });
  await screen('report sorted', async () => {
    await row.locator('[data-testid=report-rows] th[data-column=Holder]').click();
    await row.locator('[data-testid=report-rows] th[data-column=Holder]:has-text("▲")').waitFor();
  });
  await screen('ticket history', async () => {
    await row.locator('[data-testid=report-rows] tr[data-barcode=TOUR-001]').click();
    await row.locator('[data-testid=report-history] [data-testid=history-scan]').waitFor();
  });
  await screen('report filtered to nothing', async () => {
    await row.locator('[data-testid=report-filter]').fill('no such ticket');
    await row.locator('[data-testid=report-range]').filter({ hasText: /No ticket matches|Aucun billet ne correspond/ }).waitFor();
  });
  await screen('performance edit', async () => {
    await row.locator('[data-testid=edit]').click();
    await page.locator('[data-testid=performance-form] button[type=button]').click();
  });
  await tab('users');
  await screen('users', async () => {
    await page.fill('input[name=new-login]', `door.${locale.slice(0, 2)}`);
    await page.fill('input[name=new-password]', 'a door login password');
    await page.check('input[name=new-pda]');
    await page.click('[data-testid=create-login-form] button[type=submit]');
    await page.locator(`tr[data-login="door.${locale.slice(0, 2)}"]`).waitFor();
  });
  await tab('sources');
  await screen('source edit', async () => {
    await page.click('tr[data-source="Box office"] button:first-child');
    await page.locator('[data-testid=source-form] input[name=source-name]').waitFor();
    assert.equal(await page.inputValue('[data-testid=source-form] input[name=source-name]'), 'Box office');
    await page.click('[data-testid=source-form] button[type=button]');
  });
  assert.equal(await page.locator('[data-testid=usage-tab-button]').count(), 0, 'usage is the root institution\'s');

  // The login's own page, and the scanner it opens.
  await page.click('[data-testid=who]');
  await screen('account', () => page.locator('[data-testid=account-login]').waitFor());
  await page.click('[data-testid=open-scanner]');
  await screen('scanner', () => page.locator(`[data-testid=open-performance][data-performance="${performance}"]`).waitFor());

  assert.deepEqual(errors, [], `after ${visited.join(', ')}`);
  assert.ok(visited.length >= 20, `screens visited: ${visited.length}`);
}

test('every back-office screen, in English, without an error', () => tour('en-GB', 'Tour hall'));

test('every back-office screen, in French, without an error', () => tour('fr-FR', 'Salle du tour'));
