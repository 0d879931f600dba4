// Signing in before the app has loaded (a slow phone link: the form shows at once, the WASM
// seconds later) or without JavaScript: the browser posts the form itself, so the password goes
// in a request's body, never in an address (issue 23, problem 6: a native GET put it in the
// address bar and the history).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ADMIN_PASSWORD, hydrated, launchBrowser, recordErrors, startServer } from '../support.mjs';

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

/** Every address `page` asks for, documents and subresources alike. */
function recordAddresses(page) {
  const addresses = [];
  page.on('request', (request) => addresses.push(request.url()));
  return addresses;
}

function assertNoPassword(addresses, password) {
  assert.ok(addresses.length > 0);
  for (const address of addresses) {
    assert.ok(!address.includes(password) && !address.includes(encodeURIComponent(password)), `password in ${address}`);
  }
}

/** Holds the app's WASM back until `release()`, as a slow link does. */
async function holdWasm(page) {
  let release;
  const released = new Promise((resolve) => { release = resolve; });
  await page.route('**/*.wasm', async (route) => {
    await released;
    // A request the page dropped by navigating away cannot go on.
    await route.continue().catch(() => {});
  });
  return release;
}

test('without JavaScript, the form is posted: signed in, the password in no address', async () => {
  const context = await browser.newContext({ locale: 'en-GB', javaScriptEnabled: false });
  const page = await context.newPage();
  const addresses = recordAddresses(page);
  const posts = [];
  page.on('request', (request) => {
    if (request.method() === 'POST') posts.push(request);
  });
  await page.goto(`${server.url}/signin`);
  await page.fill('input[name=login]', 'admin');
  await page.fill('input[name=password]', ADMIN_PASSWORD);
  await page.click('button[type=submit]');
  await page.waitForURL((u) => u.pathname === '/backoffice');
  assert.equal(posts.length, 1, 'one form post');
  assert.match(posts[0].postData() ?? '', new RegExp(`password=${ADMIN_PASSWORD}`), 'the password in the body');
  assert.ok((await context.cookies()).some((c) => c.name === 'billetix_session'), 'a session');

  // A wrong password comes back to the form, which says why in words.
  await context.clearCookies();
  await page.goto(`${server.url}/signin`);
  await page.fill('input[name=login]', 'admin');
  await page.fill('input[name=password]', 'not-the-password');
  await page.click('button[type=submit]');
  await page.waitForURL((u) => u.pathname === '/signin' && u.searchParams.get('failed') === 'credentials');
  assert.match(await page.textContent('main.signin'), /Wrong login or password/);
  assertNoPassword(addresses, ADMIN_PASSWORD);
  assertNoPassword(addresses, 'not-the-password');
  await context.close();
});

test('submitted before the WASM has loaded: signed in, the password in no address', async () => {
  const context = await browser.newContext({ locale: 'fr-FR' });
  const page = await context.newPage();
  const errors = recordErrors(page);
  const addresses = recordAddresses(page);
  const release = await holdWasm(page);
  await page.goto(`${server.url}/signin`, { waitUntil: 'domcontentloaded' });
  await page.fill('input[name=login]', 'admin');
  await page.fill('input[name=password]', ADMIN_PASSWORD);
  assert.equal(await page.locator('body[data-hydrated]').count(), 0, 'the app has not loaded yet');
  await page.click('button[type=submit]');
  await page.waitForURL((u) => u.pathname === '/backoffice');
  release();
  await hydrated(page);
  await page.locator('[data-testid=institution-tree]').waitFor();
  assertNoPassword(addresses, ADMIN_PASSWORD);
  assert.deepEqual(errors, []);
  await context.close();
});

test('typed before the WASM has loaded, submitted after: what was typed signs in', async () => {
  const context = await browser.newContext({ locale: 'en-GB' });
  const page = await context.newPage();
  const errors = recordErrors(page);
  const addresses = recordAddresses(page);
  const release = await holdWasm(page);
  await page.goto(`${server.url}/signin`, { waitUntil: 'domcontentloaded' });
  await page.fill('input[name=login]', 'admin');
  await page.fill('input[name=password]', ADMIN_PASSWORD);
  release();
  await hydrated(page);
  assert.equal(await page.inputValue('input[name=password]'), ADMIN_PASSWORD, 'the app kept what was typed');
  await page.click('button[type=submit]');
  await page.waitForURL((u) => u.pathname === '/backoffice');
  await hydrated(page);
  assertNoPassword(addresses, ADMIN_PASSWORD);
  assert.deepEqual(errors, []);
  await context.close();
});

test("the scanner's sign-in exists only once its app runs: no form to submit before", async () => {
  const context = await browser.newContext({ locale: 'en-GB', javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto(`${server.url}/scanner`);
  await page.locator('[data-testid=scanner][data-phase=loading]').waitFor();
  assert.equal(await page.locator('input[type=password]').count(), 0);
  await context.close();
});
