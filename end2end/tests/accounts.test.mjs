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
