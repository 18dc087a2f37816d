// Browser test of who may give the chat page its JWT (e2e.TestChatPage starts the API with
// TIMDESK_CHAT_HOST_ORIGINS=http://127.0.0.1:CHAT_HOST_PORT; http://localhost:CHAT_HOST_PORT is
// the same server on an origin the API does not allow — a hostile site). A login CSRF would sign
// the customer into the attacker's account, where the attacker reads what they write:
// 1. a hostile page frames /chat/: Chromium refuses to show it (frame-ancestors);
// 2. a browser that ignores frame-ancestors (the header stripped here): the page shows, but the
//    attacker's tokens, posted again and again, are dropped — no UserSig is asked for, the page
//    keeps waiting for its host, and tells the hostile page nothing;
// 3. the allowed host with a hostile frame next to the page, posting the attacker's token before
//    and after the host's: the page signs in with the host's token only;
// 4. a native WebView (the page opened at the top, the token injected with window.postMessage on
//    the page's own origin) signs in.
import { launch, env, eventually, check, main, serveHTML } from './browser.mjs';

const api = env('CHAT_API_URL');
const hostPort = Number(env('CHAT_HOST_PORT'));
const jwt = env('CHAT_JWT');
const attackerJWT = env('CHAT_JWT_ATTACKER');
const nativeJWT = env('CHAT_JWT_NATIVE');
const chatURL = `${api}/chat/`;
const sigURL = `${api}/api/v1/usersig`;

// spam is a hostile script: it posts the attacker's token to target() every 100 ms, as an object
// and as JSON, and records what the chat page tells it.
const spam = (target) => `<script>
  window.told = [];
  addEventListener('message', (ev) => told.push(ev.data && ev.data.type));
  const msg = { type: 'timdesk:token', token: ${JSON.stringify(attackerJWT)} };
  setInterval(() => {
    const w = ${target};
    if (!w) return;
    try { w.postMessage(msg, '*'); w.postMessage(JSON.stringify(msg), '*'); } catch (e) { /* not there yet */ }
  }, 100);
</script>`;

