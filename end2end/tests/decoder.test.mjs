// The scanner's WASM barcode decoder as the server serves it (/decoder-worker.js, /decoder/…):
// Chromium's fake camera shows a ticket code drawn by rxing (`ticket_y4m`), and the worker reads
// it from grabbed frames, as app/src/pages/scanner/camera.rs does without BarcodeDetector.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { launchBrowser, startServer } from '../support.mjs';

const ROOT = resolve(import.meta.dirname, '..', '..');
let server;

before(async () => {
  server = await startServer();
});

after(() => server?.stop());

/** A fake-camera video of `text` encoded as `format`. */
function video(format, text) {
  const out = join(mkdtempSync(join(tmpdir(), 'billetix-y4m-')), `${format}.y4m`);
  execFileSync('cargo', ['run', '-q', '-p', 'decoder', '--bin', 'ticket_y4m', '--', '--format', format, '--text', text, '--out', out], {
    cwd: ROOT,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  return out;
}

/** What the decoder worker reads from the camera, grabbing a frame every 100 ms for 5 s. */
async function readFromCamera(y4m) {
  const browser = await launchBrowser([
    '--use-fake-device-for-media-stream',
    '--use-fake-ui-for-media-stream',
    `--use-file-for-fake-video-capture=${y4m}`,
  ]);
  try {
    const context = await browser.newContext();
    await context.grantPermissions(['camera'], { origin: server.url });
    const page = await context.newPage();
    await page.goto(`${server.url}/signin`);
    return await page.evaluate(async () => {
      const video = document.createElement('video');
      video.muted = true;
      video.srcObject = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' } });
      await video.play();
      const worker = new Worker('/decoder-worker.js', { type: 'module' });
      const canvas = document.createElement('canvas');
      const context = canvas.getContext('2d', { willReadFrequently: true });
      for (let id = 1; id <= 50; id++) {
        canvas.width = video.videoWidth;
        canvas.height = video.videoHeight;
        context.drawImage(video, 0, 0);
        const rgba = context.getImageData(0, 0, canvas.width, canvas.height).data;
        const luma = new Uint8Array(canvas.width * canvas.height);
        for (let i = 0; i < luma.length; i++) luma[i] = rgba[4 * i + 1]; // a grey picture: green is luma
        const answer = await new Promise((done) => {
          worker.onmessage = ({ data }) => done(data);
          worker.postMessage({ id, width: canvas.width, height: canvas.height, luma: luma.buffer }, [luma.buffer]);
        });
        if (answer.id !== id || answer.failed) return answer;
        if (answer.text !== null) return answer;
        await new Promise((wait) => setTimeout(wait, 100));
      }
      return null;
    });
  } finally {
    await browser.close();
  }
}

test('the worker reads a Billetix QR code from the camera', async () => {
  const text = 'BTX1-7F3A9C2E-0042-5d1e8b';
  const answer = await readFromCamera(video('qr', text));
  assert.equal(answer?.text, text, JSON.stringify(answer));
});

test('the worker reads a Ticketnet Code 128 from the camera', async () => {
  const text = '02123456789012';
  const answer = await readFromCamera(video('code128', text));
  assert.equal(answer?.text, text, JSON.stringify(answer));
});
