// The scanner's barcode decoder (crate `decoder`, WASM) off the page's thread, for browsers
// without BarcodeDetector. Started by app/src/pages/scanner/camera.rs when the camera starts.
// In: {id, width, height, luma} (luma: a transferred ArrayBuffer of width*height grey bytes).
// Out: {id, text} (text null when no code is found), plus failed: true when the decoder
// trapped: this worker then closes, as a trapped WASM instance is left unusable.
let decoder; // loaded on the first frame, then reused

self.onmessage = async ({ data: { id, width, height, luma } }) => {
  try {
    decoder ??= import('/decoder/decoder.js').then(async (module) => (await module.default(), module));
    const text = (await decoder).decode(width, height, new Uint8Array(luma)) ?? null;
    self.postMessage({ id, text });
  } catch (error) {
    console.error('barcode decoder:', error);
    self.postMessage({ id, text: null, failed: true });
    self.close();
  }
};
