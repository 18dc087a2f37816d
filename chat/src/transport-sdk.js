// The production transport: Tencent's official Web SDK (@tencentcloud/chat).
import TencentCloudChat from '@tencentcloud/chat/index.es.js';
import TIMUploadPlugin from 'tim-upload-plugin';

// normalize turns an SDK Message into the page's message shape.
function normalize(m) {
  const out = {
    id: m.ID, from: m.from, to: m.to, flow: m.flow, time: m.time,
    text: '', images: [], cloudCustomData: m.cloudCustomData || '', status: m.status === 'fail' ? 'failed' : 'sent',
  };
  if (m.type === TencentCloudChat.TYPES.MSG_TEXT) {
    out.text = m.payload.text;
  } else if (m.type === TencentCloudChat.TYPES.MSG_IMAGE) {
    const info = m.payload.imageInfoArray || [];
    const pick = info.find((i) => i.type === 1) || info[0]; // 1 = large, 0 = original, 2 = thumbnail
    if (pick && pick.url) out.images.push(pick.url);
  } else {
    out.text = '[' + m.type + ']';
  }
  return out;
}

// sdkTransport speaks to Tencent Cloud IM through the official SDK. Events: "message" (a page
// message), "state" (connecting | online | reconnecting | offline), "kicked" (the SDK's reason).
// wrap (optional) gets the SDK's namespace and returns one whose create is used instead; the page
// passes window.__timdeskWrapSDK, which only the browser tests define (to watch the SDK's calls).
export function sdkTransport({ sdkAppID, peer, wrap }) {
  const listeners = {};
  const emit = (name, v) => (listeners[name] || []).forEach((f) => f(v));
  const sdk = (typeof wrap === 'function' && wrap(TencentCloudChat)) || TencentCloudChat;
  const chat = sdk.create({ SDKAppID: sdkAppID });
  chat.setLogLevel(1);
  chat.registerPlugin({ 'tim-upload-plugin': TIMUploadPlugin });
  const E = TencentCloudChat.EVENT;
  const conv = 'C2C' + peer;
  let readyResolve;
  let ready = new Promise((r) => { readyResolve = r; });

  chat.on(E.MESSAGE_RECEIVED, (ev) => {
    for (const m of ev.data || []) {
      if (m.conversationID === conv) emit('message', normalize(m));
    }
  });
  chat.on(E.SDK_READY, () => { emit('state', 'online'); readyResolve(); });
  chat.on(E.SDK_NOT_READY, () => emit('state', 'connecting'));
  chat.on(E.NET_STATE_CHANGE, (ev) => {
    const s = ev.data && ev.data.state;
    if (s === TencentCloudChat.TYPES.NET_STATE_CONNECTED) emit('state', 'online');
    else if (s === TencentCloudChat.TYPES.NET_STATE_CONNECTING) emit('state', 'reconnecting');
    else if (s === TencentCloudChat.TYPES.NET_STATE_DISCONNECTED) emit('state', 'offline');
  });
  chat.on(E.KICKED_OUT, (ev) => {
    ready = new Promise((r) => { readyResolve = r; });
    const t = ev.data && ev.data.type;
    emit('kicked', t === TencentCloudChat.TYPES.KICKED_OUT_USERSIG_EXPIRED ? 'expired' : 'elsewhere');
  });

  const send = async (msg) => {
    await ready;
    try {
      const res = await chat.sendMessage(msg);
      return normalize(res.data.message);
    } catch (err) {
      throw new Error('send failed: ' + (err && (err.code + ' ' + err.message)));
    }
  };

  return {
    name: 'sdk',
    on(name, f) { (listeners[name] = listeners[name] || []).push(f); },
    // login logs in; it resolves when the SDK accepted the login (SDK_READY follows). With no
    // network it never settles, which the page shows as "connecting".
    async login(userID, userSig) {
      emit('state', 'connecting');
      await chat.login({ userID, userSig });
    },
    // relogin replaces the session with a fresh UserSig: before it expires (logging out first,
    // bounded: offline, logout may never settle) or after KICKED_OUT (the SDK logged out already).
    async relogin(userID, userSig, { kicked = false } = {}) {
      if (!kicked && chat.getLoginUser()) {
        await Promise.race([chat.logout().catch(() => {}), new Promise((r) => setTimeout(r, 5000))]);
      }
      ready = new Promise((r) => { readyResolve = r; });
      await this.login(userID, userSig);
    },
    async history() {
      await ready;
      const res = await chat.getMessageList({ conversationID: conv });
      return (res.data.messageList || []).map(normalize);
    },
    sendText(text) {
      return send(chat.createTextMessage({ to: peer, conversationType: TencentCloudChat.TYPES.CONV_C2C, payload: { text } }));
    },
    sendImage(file) {
      return send(chat.createImageMessage({ to: peer, conversationType: TencentCloudChat.TYPES.CONV_C2C, payload: { file } }));
    },
  };
}
