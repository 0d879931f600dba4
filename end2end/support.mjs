// Shared by the browser tests: start the release server on a fresh database, and Chromium.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach } from 'node:test';
import { chromium } from 'playwright-core';

export const ADMIN_PASSWORD = 'first-master-password';
const ROOT = resolve(import.meta.dirname, '..');

function freePort() {
  return new Promise((done, fail) => {
    const probe = createServer();
    probe.once('error', fail);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => done(port));
    });
  });
}

async function waitUntilUp(url, server, deadline) {
  while (Date.now() < deadline) {
    if (server.exitCode !== null) throw new Error(`server exited with ${server.exitCode}`);
    try {
      const response = await fetch(url);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`server did not answer at ${url}`);
}

/**
 * The binary `cargo leptos build --release` made, on its own SQLite file and port; `env`: more
 * variables for it (such as the test-only `BILLETIX_TEST_SCAN_DELAY_MS`).
 */
export async function startServer({ env = {} } = {}) {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'billetix-e2e-'));
  const targetDir = resolve(ROOT, process.env.CARGO_TARGET_DIR || 'target');
  const server = spawn(join(targetDir, 'release', 'billetix'), [], {
    cwd: ROOT,
    env: {
      ...process.env,
      BILLETIX_ADDR: `127.0.0.1:${port}`,
      BILLETIX_DATA_DIR: dataDir,
      BILLETIX_ADMIN_PASSWORD: ADMIN_PASSWORD,
      LEPTOS_OUTPUT_NAME: 'billetix',
      LEPTOS_SITE_ROOT: 'target/site',
      LEPTOS_SITE_PKG_DIR: 'pkg',
      LEPTOS_HASH_FILES: 'true',
      RUST_LOG: 'warn',
      ...env,
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  await waitUntilUp(`${url}/signin`, server, Date.now() + 30_000);
  return { url, stop: () => server.kill('SIGTERM') };
}

const CHROMIUM = {
  executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
  headless: true,
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
  ],
};

// What the server's Content Security Policy blocked in any page of any browser started here:
// every test ends with none, so each checks that the app runs under its policy.
const policyViolations = [];

afterEach(() => {
  assert.deepEqual(policyViolations.splice(0), [], 'the Content Security Policy blocked something');
});

async function watchPolicy(context) {
  await context.exposeBinding('billetixPolicyViolation', (_source, report) => policyViolations.push(report));
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      window.billetixPolicyViolation(`${e.effectiveDirective} blocked ${e.blockedURI || 'inline'} at ${e.sourceFile}:${e.lineNumber}`);
    });
  });
  // Chromium also reports each blocked load, workers' included, as a console error.
  context.on('console', (message) => {
    if (message.type() === 'error' && /Content Security Policy/i.test(message.text())) policyViolations.push(message.text());
  });
  return context;
}

/** `extraArgs`: more Chromium switches, such as a fake camera's. */
export async function launchBrowser(extraArgs = []) {
  const browser = await chromium.launch({ ...CHROMIUM, args: [...CHROMIUM.args, ...extraArgs] });
  const newContext = browser.newContext.bind(browser);
  browser.newContext = async (options) => watchPolicy(await newContext(options));
  return browser;
}

/** A browser with a real profile (not incognito), as an installed app has. */
export async function launchProfile(options = {}) {
  const profile = mkdtempSync(join(tmpdir(), 'billetix-profile-'));
  return watchPolicy(await chromium.launchPersistentContext(profile, { ...CHROMIUM, ...options }));
}

/** Waits for the WASM app to take over the server-rendered page. */
export async function hydrated(page) {
  await page.waitForSelector('body[data-hydrated]', { timeout: 15_000 });
}

/**
 * Every uncaught page error (a WASM panic among them) and console error of `page`, as they come:
 * a test ends with `assert.deepEqual(errors, [])`.
 */
export function recordErrors(page) {
  const errors = [];
  page.on('pageerror', (error) => errors.push(`page error at ${page.url()}: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console error at ${page.url()}: ${message.text()}`);
  });
  return errors;
}

export async function signIn(page, url, login, password) {
  await page.goto(`${url}/signin`);
  await hydrated(page);
  await page.fill('input[name=login]', login);
  await page.fill('input[name=password]', password);
  await page.click('button[type=submit]');
  await page.waitForURL((u) => !u.pathname.startsWith('/signin'));
  await hydrated(page);
}

