// hamlet's residents' pages: what JavaScript adds to pages that already work
// without it. One small ES module of our own, no dependencies, loaded from
// this origin only (the Content-Security-Policy allows nothing else).
//
// - The offline outbox: a submission goes into IndexedDB with its
//   idempotency key and capturedAt, and is sent to /graphql now, on the
//   `online` event, on every page load, every 10 seconds and from "Send
//   now" (never only through Background Sync, which only Chromium has).
//   A `replayed` answer counts as delivered; an item the API refuses for
//   good is set aside and never blocks the others.
// - The kiosk (/kiosk): enrolment with a kiosk token kept on the device,
//   the idle warning and reset, and refusing once the kiosk is revoked.
// - Live service filtering, the consent reveal, support without a reload.

const body = document.body;
const strings = parseJson(body.dataset.strings);
const lang = body.dataset.lang || 'en';
const isKiosk = body.dataset.kiosk === '1';
const TOKEN_KEY = 'hamlet.kiosk.token';
const REVOKED_KEY = 'hamlet.kiosk.revoked';
const SUPPORTER_COOKIE = 'hamlet_supporter';

function parseJson(text) {
  try { return JSON.parse(text || '{}'); } catch { return {}; }
}

function fill(template, name, value) {
  return String(template || '').replace('{' + name + '}', String(value));
}

// ----- The service worker -------------------------------------------------

if ('serviceWorker' in navigator) {
  navigator.serviceWorker.register('/sw.js', { scope: '/' })
    .then(() => navigator.serviceWorker.ready)
    .then((registration) => {
      // Keep this page for offline use: the worker only takes pages that
      // show nothing of any resident's own.
      if (registration.active) {
        registration.active.postMessage({ keep: [location.pathname + location.search] });
      }
    })
    .catch(() => {});
}

// ----- The outbox ----------------------------------------------------------

const MUTATIONS = {
  feedback: 'mutation SubmitFeedback($input: SubmitFeedbackInput!) { submitFeedback(input: $input) { reference replayed } }',
  idea: 'mutation SubmitIdea($input: SubmitIdeaInput!) { submitIdea(input: $input) { reference replayed } }',
};
const ANSWER = { feedback: 'submitFeedback', idea: 'submitIdea' };

let database = null;
function openOutbox() {
  if (!database) {
    database = new Promise((resolve, reject) => {
      const opening = indexedDB.open('hamlet-outbox', 1);
      opening.onupgradeneeded = () => opening.result.createObjectStore('items', { keyPath: 'id' });
      opening.onsuccess = () => resolve(opening.result);
      opening.onerror = () => reject(opening.error);
    });
  }
  return database;
}

async function items(mode, act) {
  const db = await openOutbox();
  return new Promise((resolve, reject) => {
    const transaction = db.transaction('items', mode);
    const request = act(transaction.objectStore('items'));
    transaction.oncomplete = () => resolve(request.result);
    transaction.onerror = () => reject(transaction.error);
    transaction.onabort = () => reject(transaction.error);
  });
}

const outbox = {
  put: (item) => items('readwrite', (store) => store.put(item)),
  remove: (id) => items('readwrite', (store) => store.delete(id)),
  all: () => items('readonly', (store) => store.getAll()),
};

function kioskToken() {
  try { return localStorage.getItem(TOKEN_KEY); } catch { return null; }
}

// One try at sending one item. Outcomes: delivered (with its receipt),
// offline (no answer at all), later (the server is busy or away), revoked
// (a kiosk whose token no longer works) or failed (refused for good).
async function deliver(item) {
  const headers = { 'content-type': 'application/json', accept: 'application/json' };
  if (item.kiosk) {
    const token = kioskToken();
    if (!token) return { outcome: 'revoked' };
    headers.authorization = 'Kiosk ' + token;
  }
  let response;
  try {
    response = await fetch('/graphql', {
      method: 'POST',
      headers,
      credentials: 'same-origin',
      cache: 'no-store',
      body: JSON.stringify({ query: MUTATIONS[item.kind], variables: { input: item.input } }),
    });
  } catch {
    return { outcome: 'offline' };
  }
  if (response.status === 401) return { outcome: 'revoked' };
  let answer = null;
  try { answer = await response.json(); } catch { answer = null; }
  const receipt = answer && answer.data && answer.data[ANSWER[item.kind]];
  if (receipt && receipt.reference) return { outcome: 'delivered', receipt };
  const error = answer && answer.errors && answer.errors[0];
  const extensions = (error && error.extensions) || {};
  const code = extensions.code;
  if (!answer || response.status >= 500 || response.status === 429
      || code === 'RATE_LIMITED' || code === 'SERVICE_UNAVAILABLE' || code === 'INTERNAL') {
    return { outcome: 'later', retryAfter: Number(response.headers.get('retry-after')) || 0 };
  }
  return { outcome: 'failed', code, field: extensions.field };
}

