// Browser test of the production transport, Tencent's Web SDK, with the network to Tencent cut
// (every request that is not to the timdesk API is aborted, every WebSocket refused): the page
// creates the SDK with the app's SDKAppID, logs in with the UserSig the API issued, shows
// "connecting", and on a simulated KICKED_OUT (UserSig expired) fetches a new UserSig and logs in
// again with it.
import { launch, env, eventually, check, main } from './browser.mjs';
import { join } from 'node:path';

const api = env('CHAT_API_URL');
const jwt = env('CHAT_JWT');
const customer = env('CHAT_CUSTOMER');
const sdkAppID = Number(env('CHAT_SDKAPPID'));
const shots = process.env.CHAT_SCREENSHOT_DIR;

await main(async (consoleLines) => {
  // Every host name fails to resolve (workers' WebSockets included); the API is on 127.0.0.1.
  const { context, close } = await launch('en-US', ['--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1']);
  try {
    const origin = new URL(api).origin;
    const blocked = [];
    await context.route('**/*', (route) => {
      if (route.request().url().startsWith(origin + '/')) return route.continue();
      blocked.push(route.request().url());
      return route.abort('internetdisconnected');
    });
    await context.routeWebSocket(/.*/, (ws) => {
      blocked.push(ws.url());
      ws.close({ code: 1006, reason: 'network cut by the test' });
    });

    const page = await context.newPage();
    page.on('console', (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => consoleLines.push(`pageerror: ${e.message}`));
    const issued = [];
    page.on('response', async (res) => {
      if (res.url() === `${origin}/api/v1/usersig` && res.request().method() === 'POST') {
        issued.push(res.status() === 200 ? await res.json() : { status: res.status() });
      }
    });
    // Watch the SDK: the page hands its namespace to this hook (defined only by the tests).
    await page.addInitScript(() => {
      const seen = { creates: [], logins: [], handlers: {} };
      window.__seen = seen;
      window.__timdeskWrapSDK = (TCC) => ({
        create(opts) {
          seen.creates.push({ ...opts });
          const chat = TCC.create(opts);
          const login = chat.login.bind(chat);
          chat.login = (o) => { seen.logins.push({ ...o }); return login(o); };
          const on = chat.on.bind(chat);
          chat.on = (name, f, ctx) => { (seen.handlers[name] = seen.handlers[name] || []).push(f); return on(name, f, ctx); };
          return chat;
        },
      });
    });

    // This time the host app hands the JWT over by postMessage, when the page says it is ready.
    await page.goto(`${api}/chat/`);
    check((await page.locator('html').getAttribute('lang')) === 'en', 'UI language is not English');
    const status = page.getByRole('status');
    await eventually('waiting for the host', 10000, async () => (await status.getAttribute('data-state')) === 'waiting');
    check(issued.length === 0, 'a UserSig was requested without a token');
    await page.evaluate((token) => window.postMessage({ type: 'timdesk:token', token }, '*'), jwt);
    await eventually('SDK login call', 60000, () => page.evaluate(() => window.__seen.logins.length === 1));
    const seen = await page.evaluate(() => ({ creates: window.__seen.creates, logins: window.__seen.logins }));
    check(await page.locator('body').getAttribute('data-transport') === 'sdk', 'not the SDK transport');
    check(seen.creates.length === 1 && seen.creates[0].SDKAppID === sdkAppID,
      `SDK created with ${JSON.stringify(seen.creates)}, want SDKAppID ${sdkAppID}`);
    check(issued.length === 1 && issued[0].userSig, `UserSig answers: ${JSON.stringify(issued)}`);
    check(seen.logins[0].userID === customer && seen.logins[0].userSig === issued[0].userSig,
      `login(${seen.logins[0].userID}, …) does not use the issued UserSig`);

    // No network: login never settles, and the page says so.
    await page.waitForTimeout(2000);
    check(await status.getAttribute('data-state') === 'connecting', `state ${await status.getAttribute('data-state')}, want connecting`);
    check((await status.textContent()).includes('Connecting'), 'no visible "Connecting"');
    if (shots) await page.screenshot({ path: join(shots, 'chat-phone-connecting.png') });
    await eventually('the SDK tried Tencent', 10000, () => blocked.some((u) => /my-imcloud\.com|qcloud\.com|tencent/.test(u)));

    // The UserSig expired: the SDK says KICKED_OUT; the page gets a new one and logs in again.
    await page.evaluate(() => {
      for (const f of window.__seen.handlers.kickedOut || []) f({ name: 'kickedOut', data: { type: 'userSigExpired' } });
    });
    await eventually('second UserSig', 10000, () => issued.length === 2);
    await eventually('login with the second UserSig', 10000, () => page.evaluate((u) => window.__seen.logins.slice(1).some((l) => l.userSig === u), issued[1].userSig));
    check(await status.getAttribute('data-state') === 'connecting', 'not "connecting" after the re-login');

    // A while before the UserSig expires (the API issues them for 1 minute here; the page renews
    // at half-time) the page fetches a new one and logs in again with it (logging out first,
    // which offline waits at most 5 s).
    const loginsBefore = await page.evaluate(() => window.__seen.logins.length);
    await eventually('UserSig refreshed before it expires', 120000, () => issued.length === 3);
    await eventually('login with the refreshed UserSig', 20000, () => page.evaluate(([n, u]) =>
      window.__seen.logins.slice(n).some((l) => l.userSig === u), [loginsBefore, issued[2].userSig]));
    check(await status.getAttribute('data-state') === 'connecting', 'not "connecting" after the refresh');

    // Another device took the session: no automatic fight over it, a Reconnect button instead.
    await page.evaluate(() => {
      for (const f of window.__seen.handlers.kickedOut || []) f({ name: 'kickedOut', data: { type: 'multipleAccount' } });
    });
    await page.getByRole('button', { name: 'Reconnect' }).waitFor({ timeout: 5000 });
    await page.waitForTimeout(1000);
    check(issued.length === 3, `a kick by another device fetched a UserSig (${issued.length} issued)`);
    console.log(`blocked ${blocked.length} requests to Tencent:\n  ${blocked.join("\n  ")}`);
  } finally {
    await close();
  }
});