/** Calls a server function as the page's signed-in login; throws with the server's error. */
export function call(page, name, args) {
  return page.evaluate(async ([name, args]) => {
    const response = await fetch(`/api/${name}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(args),
    });
    const body = await response.json();
    if (!response.ok) throw new Error(`${name}: ${JSON.stringify(body)}`);
    return body;
  }, [name, args]);
}

/**
 * A new institution under the page's Master with one performance fed from a CSV file and
 * open for scanning (PDA ticked), made through the back office's own server functions.
 */
export async function seedPerformance(page, { institution: name, tickets }) {
  const me = await call(page, 'whoami', {});
  const institution = (await call(page, 'create_institution', { parent: me.master_of, name })).id;
  const venue = await call(page, 'create_venue', { institution, name: 'Olympia', time_zone: 'Europe/Paris' });
  const event = await call(page, 'create_event', { venue, name: `Gala ${name}` });
  const performance = await call(page, 'create_performance', {
    event, label: '', starts_at: '2030-06-01T20:00', valid_from: null, valid_to: null, import_end: null,
  });
  const source = await call(page, 'sources/save', {
    institution, source: null, kind: 'file', name: 'Box office', settings: {}, secrets: {},
    periods: { long_minutes: 240, short_minutes: 5, short_window_hours: 24 },
  });
  await call(page, 'sources/attach', { performance, source, options: {} });
  const csv = 'barcode;category;holder_name;status\n'
    + tickets.map((t) => `${t.barcode};${t.category ?? 'general'};${t.holder ?? ''};${t.status ?? 'valid'}`).join('\n') + '\n';
  const imported = await page.evaluate(async ([performance, source, csv]) => {
    const response = await fetch(`/upload/source-file?performance=${performance}&source=${source}&file_name=tickets.csv&dry_run=false`, {
      method: 'POST', body: csv,
    });
    return { ok: response.ok, body: await response.text() };
  }, [performance, source, csv]);
  if (!imported.ok) throw new Error(`upload: ${imported.body}`);
  await call(page, 'set_pda_open', { performance, open: true });
  return { institution, performance };
}

/** Opens the scanner, signed in, with `performance` imported and under control. */
export async function scannerAt(page, url, performance, { login = 'admin', password = ADMIN_PASSWORD } = {}) {
  await page.goto(`${url}/scanner`);
  await hydrated(page);
  await page.locator('[data-testid=scanner][data-phase=ready]').waitFor();
  const signin = page.locator('[data-testid=scanner-signin]');
  await page.locator('[data-testid=scanner-signin], [data-testid=open-performances]').first().waitFor();
  if (await signin.isVisible()) {
    await signin.locator('input[name=login]').fill(login);
    await signin.locator('input[name=password]').fill(password);
    await signin.locator('button[type=submit]').click();
  }
  const open = page.locator(`[data-testid=open-performance][data-performance="${performance}"]`);
  await open.locator('[data-testid=import]').click();
  await page.locator(`[data-testid=control][data-performance="${performance}"]`).check();
  await page.click('[data-testid=start-door]');
  await page.locator('[data-testid=device-counter]').waitFor();
}

/** Types a code as a keyboard-wedge scanner does: fast keys, then Enter, no field focused. */
export async function wedgeScan(page, code) {
  await page.evaluate(() => document.activeElement instanceof HTMLElement && document.activeElement.blur());
  await page.keyboard.type(code);
  await page.keyboard.press('Enter');
}

/** A fake-camera video (.y4m) of `text` drawn as a `format` code by rxing (`ticket_y4m`). */
export function ticketVideo(format, text) {
  const out = join(mkdtempSync(join(tmpdir(), 'billetix-y4m-')), `${format}.y4m`);
  execFileSync('cargo', ['run', '-q', '-p', 'decoder', '--bin', 'ticket_y4m', '--', '--format', format, '--text', text, '--out', out], {
    cwd: ROOT,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  return out;
}

/** Chromium showing `y4m` as its camera. */
export async function withCamera(y4m) {
  return launchBrowser(['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', `--use-file-for-fake-video-capture=${y4m}`]);
}