function backoff(attempts, retryAfter) {
  const seconds = Math.max(retryAfter || 0, Math.min(300, 5 * 2 ** Math.min(attempts, 6)));
  return seconds * 1000;
}

let flushing = null;
function flush() {
  if (!flushing) {
    const run = () => sendAll();
    const locked = navigator.locks
      ? navigator.locks.request('hamlet-outbox', { ifAvailable: true }, (lock) => (lock ? run() : null))
      : run();
    flushing = Promise.resolve(locked).catch(() => {}).finally(() => { flushing = null; showCount(); });
  }
  return flushing;
}

async function sendAll() {
  const waiting = (await outbox.all())
    .filter((item) => !item.failed)
    .sort((a, b) => a.createdAt - b.createdAt);
  for (const item of waiting) {
    if (item.nextAt > Date.now()) continue;
    const result = await deliver(item);
    if (result.outcome === 'delivered') {
      await outbox.remove(item.id);
    } else if (result.outcome === 'offline') {
      break;
    } else if (result.outcome === 'revoked') {
      if (isKiosk) revoked();
      if (item.kiosk) continue;
    } else if (result.outcome === 'later') {
      item.attempts += 1;
      item.nextAt = Date.now() + backoff(item.attempts, result.retryAfter);
      await outbox.put(item);
    } else {
      // Refused for good (the API will never take it as it is): set aside,
      // so it never holds up the rest.
      item.failed = true;
      item.error = result.code || 'REFUSED';
      await outbox.put(item);
    }
  }
}

async function showCount() {
  const status = document.querySelector('[data-outbox-status]');
  if (!status) return;
  let all = [];
  try { all = await outbox.all(); } catch { all = []; }
  const waiting = all.filter((item) => !item.failed).length;
  const setAside = all.length - waiting;
  const parts = [];
  if (waiting) parts.push(fill(strings.outbox_count, 'count', waiting));
  if (setAside) parts.push(fill(strings.outbox_set_aside, 'count', setAside));
  status.querySelector('[data-outbox-count]').textContent = parts.join('. ');
  status.hidden = parts.length === 0;
  status.dataset.waiting = String(waiting);
  status.querySelector('[data-send-now]').hidden = waiting === 0;
}

window.addEventListener('online', () => flush());
setInterval(() => flush(), 10000);
for (const button of document.querySelectorAll('[data-send-now]')) {
  button.addEventListener('click', () => flush());
}
flush();

// ----- Errors: the summary and each field's own message -------------------

function clearErrors(form) {
  const summary = document.querySelector('[data-error-summary]');
  if (summary) { summary.hidden = true; summary.querySelector('ul').replaceChildren(); }
  for (const message of form.querySelectorAll('[data-error-for]')) {
    message.hidden = true;
    message.textContent = '';
    const field = message.closest('.field');
    if (field) field.classList.remove('field-error');
  }
}

function showErrors(form, errors) {
  clearErrors(form);
  const summary = document.querySelector('[data-error-summary]');
  for (const { field, message } of errors) {
    const inline = form.querySelector('[data-error-for="' + field + '"]');
    if (inline) {
      inline.textContent = message;
      inline.hidden = false;
      const wrapper = inline.closest('.field');
      if (wrapper) wrapper.classList.add('field-error');
    }
    if (summary) {
      const item = document.createElement('li');
      const link = document.createElement('a');
      link.href = '#' + field;
      link.textContent = message;
      item.append(link);
      summary.querySelector('ul').append(item);
    }
  }
  if (summary) { summary.hidden = false; summary.focus(); }
}

