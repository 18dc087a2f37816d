// The development transport: the Tencent IM emulator (tim/timsim) — its /sim/ client API and its
// event stream — standing in for the SDK in `make run` and the browser tests. Same events and
// methods as sdkTransport.

// normalize turns an emulator Message into the page's message shape.
function normalize(m) {
  const out = {
    id: m.msgKey, from: m.from, to: m.to, flow: m.direction === 'out' ? 'out' : 'in', time: m.time,
    text: m.text || '', images: [], cloudCustomData: m.cloudCustomData || '', status: 'sent',
  };
  for (const el of m.msgBody || []) {
    if (el.MsgType === 'TIMImageElem') {
      const info = (el.MsgContent && el.MsgContent.ImageInfoArray) || [];
      const pick = info.find((i) => i.Type === 1) || info[0];
      if (pick && pick.URL) out.images.push(pick.URL);
    } else if (el.MsgType !== 'TIMTextElem' && !out.text) {
      out.text = '[' + el.MsgType + ']';
    }
  }
  return out;
}

// shrinkImage draws file into a JPEG data URL small enough for one 12 KB message (the emulator
// has no file storage; the real SDK uploads the file instead).
async function shrinkImage(file) {
  const bitmap = await createImageBitmap(file);
  for (const [side, quality] of [[320, 0.7], [240, 0.6], [160, 0.5], [96, 0.4]]) {
    const scale = Math.min(1, side / Math.max(bitmap.width, bitmap.height));
    const w = Math.max(1, Math.round(bitmap.width * scale));
    const h = Math.max(1, Math.round(bitmap.height * scale));
    const canvas = document.createElement('canvas');
    canvas.width = w;
    canvas.height = h;
    canvas.getContext('2d').drawImage(bitmap, 0, 0, w, h);
    const url = canvas.toDataURL('image/jpeg', quality);
    if (url.length < 10000) return { url, w, h };
  }
  throw new Error('picture too large');
}

export function simTransport({ simURL, peer }) {
  const base = simURL.replace(/\/+$/, '');
  const listeners = {};
  const emit = (name, v) => (listeners[name] || []).forEach((f) => f(v));
  let me = '';
  let stream = null;
  let past = [];

  const post = async (path, body) => {
    const res = await fetch(base + path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    const data = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(`${path}: HTTP ${res.status} ${data.error || ''}`);
    return data;
  };
  const mine = (m) => (m.from === peer && m.to === me) || (m.from === me && m.to === peer);

  // open opens the event stream after the user's event since. The browser reconnects a dropped
  // stream by itself (resuming by Last-Event-ID); one it gave up on (an HTTP error) is reopened
  // here after the last event seen.
  let last = 0;
  const open = (since) => {
    if (stream) stream.close();
    last = since;
    const q = new URLSearchParams({ userID: me, since: String(since), presence: '1' });
    const es = new EventSource(`${base}/sim/events?${q}`);
    stream = es;
    es.onopen = () => emit('state', 'online');
    es.onerror = () => {
      if (stream !== es) return;
      emit('state', 'reconnecting');
      if (es.readyState === EventSource.CLOSED) setTimeout(() => { if (stream === es) open(last); }, 3000);
    };
    es.addEventListener('message', (ev) => {
      last = Number(ev.lastEventId) || last;
      const m = JSON.parse(ev.data);
      if (mine(m) && !m.dropped) emit('message', normalize(m));
    });
  };

  const send = async (body) => {
    const res = await post('/sim/send', { from: me, to: peer, ...body });
    if (res.errorCode !== 0) throw new Error(`send failed: ${res.errorCode} ${res.errorInfo}`);
    return { id: res.msgKey, time: res.msgTime };
  };

  return {
    name: 'sim',
    on(name, f) { (listeners[name] = listeners[name] || []).push(f); },
    // login checks the UserSig with the emulator (as Tencent would), loads the history and opens
    // the event stream, which stands for the connection (closing the page disconnects).
    async login(userID, userSig) {
      emit('state', 'connecting');
      me = userID;
      const res = await post('/sim/login', { userID, userSig, platform: 'Web' });
      if (res.errorCode) {
        const err = new Error(`login failed: ${res.errorCode} ${res.errorInfo}`);
        err.code = res.errorCode;
        throw err;
      }
      const q = new URLSearchParams({ userID, since: '0' });
      const r = await fetch(`${base}/sim/messages?${q}`);
      if (!r.ok) throw new Error(`history: HTTP ${r.status}`);
      const h = await r.json();
      past = (h.messages || []).filter((m) => mine(m) && !m.dropped).map(normalize);
      open(h.next || 0);
    },
    async relogin(userID, userSig) {
      const res = await post('/sim/login', { userID, userSig, platform: 'Web' });
      if (res.errorCode) throw new Error(`login failed: ${res.errorCode} ${res.errorInfo}`);
    },
    async history() { return past; },
    async sendText(text) {
      const r = await send({ text });
      return { id: r.id, from: me, to: peer, flow: 'out', time: r.time, text, images: [], cloudCustomData: '', status: 'sent' };
    },
    async sendImage(file) {
      const img = await shrinkImage(file);
      const r = await send({
        msgBody: [{
          MsgType: 'TIMImageElem',
          MsgContent: { UUID: 'sim-' + Date.now(), ImageFormat: 1, ImageInfoArray: [{ Type: 1, Size: img.url.length, Width: img.w, Height: img.h, URL: img.url }] },
        }],
      });
      return { id: r.id, from: me, to: peer, flow: 'out', time: r.time, text: '', images: [img.url], cloudCustomData: '', status: 'sent' };
    },
  };
}
