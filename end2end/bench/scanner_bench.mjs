// Scanner benchmark in headless Chromium, against the release build (`cargo leptos build
// --release` first): import a 100,000-ticket performance to the device (time, bytes on the
// wire), the verdict's latency over 10,000 scans (p50/p99), key-Enter to painted verdict
// (median), and what the scanner page weighs compressed.
//   node end2end/bench/scanner_bench.mjs [--tickets 100000] [--scans 10000] [--painted 300]
import { gzipSync, brotliCompressSync } from 'node:zlib';
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ADMIN_PASSWORD, launchBrowser, seedPerformance, signIn, startServer, hydrated } from '../support.mjs';

const { values } = parseArgs({
  options: { tickets: { type: 'string', default: '100000' }, scans: { type: 'string', default: '10000' }, painted: { type: 'string', default: '300' } },
});
const ticketCount = Number(values.tickets);
const scanCount = Number(values.scans);
const paintedCount = Number(values.painted);

const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
const ms = (x) => `${x.toFixed(3)} ms`;

const server = await startServer();
const browser = await launchBrowser();
try {
  const context = await browser.newContext({ locale: 'en-GB' });
  const page = await context.newPage();
  await signIn(page, server.url, 'admin', ADMIN_PASSWORD);
  // Numbers as partners issue them: 14 random digits and capitals (a fixed seed), not a
  // sequence, which would compress far better than real tickets do.
  let seed = 20261203; // mulberry32: 32-bit integer steps, exact in JavaScript
  const random = () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const alphabet = '0123456789ABCDEFGHJKLMNPQRSTUVWXYZ';
  const code = () => Array.from({ length: 14 }, () => alphabet[Math.floor(random() * alphabet.length)]).join('');
  const tickets = Array.from({ length: ticketCount }, (_, i) => ({ barcode: code(), category: ['general', 'vip', 'staff'][i % 3] }));
  const { performance } = await seedPerformance(page, { institution: 'Bench arena', tickets });

  await page.goto(`${server.url}/scanner`);
  await hydrated(page);
  await page.locator('[data-testid=open-performances] [data-testid=import]').waitFor();

  // Bytes of the verdict data on the wire: the snapshot answer, compressed as sent.
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  const requests = new Map();
  let snapshotBytes = 0;
  cdp.on('Network.requestWillBeSent', (e) => requests.set(e.requestId, e.request.url));
  cdp.on('Network.loadingFinished', (e) => {
    if ((requests.get(e.requestId) || '').endsWith('/api/sync_snapshot')) snapshotBytes += e.encodedDataLength;
  });

  const started = Date.now();
  await page.click(`[data-testid=open-performance][data-performance="${performance}"] [data-testid=import]`);
  await page.locator(`[data-testid=control][data-performance="${performance}"]`).waitFor({ timeout: 120_000 });
  const importMs = Date.now() - started;

  await page.locator(`[data-testid=control][data-performance="${performance}"]`).check();
  await page.click('[data-testid=start-door]');
  await page.locator('[data-testid=typed-number]').waitFor();
  const counted = await page.locator('[data-testid=device-counter]').textContent();
  if (!new RegExp(`/\\s*${ticketCount}\\b`).test(counted)) throw new Error(`the device holds ${counted}, not ${ticketCount} tickets`);

  // The device's own decision is what this bench times: online, the scanner asks the server
  // first (end2end/bench/online_first_bench.mjs times that), so the door is taken off the network.
  await context.setOffline(true);

  // Verdict latency over typed-entry submits: the engine's decision on the device's copy, as
  // the scanner times it (`data-decided-ms`), and the whole synchronous submit handler
  // (decision, state, screen update), timed in the page. Chromium's clock has 0.1 ms steps.
  const codes = Array.from({ length: scanCount }, (_, i) => (i % 20 === 19 ? `UNKNOWN-${i}` : tickets[(i * 7919) % ticketCount].barcode));
  const { engine, handler } = await page.evaluate(async (codes) => {
    const input = document.querySelector('[data-testid=typed-number]');
    const engine = [];
    const handler = [];
    for (const code of codes) {
      input.value = code;
      input.dispatchEvent(new Event('input', { bubbles: true }));
      const previous = document.querySelector('[data-testid=verdict]')?.dataset.scan;
      const t0 = performance.now();
      input.form.requestSubmit();
      handler.push(performance.now() - t0);
      // The screen may be updated a task later: wait for this scan's verdict to read its time.
      let verdict = document.querySelector('[data-testid=verdict]');
      while (!verdict || verdict.dataset.scan === previous) {
        await new Promise((r) => setTimeout(r, 0));
        verdict = document.querySelector('[data-testid=verdict]');
      }
      engine.push(Number(verdict.dataset.decidedMs));
    }
    return { engine, handler };
  }, codes);
  engine.sort((a, b) => a - b);
  handler.sort((a, b) => a - b);

  // Key-Enter to painted verdict, with real key events: from the keydown's time stamp to the
  // first animation frame after the verdict for that scan is in the page.
  const painted = [];
  for (let i = 0; i < paintedCount; i++) {
    await page.fill('[data-testid=typed-number]', tickets[(i * 104729 + 13) % ticketCount].barcode);
    const measured = page.evaluate(() => new Promise((done) => {
      const input = document.querySelector('[data-testid=typed-number]');
      const previous = document.querySelector('[data-testid=verdict]')?.dataset.scan;
      input.addEventListener('keydown', (event) => {
        const pressed = event.timeStamp;
        const check = () => {
          const verdict = document.querySelector('[data-testid=verdict]');
          if (verdict && verdict.dataset.scan !== previous) requestAnimationFrame(() => done(performance.now() - pressed));
          else requestAnimationFrame(check);
        };
        check();
      }, { once: true });
    }));
    await page.press('[data-testid=typed-number]', 'Enter');
    painted.push(await measured);
  }
  painted.sort((a, b) => a - b);

  // What the scanner page loads, compressed as the server sends it.
  const site = resolve(import.meta.dirname, '..', '..', 'target', 'site', 'pkg');
  const sizes = readdirSync(site).filter((f) => /\.(wasm|js)$/.test(f)).map((f) => {
    const raw = readFileSync(join(site, f));
    return { file: f, raw: raw.length, gzip: gzipSync(raw, { level: 9 }).length, brotli: brotliCompressSync(raw).length };
  });

  console.log(`tickets: ${ticketCount}`);
  console.log(`import to the device: ${importMs} ms, snapshot on the wire ${snapshotBytes} B (${(snapshotBytes / ticketCount).toFixed(1)} B/ticket)`);
  console.log(`engine verdict on the device over ${engine.length} scans: p50 ${ms(quantile(engine, 0.5))}, p99 ${ms(quantile(engine, 0.99))}, max ${ms(engine[engine.length - 1])}`);
  console.log(`whole submit handler over ${handler.length} scans: p50 ${ms(quantile(handler, 0.5))}, p99 ${ms(quantile(handler, 0.99))}, max ${ms(handler[handler.length - 1])}`);
  console.log(`key-Enter to painted verdict over ${painted.length} scans: median ${ms(quantile(painted, 0.5))}, p95 ${ms(quantile(painted, 0.95))}`);
  for (const s of sizes) console.log(`page file ${s.file}: ${s.raw} B raw, ${s.gzip} B gzip, ${s.brotli} B brotli`);
  await context.close();
} finally {
  await browser.close();
  server.stop();
}