const FIELDS = {
  serviceSlug: 'service', rating: 'rating', comment: 'comment', title: 'title',
  description: 'description', theme: 'theme', 'contact.name': 'name',
  'contact.email': 'email', contact: 'email', 'contact.phone': 'phone',
};
const FIELD_MESSAGES = {
  service: 'error_service', rating: 'error_rating', comment: 'error_comment', title: 'error_title',
  description: 'error_description', theme: 'error_theme', name: 'error_name', email: 'error_email',
  phone: 'error_phone',
};

function value(data, name) {
  return String(data.get(name) || '').trim();
}

function feedbackInput(data) {
  const errors = [];
  if (!value(data, 'service')) errors.push({ field: 'service', message: strings.error_service });
  if (!value(data, 'rating')) errors.push({ field: 'rating', message: strings.error_rating });
  const consent = value(data, 'consent');
  if (consent !== 'yes' && consent !== 'no') errors.push({ field: 'consent', message: strings.error_consent });
  if (consent === 'yes' && !value(data, 'email') && !value(data, 'phone')) {
    errors.push({ field: 'email', message: strings.error_contact });
  }
  const input = {
    serviceSlug: value(data, 'service'),
    rating: value(data, 'rating'),
    website: String(data.get('website') || ''),
  };
  if (value(data, 'comment')) input.comment = value(data, 'comment');
  if (consent === 'yes') {
    input.contact = {
      name: value(data, 'name') || null,
      email: value(data, 'email') || null,
      phone: value(data, 'phone') || null,
      consentToContact: true,
    };
  }
  return { errors, input };
}

function ideaInput(data) {
  const errors = [];
  if (!value(data, 'title')) errors.push({ field: 'title', message: strings.error_title });
  if (!value(data, 'description')) errors.push({ field: 'description', message: strings.error_description });
  const input = {
    title: value(data, 'title'),
    description: value(data, 'description'),
    website: String(data.get('website') || ''),
  };
  if (value(data, 'theme')) input.theme = value(data, 'theme');
  return { errors, input };
}

function clearForm(form) {
  form.reset();
  for (const field of form.querySelectorAll('input, textarea, select')) {
    if (field.type === 'hidden') continue;
    if (field.type === 'radio' || field.type === 'checkbox') field.checked = false;
    else field.value = '';
  }
  for (const contact of form.querySelectorAll('[data-contact]')) contact.hidden = true;
  clearErrors(form);
}

async function submitted(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const kind = form.dataset.outbox;
  if (isKiosk && !kioskToken()) { revoked(); return; }
  const data = new FormData(form);
  const { errors, input } = kind === 'idea' ? ideaInput(data) : feedbackInput(data);
  if (errors.length) { showErrors(form, errors); return; }
  clearErrors(form);
  input.idempotencyKey = crypto.randomUUID();
  input.capturedAt = new Date().toISOString();
  input.locale = lang;
  input.channel = isKiosk ? 'KIOSK' : 'WEB';
  const item = {
    id: input.idempotencyKey, kind, input, kiosk: isKiosk,
    createdAt: Date.now(), attempts: 0, nextAt: 0, failed: false,
  };
  const button = form.querySelector('[data-submit]');
  if (button) button.disabled = true;
  try {
    await outbox.put(item);
    const result = await deliver(item);
    if (result.outcome === 'delivered') {
      await outbox.remove(item.id);
      clearForm(form);
      if (isKiosk) thanks(result.receipt.reference);
      else location.assign('/receipt/' + encodeURIComponent(result.receipt.reference) + '?lang=' + encodeURIComponent(lang));
    } else if (result.outcome === 'failed' && result.code === 'BAD_USER_INPUT') {
      // Online and refused as it stands: the resident can put it right now.
      await outbox.remove(item.id);
      const field = FIELDS[result.field] || (kind === 'idea' ? 'title' : 'service');
      showErrors(form, [{ field, message: strings[FIELD_MESSAGES[field]] || strings.error_general }]);
    } else if (result.outcome === 'revoked') {
      // Not taken: the kiosk is off, and the resident is told so.
      await outbox.remove(item.id);
      revoked();
    } else {
      if (result.outcome === 'failed') {
        item.failed = true;
        item.error = result.code || 'REFUSED';
        await outbox.put(item);
      }
      clearForm(form);
      const saved = document.querySelector('[data-saved]');
      if (saved) { saved.hidden = false; saved.focus(); }
    }
  } finally {
    if (button) button.disabled = false;
    showCount();
  }
}

