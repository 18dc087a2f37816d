// UI strings in Chinese and English, chosen by the browser's language.
const strings = {
  en: {
    title: 'Customer service',
    connecting: 'Connecting…',
    reconnecting: 'Reconnecting…',
    offline: 'Offline — messages will send when you are back online',
    online: 'Online',
    signedOut: 'Your session ended. Reopen the chat from the app.',
    kickedElsewhere: 'You opened this chat somewhere else.',
    reconnect: 'Reconnect',
    waitingToken: 'Waiting for the app to sign you in…',
    placeholder: 'Type a message',
    send: 'Send',
    image: 'Send a picture',
    human: 'Talk to a person',
    humanText: 'I want to talk to a human agent',
    showOriginal: 'Show original',
    hideOriginal: 'Hide original',
    original: 'Original',
    ratePrompt: 'Rate this conversation',
    rateN: (n) => `${n} of 5`,
    rated: (n) => `You rated ${n} of 5`,
    sendFailed: 'Not sent — tap to retry',
    sending: 'Sending…',
    you: 'You',
    service: 'Service',
    picture: 'Picture',
    messages: 'Messages',
    empty: 'Ask us anything. We usually answer right away.',
    error: 'Something went wrong',
  },
  zh: {
    title: '在线客服',
    connecting: '正在连接…',
    reconnecting: '正在重新连接…',
    offline: '网络已断开，恢复后自动发送',
    online: '在线',
    signedOut: '登录已失效，请从应用重新打开客服。',
    kickedElsewhere: '您已在其他地方打开了客服。',
    reconnect: '重新连接',
    waitingToken: '正在等待应用登录…',
    placeholder: '输入消息',
    send: '发送',
    image: '发送图片',
    human: '转人工',
    humanText: '转人工',
    showOriginal: '显示原文',
    hideOriginal: '隐藏原文',
    original: '原文',
    ratePrompt: '为本次服务打分',
    rateN: (n) => `${n} 分（满分 5 分）`,
    rated: (n) => `您的评分：${n} 分`,
    sendFailed: '发送失败，点击重试',
    sending: '发送中…',
    you: '我',
    service: '客服',
    picture: '图片',
    messages: '消息',
    empty: '有什么可以帮您？我们通常会立即回复。',
    error: '出错了',
  },
};

// pickLanguage returns "zh" for a Chinese browser, else "en".
export function pickLanguage(languages) {
  for (const l of languages || []) {
    const low = String(l).toLowerCase();
    if (low.startsWith('zh')) return 'zh';
    if (low.startsWith('en')) return 'en';
  }
  return 'en';
}

export function messagesFor(lang) {
  return strings[lang] || strings.en;
}
