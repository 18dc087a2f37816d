// Browser test against the emulator stack (e2e.TestChatPage starts it): a Chinese-speaking
// customer opens the page with a JWT, goes offline and writes an FAQ question, which goes out
// once back online and is answered, asks for a person, loses the link to the IM server while an
// English-speaking agent replies through the emulator, sees the translation after reconnecting
// with the original one tap away, and rates 5 — using the page with the keyboard only (Tab,
// Shift+Tab, Enter, Space), every control named and in order. Opened again by a host app with an
// expired JWT, the page gets a fresh one from the host and shows the history. Then an
// English-speaking customer on an English phone talks to a person through the English page.
import { launch, env, eventually, check, main, linkProxy, serveHTML, focused, press, tabWalk } from './browser.mjs';
import { join } from 'node:path';

const api = env('CHAT_API_URL');
const sim = env('CHAT_SIM_URL');
const jwt = env('CHAT_JWT');
const expiredJWT = env('CHAT_JWT_EXPIRED');
const customer = env('CHAT_CUSTOMER');
const customerEN = env('CHAT_CUSTOMER_EN');
const jwtEN = env('CHAT_JWT_EN');
const agents = env('CHAT_AGENTS').split(',');
const faqAnswer = env('CHAT_FAQ_ANSWER');
const shots = process.env.CHAT_SCREENSHOT_DIR;
const hostPort = Number(env('CHAT_HOST_PORT')); // http://127.0.0.1:hostPort may embed the page