await main(async (consoleLines) => {
  const host = await serveHTML({
    '/evil': `<iframe title="chat" src="${chatURL}" width="360" height="700"></iframe>${spam("document.querySelector('iframe') && document.querySelector('iframe').contentWindow")}`,
    '/sibling': spam('parent.frames[0]'),
    '/host': `<iframe title="chat" src="${chatURL}" width="360" height="600"></iframe>
      <iframe title="ad" src="http://localhost:${hostPort}/sibling" width="10" height="10"></iframe>
      <script>
        window.fromPage = [];
        addEventListener('message', (ev) => { if (ev.source === frames[0]) fromPage.push(ev.data && ev.data.type); });
        window.signIn = () => frames[0].postMessage({ type: 'timdesk:token', token: ${JSON.stringify(jwt)} }, ${JSON.stringify(api)});
      </script>`,
  }, hostPort);
  check(host.url === `http://127.0.0.1:${hostPort}/`, 'host served at ' + host.url);
  const { context, close } = await launch('en-US');
  try {
    // Every request of every frame: the chat page's files, its config and the UserSig exchange.
    const requests = [];
    context.on('request', (req) => {
      if (req.url().startsWith(api)) requests.push({ method: req.method(), url: req.url(), auth: req.headers().authorization || '' });
    });
    const sigs = () => requests.filter((r) => r.url === sigURL);
    const newPage = async (name) => {
      const page = await context.newPage();
      page.on('console', (m) => consoleLines.push(`${name} ${m.type()}: ${m.text()}`));
      page.on('pageerror', (e) => consoleLines.push(`${name} pageerror: ${e.message}`));
      return page;
    };
    const chatFrame = (page) => eventually('the chat frame', 10000, () => page.frames().find((f) => f.url().startsWith(chatURL)));

    // 1. The hostile page cannot frame the chat page: its document comes, Chromium shows an error
    // page instead (no script, no config, no UserSig).
    let page = await newPage('evil');
    const doc = page.waitForResponse((res) => res.url() === chatURL);
    await page.goto(host.otherURL + 'evil');
    const csp = (await (await doc).allHeaders())['content-security-policy'];
    check(csp === `frame-ancestors 'self' http://127.0.0.1:${hostPort}`, 'Content-Security-Policy: ' + csp);
    await page.waitForTimeout(2000);
    check(!requests.some((r) => r.url === `${api}/chat/app.js` || r.url === `${api}/chat/config.json`), 'the framed page ran: ' + JSON.stringify(requests));
    check(!page.frames().some((f) => f.url().startsWith(api)), 'a frame shows the chat page: ' + page.frames().map((f) => f.url()));
    await page.close();

    // 2. The same where frame-ancestors is not enforced: the page runs and waits for its host; the
    // attacker's tokens, posted from the moment it loads, are dropped.
    await context.route(chatURL, async (route) => {
      const res = await route.fetch();
      const headers = { ...res.headers() };
      delete headers['content-security-policy'];
      await route.fulfill({ response: res, headers });
    });
    page = await newPage('evil-no-csp');
    await page.goto(host.otherURL + 'evil');
    let frame = await chatFrame(page);
    const state = (f) => f.locator('#status').getAttribute('data-state');
    await eventually('waiting for the host', 20000, async () => (await state(frame)) === 'waiting');
    check((await frame.locator('#status').textContent()) === 'Waiting for the app to sign you in…', 'status: ' + await frame.locator('#status').textContent());
    await page.waitForTimeout(3000); // 30 rounds of the attacker's posts
    check(await state(frame) === 'waiting', `state ${await state(frame)} after the attacker's tokens`);
    check(sigs().length === 0, 'UserSig asked for: ' + JSON.stringify(sigs()));
    check(consoleLines.some((l) => l.includes(`token from ${host.otherURL.slice(0, -1)} is ignored`)), 'no console note of the dropped token');
    const told = await page.evaluate(() => window.told);
    check(told.length === 0, 'the page told the hostile page ' + JSON.stringify(told));
    await page.close();
    await context.unroute(chatURL);

    // 3. The allowed host, with a hostile frame next to the chat page posting the attacker's token
    // all along: the page waits (it told its host it is ready), then signs in with the host's.
    page = await newPage('host');
    await page.goto(host.url + 'host');
    frame = await chatFrame(page);
    await eventually('waiting in the host', 20000, async () => (await state(frame)) === 'waiting');
    await eventually('the hostile frame posting', 10000, () => page.frames().some((f) => f.url().endsWith('/sibling')));
    await page.waitForTimeout(2000);
    check(await state(frame) === 'waiting' && sigs().length === 0, `before the host's token: state ${await state(frame)}, UserSigs ${JSON.stringify(sigs())}`);
    check(JSON.stringify(await page.evaluate(() => window.fromPage)) === '["timdesk:ready"]', 'the host heard ' + JSON.stringify(await page.evaluate(() => window.fromPage)));
    await page.evaluate(() => window.signIn());
    await eventually('online in the host', 60000, async () => (await state(frame)) === 'online');
    await page.waitForTimeout(1000);
    check(sigs().length === 1 && sigs()[0].auth === 'Bearer ' + jwt, 'UserSig requests: ' + JSON.stringify(sigs().map((r) => r.auth === 'Bearer ' + jwt ? 'host token' : r.auth === 'Bearer ' + attackerJWT ? 'ATTACKER token' : r.auth)));
    await page.close();

    // 4. A native WebView: the page at the top, the token injected on its own origin.
    page = await newPage('native');
    await page.goto(chatURL);
    await eventually('waiting (native)', 20000, async () => (await state(page.mainFrame())) === 'waiting');
    await page.evaluate((token) => window.postMessage(JSON.stringify({ type: 'timdesk:token', token }), '*'), nativeJWT);
    await eventually('online (native)', 60000, async () => (await state(page.mainFrame())) === 'online');
    check(sigs().length === 2 && sigs()[1].auth === 'Bearer ' + nativeJWT, 'native UserSig request: ' + sigs().length);
  } finally {
    await close();
    await host.close();
  }
});
