// timdesk's customer chat page: the host app passes its login JWT (URL fragment #token=… or
// postMessage), the page exchanges it for a Tencent IM UserSig at POST /api/v1/usersig and chats
// with the business's service account through a transport — Tencent's Web SDK in production, the
// emulator in development — chosen by the API's /chat/config.json.
import { pickLanguage, messagesFor } from './i18n.js';
import { sdkTransport } from './transport-sdk.js';
import { simTransport } from './transport-sim.js';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.hash.slice(1));
const lang = params.get('lang') === 'zh' || params.get('lang') === 'en' ? params.get('lang') : pickLanguage(navigator.languages || [navigator.language]);
const t = messagesFor(lang);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- host app messages ----

// The host app is who gives the page its JWT: the page's own origin (a native WebView, which
// injects window.postMessage into the page, or a host page on the API's domain), or the iframe's
// parent on one of the origins the API allows (config.json's hostOrigins, from
// TIMDESK_CHAT_HOST_ORIGINS). A token from anyone else is dropped: a hostile site that framed the
// page or sits in a frame next to it must not sign the customer into its own account (a login
// CSRF: it would read what they write). Until config.json names the origins (hostOrigins null),
// messages wait in early.
let hostOrigins = null;
let early = [];

function fromHost(ev) {
  if (ev.origin === location.origin) return true;
  return window.parent !== window && ev.source === window.parent && hostOrigins.includes(ev.origin);
}

// hostTargets are the origins tellHost posts to: the parent's when the browser names it
// (location.ancestorOrigins) and it is allowed — none when it is not; otherwise every allowed
// origin (the browser delivers to the one the parent has).
function hostTargets() {
  const allowed = [location.origin, ...(hostOrigins || [])];
  const anc = location.ancestorOrigins;
  const parent = anc && anc.length ? anc[0] : '';
  if (parent && parent !== 'null') return allowed.includes(parent) ? [parent] : [];
  return allowed;
}

// tellHost posts an event to the embedding app: an iframe's parent (on an allowed origin only,
// never '*'), or a React Native WebView.
function tellHost(type, extra) {
  const msg = { type, ...extra };
  if (window.parent !== window) {
    for (const origin of hostTargets()) {
      try { window.parent.postMessage(msg, origin); } catch { /* ignore */ }
    }
  }
  try { if (window.ReactNativeWebView) window.ReactNativeWebView.postMessage(JSON.stringify(msg)); } catch { /* ignore */ }
}

function tokenOf(ev) {
  let data = ev.data;
  if (typeof data === 'string') { try { data = JSON.parse(data); } catch { return ''; } }
  return data && data.type === 'timdesk:token' && typeof data.token === 'string' ? data.token : '';
}

// A token the host sends before the page asks for one is kept for the next ask.
let tokenWaiters = [];
let pendingToken = '';
function takeToken(ev) {
  const token = tokenOf(ev);
  if (!token) return;
  if (!fromHost(ev)) {
    console.warn('timdesk chat: a token from ' + (ev.origin || 'an unnamed origin') + ' is ignored: not the host app (TIMDESK_CHAT_HOST_ORIGINS)');
    return;
  }
  const waiters = tokenWaiters;
  tokenWaiters = [];
  if (waiters.length === 0) pendingToken = token;
  waiters.forEach((f) => f(token));
}
window.addEventListener('message', (ev) => {
  if (hostOrigins !== null) takeToken(ev);
  else if (early.length < 100 && (ev.origin === location.origin || ev.source === window.parent) && tokenOf(ev)) early.push(ev);
});
// setHostOrigins takes config.json's hostOrigins and judges the tokens that came before it.
function setHostOrigins(list) {
  hostOrigins = Array.isArray(list) ? list.filter((o) => typeof o === 'string') : [];
  const queued = early;
  early = [];
  queued.forEach(takeToken);
}
function nextToken() {
  const tok = pendingToken;
  pendingToken = '';
  return tok ? Promise.resolve(tok) : new Promise((r) => tokenWaiters.push(r));
}

// ---- status line ----

let state = '';
let onlineWaiters = [];
function setState(s, text) {
  state = s;
  const el = $('status');
  el.dataset.state = s;
  el.textContent = text || t[s] || s;
  $('reconnect').hidden = s !== 'kicked';
  if (s === 'online') {
    const waiters = onlineWaiters;
    onlineWaiters = [];
    waiters.forEach((f) => f());
  }
}