async function simPost(path, body) {
  const res = await fetch(sim + path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
  return res.json();
}

// agentSay sends as the agent to a customer, again while the callback asks for a retry (as a
// person would).
async function agentSay(agent, to, text) {
  await eventually(`${agent} sends ${text}`, 60000, async () => {
    const r = await simPost('/sim/send', { from: agent, to, text });
    if (r.errorCode !== 0) throw new Error(`error ${r.errorCode} ${r.errorInfo}`);
    return true;
  });
}

// agentOf waits until one of the agents got a message of the customer (the hand-off's relay) and
// returns that agent.
function agentOf(from) {
  return eventually(`relay of ${from} to an agent`, 90000, async () => {
    for (const a of agents) {
      const r = await fetch(`${sim}/sim/messages?userID=${a}&since=0`);
      const { messages } = await r.json();
      if ((messages || []).some((m) => m.from === from && m.to === a)) return a;
    }
    return '';
  });
}

await main(async (consoleLines) => {
  const { context, close } = await launch('zh-CN');
  // The page reaches the emulator through a link the scenario can cut.
  const link = await linkProxy(sim);
  try {
    await context.route(`${api}/chat/config.json`, async (route) => {
      const res = await route.fetch();
      const cfg = await res.json();
      check(cfg.transport === 'sim' && cfg.simURL, 'config.json: ' + JSON.stringify(cfg));
      await route.fulfill({ response: res, json: { ...cfg, simURL: link.url } });
    });
    const page = await context.newPage();
    page.on('console', (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => consoleLines.push(`pageerror: ${e.message}`));
    // File choosers are caught from the start (catching one only when it is due races its opening).
    const choosers = [];
    page.on('filechooser', (c) => choosers.push(c));
    await page.goto(`${api}/chat/#token=${encodeURIComponent(jwt)}`);

    // Signed in through the UserSig exchange; the token left the address bar.
    const status = page.getByRole('status');
    await eventually('online', 60000, async () => (await status.getAttribute('data-state')) === 'online');
    check(!page.url().includes('token='), 'the JWT stayed in the URL: ' + page.url());
    check((await page.locator('body').getAttribute('data-transport')) === 'sim', 'not the emulator transport');
    check((await page.locator('html').getAttribute('lang')) === 'zh-CN', 'UI language is not Chinese');

    const state = () => status.getAttribute('data-state');

    // The phone goes offline (and its link drops): the page says so, and a message written now
    // (with the keyboard: Enter in the labelled message box) waits, marked "sending", until the
    // page is back online, then goes out and is answered.
    await context.setOffline(true);
    link.cut();
    await eventually('offline', 10000, async () => (await state()) === 'offline');
    check((await status.textContent()).includes('网络已断开'), 'no visible offline status: ' + await status.textContent());
    const box = page.getByRole('textbox', { name: '输入消息' });
    await box.fill('怎么退货？');
    await box.press('Enter');
    const log = page.getByRole('log');
    const question = log.locator('li.msg.out', { hasText: '怎么退货？' });
    await question.waitFor({ timeout: 5000 });
    await page.waitForTimeout(2000); // a send that does not wait fails at once (no network)
    check((await question.getAttribute('data-status')) === 'sending', 'the offline message is ' + await question.getAttribute('data-status'));
    check(await state() === 'offline', `state ${await state()} while the phone is offline`);
    await context.setOffline(false);
    link.restore();
    await eventually('online again', 30000, async () => (await state()) === 'online');
    await log.locator('li.msg.out[data-status="sent"]', { hasText: '怎么退货？' }).waitFor({ timeout: 30000 });
    check(await question.count() === 1, 'the question shows more than once');
    await log.locator('li.msg.in', { hasText: faqAnswer }).waitFor({ timeout: 90000 });

    // From here on only the keyboard. The controls: the composer's, in order, each named.
    const human = 'button "转人工"';
    const image = 'button "发送图片"';
    const textbox = 'textbox "输入消息"';
    const send = 'button "发送"';
    const composer = [human, image, textbox, send];
    let controls = await tabWalk(page, send);
    check(JSON.stringify(controls) === JSON.stringify(composer), 'controls: ' + controls);

    // Ask for a person (Shift+Tab to the button, Space); whichever agent gets the consultation
    // answers in English.
    await press(page, 'Shift+Tab', textbox);
    await press(page, 'Shift+Tab', image);
    await press(page, 'Shift+Tab', human);
    await page.keyboard.press('Space');
    await log.locator('li.msg.out[data-status="sent"]', { hasText: '转人工' }).waitFor({ timeout: 30000 });
    const agent = await agentOf(customer);

    // The link to the IM server drops while the agent answers, and the gateway in front of it
    // answers 502 meanwhile (the browser gives up on such an event stream; the page opens a new
    // one): "reconnecting", then back online by itself, and the answer sent meanwhile arrives.
    link.cut('HTTP/1.1 502 Bad Gateway\r\nAccess-Control-Allow-Origin: *\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
    await eventually('reconnecting', 10000, async () => (await state()) === 'reconnecting');
    check((await status.textContent()).includes('正在重新连接'), 'no visible reconnecting status: ' + await status.textContent());
    await agentSay(agent, customer, 'Please send me your order number.');
    const reply = log.locator('li.msg.in', { hasText: '请把您的订单号发给我。' });
    const refused = link.turnedAway();
    await eventually('the page tries again', 20000, () => link.turnedAway() > refused);
    check(await reply.count() === 0, 'a message arrived while the link was cut');
    link.restore();
    await eventually('online after reconnecting', 30000, async () => (await state()) === 'online');

    // The translation first, the original one key away: Shift+Tab from "talk to a person" reaches
    // the reply's "show original", Enter opens it.
    await reply.waitFor({ timeout: 90000 });
    check(await reply.getByText('Please send me your order number.').isHidden(), 'the original shows before the tap');
    check((await focused(page)).control === human, 'focus left "talk to a person" meanwhile');
    await press(page, 'Shift+Tab', 'button "显示原文"');
    check(await reply.getByRole('button').evaluate((b) => b === document.activeElement), 'focus is not on the reply\'s toggle');
    await press(page, 'Enter', 'button "隐藏原文"');
    await reply.getByText('Please send me your order number.').waitFor({ state: 'visible', timeout: 5000 });
    check((await reply.getByRole('button', { name: '隐藏原文' }).getAttribute('aria-expanded')) === 'true', 'toggle not expanded');

    // A picture (drawn here, as a phone's camera would give one) reaches the agent.
    const png = await page.evaluate(() => {
      const c = document.createElement('canvas');
      c.width = 320;
      c.height = 240;
      const g = c.getContext('2d');
      g.fillStyle = '#c0392b';
      g.fillRect(0, 0, 320, 240);
      g.fillStyle = '#f1c40f';
      g.fillRect(80, 60, 160, 120);
      return c.toDataURL('image/png').split(',')[1];
    });
    // Tab to the picture button, Enter opens the file chooser.
    await press(page, 'Tab', human);
    await press(page, 'Tab', image);
    await page.keyboard.press('Enter');
    const chooser = await eventually('the file chooser', 10000, () => choosers.shift());
    await chooser.setFiles({ name: 'parcel.png', mimeType: 'image/png', buffer: Buffer.from(png, 'base64') });
    await log.locator('li.msg.out[data-status="sent"] img').waitFor({ timeout: 30000 });
    await eventually('the picture relayed to the agent', 60000, async () => {
      const r = await fetch(`${sim}/sim/messages?userID=${agent}&since=0`);
      const { messages } = await r.json();
      return (messages || []).some((m) => m.from === customer && (m.msgBody || []).some((e) => e.MsgType === 'TIMImageElem'));
    });

    // The agent closes; the rating prompt shows five buttons.
    await agentSay(agent, customer, '/close');
    const rating = page.getByRole('group', { name: '为本次服务打分' });
    await rating.waitFor({ timeout: 90000 });
    check((await rating.getByRole('button').count()) === 5, 'rating prompt has not five buttons');
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    check(width <= 360, `the page is ${width} px wide on a 360 px phone`);
    if (shots) await page.screenshot({ path: join(shots, 'chat-phone-zh.png') });

    // Every control in order: the reply's toggle, the five rating buttons, the composer's.
    const stars = [1, 2, 3, 4, 5].map((n) => `button "${n} 分（满分 5 分）"`);
    controls = await tabWalk(page, send);
    check(JSON.stringify(controls) === JSON.stringify(['button "隐藏原文"', ...stars, ...composer]), 'controls: ' + controls);

    // Rated with the keyboard (Shift+Tab back from the composer, Space): focus moves to the note
    // that replaces the buttons.
    await press(page, 'Shift+Tab', textbox);
    await press(page, 'Shift+Tab', image);
    await press(page, 'Shift+Tab', human);
    await press(page, 'Shift+Tab', stars[4]);
    await page.keyboard.press('Space');
    const rated = page.getByText('您的评分：5 分');
    await rated.waitFor({ timeout: 30000 });
    check(await rated.evaluate((e) => e === document.activeElement), 'focus is not on the rating note: ' +
      await page.evaluate(() => document.activeElement.outerHTML.slice(0, 80)));
    await log.locator('li.msg.in', { hasText: '感谢您的评价' }).waitFor({ timeout: 60000 });

    // Opened again, by a host app (an iframe's parent here, on an origin in the API's
    // TIMDESK_CHAT_HOST_ORIGINS) with a JWT that has expired: the API
    // refuses it, the page asks the host for a new one, the host answers with a fresh JWT, and the
    // page goes on — online, with the conversation's history, originals and all.
    const sigAnswers = [];
    page.on('response', (res) => {
      if (res.url() === `${api}/api/v1/usersig`) sigAnswers.push(res.status());
    });
    const host = await serveHTML(`<iframe title="chat" src="${api}/chat/#token=${encodeURIComponent(expiredJWT)}" width="360" height="700"></iframe>
      <script>
        window.fromPage = [];
        addEventListener('message', (ev) => {
          fromPage.push(ev.data && ev.data.type);
          if (ev.data && ev.data.type === 'timdesk:token-expired') ev.source.postMessage({ type: 'timdesk:token', token: ${JSON.stringify(jwt)} }, ${JSON.stringify(api)});
        });
      </script>`, hostPort);
    await page.goto(host.url);
    const frame = page.frameLocator('iframe');
    const again = frame.getByRole('log');
    await eventually('online in the host app', 60000, async () => (await frame.getByRole('status').getAttribute('data-state')) === 'online');
    const asked = await page.evaluate(() => window.fromPage);
    check(JSON.stringify(asked) === JSON.stringify(['timdesk:ready', 'timdesk:token-expired']), 'the page told its host ' + JSON.stringify(asked));
    check(JSON.stringify(sigAnswers) === '[401,200]', 'UserSig answers ' + JSON.stringify(sigAnswers));
    await again.locator('li.msg.in', { hasText: faqAnswer }).waitFor({ timeout: 30000 });
    await again.locator('li.msg.in', { hasText: '请把您的订单号发给我。' }).getByRole('button', { name: '显示原文' }).waitFor({ timeout: 5000 });
    check(await again.locator('li.msg.out img').count() === 1, 'the picture is not in the history');
    check(await again.locator('.rating').count() === 0, 'an answered rating prompt offers its buttons again');
    await host.close();
  } finally {
    await close();
    await link.close();
  }

  // An English-speaking customer on an English phone: the page in English; "Talk to a person"
  // reaches an agent, whose reply and rating prompt show.
  const en = await launch('en-US');
  try {
    const page = await en.context.newPage();
    page.on('console', (m) => consoleLines.push(`en ${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => consoleLines.push(`en pageerror: ${e.message}`));
    await page.goto(`${api}/chat/#token=${encodeURIComponent(jwtEN)}`);
    const status = page.getByRole('status');
    await eventually('online (English)', 60000, async () => (await status.getAttribute('data-state')) === 'online');
    check((await page.locator('html').getAttribute('lang')) === 'en', 'UI language is not English');
    check(await status.textContent() === 'Online', 'status: ' + await status.textContent());
    await page.getByRole('button', { name: 'Talk to a person' }).press('Enter');
    const log = page.getByRole('log', { name: 'Messages' });
    await log.locator('li.msg.out[data-status="sent"]', { hasText: 'I want to talk to a human agent' }).waitFor({ timeout: 30000 });
    const agent = await agentOf(customerEN);
    await agentSay(agent, customerEN, 'Hello, I am looking into it.');
    await log.locator('li.msg.in', { hasText: 'Hello, I am looking into it.' }).waitFor({ timeout: 90000 });
    await agentSay(agent, customerEN, '/close');
    const rating = page.getByRole('group', { name: 'Rate this conversation' });
    await rating.waitFor({ timeout: 90000 });
    check(await rating.getByRole('button', { name: '5 of 5' }).count() === 1, 'no "5 of 5" rating button');
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    check(width <= 360, `the English page is ${width} px wide on a 360 px phone`);
    if (shots) await page.screenshot({ path: join(shots, 'chat-phone-en.png') });
  } finally {
    await en.close();
  }
});
