// Shared by the browser tests: start the release server on a fresh database, and Chromium.
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
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

/** The binary `cargo leptos build --release` made, on its own SQLite file and port. */
export async function startServer() {
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
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  await waitUntilUp(`${url}/signin`, server, Date.now() + 30_000);
  return { url, stop: () => server.kill('SIGTERM') };
}

/** `extraArgs`: more Chromium switches, such as a fake camera's. */
export async function launchBrowser(extraArgs = []) {
  return chromium.launch({
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
      ...extraArgs,
    ],
  });
}

/** Waits for the WASM app to take over the server-rendered page. */
export async function hydrated(page) {
  await page.waitForSelector('body[data-hydrated]', { timeout: 15_000 });
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
