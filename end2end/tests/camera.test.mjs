// The camera at the door: Chromium's fake camera shows a ticket (a QR code, then a Ticketnet
// Code 128, drawn by rxing), the scanner reads it with the WASM decoder (this Chromium has no
// BarcodeDetector) and admits it once; the camera started again reads it as already scanned.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ADMIN_PASSWORD, scannerAt, seedPerformance, signIn, startServer, ticketVideo, withCamera } from '../support.mjs';

let server;

before(async () => {
  server = await startServer();
});

after(() => server?.stop());

async function verdictAfterCamera(page, previous) {
  await page.click('[data-testid=camera]');
  await page.locator('[data-testid=camera][data-running=true]').waitFor();
  const shown = page.locator('[data-testid=verdict]' + (previous ? `:not([data-scan="${previous}"])` : ''));
  await shown.waitFor({ timeout: 30_000 });
  const verdict = { reason: await shown.getAttribute('data-reason'), scan: await shown.getAttribute('data-scan') };
  await page.click('[data-testid=camera]'); // stops it: the next start reads the ticket anew
  await page.locator('[data-testid=camera][data-running=false]').waitFor();
  return verdict;
}

for (const [format, code] of [['qr', 'BTX-CAMERA-QR-0001'], ['code128', '02123456789012']]) {
  test(`a ${format} ticket shown to the camera is admitted, then already scanned`, async () => {
    const browser = await withCamera(ticketVideo(format, code));
    try {
      const context = await browser.newContext({ locale: 'en-GB' });
      await context.grantPermissions(['camera'], { origin: server.url });
      const page = await context.newPage();
      await signIn(page, server.url, 'admin', ADMIN_PASSWORD);
      const { performance } = await seedPerformance(page, { institution: `Camera ${format}`, tickets: [{ barcode: code }] });
      const policy = (await fetch(`${server.url}/scanner`)).headers.get('content-security-policy') ?? '';
      assert.match(policy, /script-src 'self' 'nonce-[^']+' 'wasm-unsafe-eval'/);
      assert.match(policy, /worker-src 'self'/);
      assert.match(policy, /frame-ancestors 'none'/);
      await scannerAt(page, server.url, performance);
      const first = await verdictAfterCamera(page, null);
      assert.equal(first.reason, 'accepted_in');
      // Held in view, the ticket counted once.
      assert.equal(await page.locator('[data-testid=recent] li').count(), 1);
      const second = await verdictAfterCamera(page, first.scan);
      assert.equal(second.reason, 'already_scanned');
    } finally {
      await browser.close();
    }
  });
}
