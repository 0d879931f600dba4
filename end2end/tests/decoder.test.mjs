// The scanner's WASM barcode decoder as the server serves it (/decoder-worker.js, /decoder/…):
// Chromium's fake camera shows a ticket code drawn by rxing (`ticket_y4m`), and the worker reads
// it from grabbed frames, as app/src/pages/scanner/camera.rs does without BarcodeDetector.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startServer, ticketVideo, withCamera } from '../support.mjs';

let server;

before(async () => {
  server = await startServer();
});

after(() => server?.stop());

/** What the decoder worker reads from the camera, grabbing a frame every 100 ms for 5 s. */
async function readFromCamera(y4m) {
  const browser = await withCamera(y4m);
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
  const answer = await readFromCamera(ticketVideo('qr', text));
  assert.equal(answer?.text, text, JSON.stringify(answer));
});

test('the worker reads a Ticketnet Code 128 from the camera', async () => {
  const text = '02123456789012';
  const answer = await readFromCamera(ticketVideo('code128', text));
  assert.equal(answer?.text, text, JSON.stringify(answer));
});
