// The scanner's service worker: keeps the scanner page and the files it runs on, so the app
// opens and scans with no network. The server prepends VERSION (the build's file hashes)
// and ASSETS; a new build is a new worker, which takes a new cache and drops the old ones.
const CACHE = `billetix-${VERSION}`;

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    await cache.addAll(ASSETS);
    // Files a device may never need (the camera decoder) must not stop the install.
    await Promise.all(OPTIONAL_ASSETS.map((url) => cache.add(url).catch(() => undefined)));
    await self.skipWaiting();
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith('billetix-') && name !== CACHE) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== 'GET' || url.origin !== self.location.origin) return;
  const cached = request.mode === 'navigate' ? url.pathname === '/scanner' : KEPT.has(url.pathname);
  // Everything else (server functions, the live feed, the back office) goes to the network.
  if (!cached) return;
  event.respondWith((async () => {
    const cache = await caches.open(CACHE);
    const hit = await cache.match(request.mode === 'navigate' ? '/scanner' : request, { ignoreSearch: true });
    return hit || fetch(request);
  })());
});