for (const form of document.querySelectorAll('form[data-outbox]')) {
  form.addEventListener('submit', submitted);
}

const summary = document.querySelector('[data-error-summary]:not([hidden])');
if (summary) summary.focus();

// ----- The consent reveal and the service filter ---------------------------

for (const form of document.querySelectorAll('form[data-outbox="feedback"]')) {
  const contact = form.querySelector('[data-contact]');
  const sync = () => {
    const chosen = form.querySelector('input[name="consent"]:checked');
    if (contact) contact.hidden = !(chosen && chosen.value === 'yes');
    const yes = form.querySelector('input[name="consent"][value="yes"]');
    if (yes) yes.setAttribute('aria-expanded', String(!contact.hidden));
  };
  for (const radio of form.querySelectorAll('input[name="consent"]')) radio.addEventListener('change', sync);
  sync();
}

const search = document.querySelector('[data-service-search]');
if (search) {
  const box = search.querySelector('input[type="search"]');
  const none = document.querySelector('[data-no-services]');
  const filter = () => {
    const wanted = box.value.trim().toLowerCase();
    let shown = 0;
    for (const service of document.querySelectorAll('[data-services] [data-search]')) {
      const match = !wanted || service.dataset.search.includes(wanted) || service.querySelector('input').checked;
      service.hidden = !match;
      if (match) shown += 1;
    }
    if (none) none.hidden = shown > 0;
  };
  box.addEventListener('input', filter);
  search.addEventListener('submit', (event) => { event.preventDefault(); filter(); });
}

// ----- Supporting ideas without a reload ------------------------------------

function supporterKey() {
  const found = document.cookie.split(';').map((part) => part.trim().split('='))
    .find(([name]) => name === SUPPORTER_COOKIE);
  if (found && /^[A-Za-z0-9-]{8,64}$/.test(found[1] || '')) return found[1];
  const key = crypto.randomUUID();
  document.cookie = SUPPORTER_COOKIE + '=' + key + '; Path=/; Max-Age=31536000; SameSite=Strict';
  return key;
}

for (const form of document.querySelectorAll('form[data-support]')) {
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const idea = String(new FormData(form).get('idea') || '');
    try {
      const response = await fetch('/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        credentials: 'same-origin',
        body: JSON.stringify({
          query: 'mutation Support($idea: ID!, $key: String!) { supportIdea(ideaId: $idea, supporterKey: $key) { id supportCount } }',
          variables: { idea, key: supporterKey() },
        }),
      });
      const answer = await response.json();
      const supported = answer && answer.data && answer.data.supportIdea;
      if (!supported) throw new Error('refused');
      const card = form.closest('.idea');
      const count = card && card.querySelector('[data-support-count]');
      if (count) count.textContent = String(supported.supportCount);
      const done = document.createElement('p');
      done.className = 'supported';
      done.setAttribute('role', 'status');
      done.textContent = strings.ideas_supported;
      form.replaceWith(done);
    } catch {
      form.submit();
    }
  });
}

// ----- The kiosk --------------------------------------------------------------

function show(selector, shown) {
  for (const element of document.querySelectorAll(selector)) element.hidden = !shown;
}

function revoked() {
  try {
    localStorage.removeItem(TOKEN_KEY);
    localStorage.setItem(REVOKED_KEY, '1');
  } catch { /* nothing kept */ }
  show('[data-feedback]', false);
  show('[data-kiosk-enrol]', true);
  show('[data-kiosk-thanks]', false);
  const notice = document.querySelector('[data-kiosk-revoked]');
  if (notice) { notice.hidden = false; notice.focus(); }
  body.dataset.kioskState = 'revoked';
}

async function kioskAnswers(token) {
  try {
    const response = await fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', authorization: 'Kiosk ' + token },
      cache: 'no-store',
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    return response.status === 401 ? 'refused' : 'accepted';
  } catch {
    return 'offline';
  }
}

function ready() {
  show('[data-kiosk-enrol]', false);
  show('[data-kiosk-revoked]', false);
  show('[data-feedback]', true);
  body.dataset.kioskState = 'ready';
}