// whenOnline resolves when the page is online: a message written while it is not waits for
// that, marked "sending" (as the "offline" status says), instead of failing.
const whenOnline = () => (state === 'online' ? Promise.resolve() : new Promise((r) => onlineWaiters.push(r)));

// ---- the message list ----

const log = $('log');
const byID = new Map();

function parseCloud(raw) {
  if (!raw) return {};
  try {
    const v = JSON.parse(raw);
    return v && typeof v === 'object' ? v : {};
  } catch {
    return {};
  }
}

function timeLabel(sec) {
  const d = sec ? new Date(sec * 1000) : new Date();
  return d.toLocaleTimeString(lang === 'zh' ? 'zh-CN' : 'en', { hour: '2-digit', minute: '2-digit' });
}

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children) if (c) e.append(c);
  return e;
}

let originalSeq = 0;
function renderBody(m) {
  const cloud = parseCloud(m.cloudCustomData);
  const body = el('div', { class: 'bubble' });
  const tr = cloud.timdeskTranslation;
  if (m.text) body.append(el('p', { class: 'text', text: m.text }));
  for (const url of m.images) body.append(el('img', { src: url, alt: t.picture, class: 'picture' }));
  if (tr && typeof tr.originalText === 'string' && tr.originalText && m.flow === 'in') {
    const id = 'orig-' + (++originalSeq);
    const orig = el('p', { class: 'original', id, lang: tr.source || undefined, hidden: true },
      el('span', { class: 'visually-hidden', text: t.original + ': ' }), tr.originalText);
    const btn = el('button', {
      type: 'button', class: 'link', 'aria-expanded': 'false', 'aria-controls': id, text: t.showOriginal,
      onclick: () => {
        const open = orig.hidden;
        orig.hidden = !open;
        btn.setAttribute('aria-expanded', String(open));
        btn.textContent = open ? t.hideOriginal : t.showOriginal;
      },
    });
    body.append(btn, orig);
  }
  return { body, cloud };
}

function renderRating(li) {
  const group = el('div', { class: 'rating', role: 'group', 'aria-label': t.ratePrompt });
  for (let n = 1; n <= 5; n++) {
    group.append(el('button', {
      type: 'button', 'aria-label': t.rateN(n), text: String(n),
      onclick: async (ev) => {
        // Focus follows the buttons to the note (and back when the rating failed to send), so a
        // keyboard or screen-reader user stays where they were instead of at the page's top.
        const btn = ev.currentTarget;
        const note = el('p', { class: 'rated', tabindex: '-1', text: t.rated(n) });
        group.replaceWith(note);
        note.focus();
        if (!(await sendText(String(n)))) {
          note.replaceWith(group);
          btn.focus();
        }
      },
    }));
  }
  li.append(group);
}

function render(m) {
  const { body, cloud } = renderBody(m);
  const who = m.flow === 'out' ? t.you : t.service;
  const li = el('li', { class: 'msg ' + m.flow, 'data-id': m.id, 'data-status': m.status },
    el('span', { class: 'visually-hidden', text: who + ': ' }), body,
    el('span', { class: 'meta', text: m.status === 'sending' ? t.sending : timeLabel(m.time) }));
  if (cloud.timdeskNotice === 'rating' && m.flow === 'in') renderRating(li);
  if (m.status === 'failed') {
    li.append(el('button', { type: 'button', class: 'link retry', text: t.sendFailed, onclick: () => { li.remove(); byID.delete(m.id); m.retry(); } }));
  }
  return li;
}

// show adds or replaces a message (by id) and keeps the list in time order.
function show(m, replaceID) {
  if (replaceID && byID.has(replaceID)) {
    const old = byID.get(replaceID);
    byID.delete(replaceID);
    if (byID.has(m.id)) { old.el.remove(); return; } // the stream was quicker than the answer
    const li = render(m);
    old.el.replaceWith(li);
    byID.set(m.id, { m, el: li });
    return;
  }
  if (byID.has(m.id)) return;
  if (m.flow === 'out' && m.status !== 'sending') {
    // The stream was quicker than the send's answer: the server's copy takes the place of the
    // local one still marked "sending", so the customer never sees their message twice.
    for (const [id, entry] of byID) {
      if (entry.m.status === 'sending' && entry.m.text === m.text &&
          (entry.m.images || []).length === (m.images || []).length) {
        show(m, id);
        return;
      }
    }
  }
  const li = render(m);
  byID.set(m.id, { m, el: li });
  let before = null;
  for (const node of log.children) {
    const other = byID.get(node.dataset.id);
    if (other && other.m.time > m.time && m.status !== 'sending') { before = node; break; }
  }
  log.insertBefore(li, before);
  if (m.flow === 'out') {
    // The customer wrote after a rating prompt: it is answered or passed, so its buttons go.
    for (const g of log.querySelectorAll('.rating')) {
      if (g.closest('li').compareDocumentPosition(li) & Node.DOCUMENT_POSITION_FOLLOWING) g.remove();
    }
  }
  $('empty').hidden = true;
  li.scrollIntoView({ block: 'end' });
}

