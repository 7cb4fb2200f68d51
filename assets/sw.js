// hamlet's service worker. The server puts two lines above this one:
// VERSION (this build's assets) and ASSETS (their hashed addresses).
//
// Assets: from the cache first (their names change with their content).
// Pages that hold nothing of any resident's own (the start page, the forms,
// the idea board, the kiosk; nothing with a reference or a receipt): from
// the network, kept for when it is away. Nothing else is touched, and
// /graphql never is: submissions made offline wait in the page's outbox.

const PAGES = ['/', '/feedback', '/ideas', '/ideas/new', '/track', '/kiosk'];

function keepable(url) {
  if (url.origin !== self.location.origin || !PAGES.includes(url.pathname)) return false;
  for (const name of url.searchParams.keys()) if (name !== 'lang') return false;
  return true;
}

async function keep(request, response) {
  if (response && response.ok && response.type === 'basic') {
    const cache = await caches.open(VERSION);
    await cache.put(request, response);
  }
}

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(VERSION).then((cache) => cache.addAll(ASSETS)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches.keys()
      .then((names) => Promise.all(names.filter((name) => name !== VERSION).map((name) => caches.delete(name))))
      .then(() => self.clients.claim()),
  );
});

// A page asks for itself to be kept (its first visit came before the worker).
self.addEventListener('message', (event) => {
  const wanted = (event.data && Array.isArray(event.data.keep)) ? event.data.keep : [];
  const urls = wanted.map((path) => new URL(path, self.location.origin)).filter(keepable);
  event.waitUntil(Promise.all(urls.map((url) => fetch(url, { credentials: 'same-origin' })
    .then((response) => keep(url.href, response))
    .catch(() => {}))));
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname.startsWith('/assets/')) {
    // Vary (Origin, Accept-Encoding) is ignored: a hashed name always has
    // the same bytes, and a module script's request carries an Origin that
    // the worker's own install request did not.
    event.respondWith(caches.match(request, { ignoreVary: true }).then((hit) => hit || fetch(request).then((response) => {
      keep(request, response.clone());
      return response;
    })));
    return;
  }
  if (keepable(url)) {
    event.respondWith(fetch(request).then((response) => {
      keep(url.href, response.clone());
      return response;
    }).catch(() => caches.match(url.href, { ignoreVary: true })
      .then((hit) => hit || caches.match(new URL('/?lang=' + (url.searchParams.get('lang') || 'en'), self.location.origin).href, { ignoreVary: true }))
      .then((hit) => hit || new Response('Offline', { status: 503, headers: { 'content-type': 'text/plain; charset=utf-8' } }))));
  }
});