function thanks(reference) {
  const feedback = document.querySelector('[data-feedback]');
  if (!feedback) return;
  feedback.hidden = true;
  const panel = document.createElement('div');
  panel.className = 'panel panel-confirmation';
  panel.dataset.kioskThanks = '';
  panel.tabIndex = -1;
  const title = document.createElement('h2');
  title.textContent = strings.receipt_title;
  const text = document.createElement('p');
  text.textContent = strings.receipt_feedback;
  const label = document.createElement('p');
  label.append(strings.receipt_reference_label, document.createElement('br'));
  const code = document.createElement('strong');
  code.className = 'reference';
  code.dataset.reference = '';
  code.textContent = reference;
  label.append(code);
  const finish = document.createElement('button');
  finish.type = 'button';
  finish.className = 'button';
  finish.textContent = strings.kiosk_finish;
  finish.addEventListener('click', startAgain);
  panel.append(title, text, label, finish);
  feedback.after(panel);
  panel.focus();
  armIdle();
}

// Back to the start for the next person: every field cleared, every
// message gone, and the page loaded afresh in the kiosk's own language.
function startAgain() {
  for (const form of document.querySelectorAll('form')) clearForm(form);
  for (const panel of document.querySelectorAll('[data-kiosk-thanks]')) panel.remove();
  show('[data-saved]', false);
  location.replace('/kiosk');
}

let idleTimer = null;
let countdown = null;
const idleSeconds = Number(body.dataset.idleSeconds) || 60;
const warnSeconds = Number(body.dataset.warnSeconds) || 20;
const idleDialog = document.querySelector('[data-idle]');

function armIdle() {
  clearTimeout(idleTimer);
  if (isKiosk && idleDialog && idleDialog.hidden) idleTimer = setTimeout(warnIdle, idleSeconds * 1000);
}

function warnIdle() {
  let remaining = warnSeconds;
  const text = idleDialog.querySelector('[data-idle-text]');
  const tell = () => { text.textContent = fill(strings.kiosk_idle_text, 'seconds', remaining); };
  tell();
  idleDialog.hidden = false;
  idleDialog.querySelector('[data-idle-continue]').focus();
  clearInterval(countdown);
  countdown = setInterval(() => {
    remaining -= 1;
    if (remaining <= 0) { clearInterval(countdown); startAgain(); } else tell();
  }, 1000);
}

if (isKiosk) {
  for (const type of ['pointerdown', 'keydown', 'input', 'touchstart', 'wheel']) {
    document.addEventListener(type, () => { if (idleDialog && idleDialog.hidden) armIdle(); }, { capture: true, passive: true });
  }
  if (idleDialog) {
    idleDialog.querySelector('[data-idle-continue]').addEventListener('click', () => {
      clearInterval(countdown);
      idleDialog.hidden = true;
      armIdle();
    });
  }
  const enrol = document.querySelector('[data-kiosk-enrol]');
  const enrolWith = async (token) => {
    const verdict = await kioskAnswers(token);
    if (verdict !== 'accepted') return false;
    try {
      localStorage.setItem(TOKEN_KEY, token);
      localStorage.removeItem(REVOKED_KEY);
    } catch { return false; }
    ready();
    flush();
    return true;
  };
  enrol.addEventListener('submit', async (event) => {
    event.preventDefault();
    const field = enrol.querySelector('input[name="token"]');
    const ok = await enrolWith(field.value.trim());
    field.value = '';
    enrol.querySelector('[data-kiosk-enrol-error]').hidden = ok;
  });
  (async () => {
    // An admin may enrol by opening /kiosk#token=…: the fragment never
    // reaches a server, and is dropped from the address at once.
    const given = new URLSearchParams(location.hash.slice(1)).get('token');
    if (given) {
      history.replaceState(null, '', location.pathname + location.search);
      if (await enrolWith(given)) return;
    }
    const token = kioskToken();
    let wasRevoked = false;
    try { wasRevoked = localStorage.getItem(REVOKED_KEY) === '1'; } catch { wasRevoked = false; }
    if (!token && wasRevoked) { revoked(); return; }
    if (!token) { show('[data-kiosk-enrol]', true); body.dataset.kioskState = 'enrol'; return; }
    if (await kioskAnswers(token) === 'refused') revoked();
    else ready();
  })();
}