// ---- sending ----

let transport = null;
let localSeq = 0;

async function sendWith(draft, op) {
  const localID = 'local-' + (++localSeq);
  show({ id: localID, flow: 'out', time: Math.floor(Date.now() / 1000), status: 'sending', cloudCustomData: '', ...draft });
  try {
    await whenOnline();
    const sent = await op();
    show({ ...draft, ...sent, status: 'sent' }, localID);
    return true;
  } catch (err) {
    console.warn('timdesk chat:', err);
    show({ id: localID + '-failed', flow: 'out', time: Math.floor(Date.now() / 1000), status: 'failed', cloudCustomData: '', ...draft, retry: () => sendWith(draft, op) }, localID);
    return false;
  }
}

function sendText(text) {
  return sendWith({ text, images: [] }, () => transport.sendText(text));
}

// ---- UserSig ----

class AuthError extends Error {}

// fetchUserSig exchanges the JWT for a UserSig; it retries network and server errors with
// back-off (showing "offline") and throws AuthError when the JWT is refused.
async function fetchUserSig(jwt) {
  const url = new URL('../api/v1/usersig', location.href);
  for (let attempt = 0; ; attempt++) {
    let res;
    try {
      res = await fetch(url, { method: 'POST', headers: { Authorization: 'Bearer ' + jwt } });
    } catch {
      setState('offline');
      await sleep(Math.min(30000, 1000 * 2 ** attempt));
      continue;
    }
    if (res.status === 401 || res.status === 403) throw new AuthError('token refused: HTTP ' + res.status);
    if (res.ok) {
      // Time the expiry by this device's clock (which may be off): the server's Date header says
      // how long the UserSig has left.
      const body = await res.json();
      const serverNow = Date.parse(res.headers.get('Date') || '') / 1000 || Date.now() / 1000;
      body.lifetime = body.expireAt - serverNow;
      body.localExpireAt = Date.now() / 1000 + body.lifetime;
      return body;
    }
    const retry = Number(res.headers.get('Retry-After')) || Math.min(30, 2 ** attempt);
    await sleep(retry * 1000);
  }
}

let jwt = '';
let sig = null;

// freshSig gets a UserSig, asking the host for a new JWT while the current one is refused.
async function freshSig() {
  for (;;) {
    try {
      sig = await fetchUserSig(jwt);
      scheduleRefresh();
      return sig;
    } catch (err) {
      if (!(err instanceof AuthError)) throw err;
      setState('signedOut');
      tellHost('timdesk:token-expired');
      jwt = await nextToken();
      setState('connecting');
    }
  }
}

let refreshTimer = 0;
// scheduleRefresh logs in again with a new UserSig a while before the current one expires.
// refreshMargin is how long before its expiry a UserSig is replaced: half its lifetime, at
// most 10 minutes.
const refreshMargin = () => Math.min(600, sig.lifetime / 2);

function scheduleRefresh() {
  clearTimeout(refreshTimer);
  const now = Date.now() / 1000;
  const left = sig.localExpireAt - now;
  const margin = refreshMargin();
  const wait = Math.max(30, left - margin);
  refreshTimer = setTimeout(async () => {
    if (Date.now() / 1000 < sig.localExpireAt - margin - 1) { scheduleRefresh(); return; } // clamped timer
    await freshSig();
    await connect({ kicked: false });
  }, Math.min(wait, 86400) * 1000);
}

// connect logs in with the current UserSig — the first time (login), or again (relogin: before
// the UserSig expires, after KICKED_OUT, on Reconnect) — retrying with back-off while it fails
// (the SDK's login rejects after a while without network), with a new UserSig when it is
// about to expire. The page says "connecting" meanwhile.
// A newer connect supersedes a running one.
let connectGen = 0;
async function connect({ first = false, kicked = false } = {}) {
  const gen = ++connectGen;
  for (let attempt = 0; ; attempt++) {
    try {
      if (first) await transport.login(sig.userID, sig.userSig);
      else await transport.relogin(sig.userID, sig.userSig, { kicked: kicked || attempt > 0 });
      showNet();
      return;
    } catch (err) {
      if (gen !== connectGen) return;
      console.warn('timdesk chat: login failed:', err && (err.code || ''), err && err.message);
      netState('connecting');
      await sleep(Math.min(30000, 1000 * 2 ** attempt));
      if (gen !== connectGen) return;
      if (Date.now() / 1000 > sig.localExpireAt - refreshMargin()) await freshSig();
    }
  }
}

// ---- start ----

async function start() {
  document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
  document.title = t.title;
  $('title').textContent = t.title;
  $('human').textContent = t.human;
  $('text').placeholder = t.placeholder;
  $('text-label').textContent = t.placeholder;
  $('send').textContent = t.send;
  $('image').setAttribute('aria-label', t.image);
  $('image').title = t.image;
  $('reconnect').textContent = t.reconnect;
  $('empty').textContent = t.empty;
  log.setAttribute('aria-label', t.messages);
  setState('connecting');

  jwt = params.get('token') || '';
  if (params.has('token')) {
    params.delete('token');
    const rest = params.toString();
    history.replaceState(null, '', location.pathname + location.search + (rest ? '#' + rest : ''));
  }
  const cfgRes = await fetch(new URL('config.json', location.href));
  if (!cfgRes.ok) throw new Error('config: HTTP ' + cfgRes.status);
  const cfg = await cfgRes.json();
  setHostOrigins(cfg.hostOrigins);

  tellHost('timdesk:ready');
  if (!jwt) {
    setState('waiting', t.waitingToken);
    jwt = await nextToken();
    setState('connecting');
  }
  await freshSig();
  const peer = cfg.serviceAccount;
  transport = cfg.transport === 'sim'
    ? simTransport({ simURL: cfg.simURL, peer })
    : sdkTransport({ sdkAppID: sig.sdkAppID, peer, wrap: window.__timdeskWrapSDK });
  document.body.dataset.transport = transport.name;

  transport.on('state', netState);
  transport.on('message', (m) => show(m));
  transport.on('kicked', async (why) => {
    if (why === 'expired') {
      setState('reconnecting');
      await freshSig();
      await connect({ kicked: true });
      return;
    }
    // Another page or device took the session: never fight over it automatically (nor at the
    // next UserSig refresh).
    clearTimeout(refreshTimer);
    connectGen++; // and stop a login still being retried
    setState('kicked', t.kickedElsewhere);
  });
  $('reconnect').addEventListener('click', async () => {
    setState('connecting');
    await freshSig();
    await connect({ kicked: true });
  });

  await connect({ first: true });
  for (const m of await transport.history()) show(m);
}

$('composer').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const box = $('text');
  const text = box.value.trim();
  if (!text || !transport) return;
  box.value = '';
  sendText(text);
});
$('text').addEventListener('keydown', (ev) => {
  if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
    ev.preventDefault();
    $('composer').requestSubmit();
  }
});
$('human').addEventListener('click', () => { if (transport) sendText(t.humanText); });
$('image').addEventListener('click', () => $('file').click());
$('file').addEventListener('change', () => {
  const file = $('file').files[0];
  $('file').value = '';
  if (!file || !transport) return;
  sendWith({ text: '', images: [URL.createObjectURL(file)] }, () => transport.sendImage(file));
});

// netState records the connection's state as the transport reports it (connecting | online |
// reconnecting | offline) and shows it; showNet shows "offline" over it while the device has no
// network, and "connecting" for every state until the first connection (the SDK keeps trying;
// with no network its login never settles).
let link = 'connecting';
let everOnline = false;
function netState(s) {
  link = s;
  showNet();
}
function showNet() {
  let s = navigator.onLine === false ? 'offline' : link;
  if (s === 'online') everOnline = true;
  if (!everOnline) s = 'connecting';
  if (state !== 'kicked' && state !== 'signedOut') setState(s);
}
window.addEventListener('offline', () => { if (transport) showNet(); });
window.addEventListener('online', () => { if (transport) showNet(); });

start().catch((err) => {
  console.error('timdesk chat:', err);
  setState('error', t.error + ': ' + err.message);
});
