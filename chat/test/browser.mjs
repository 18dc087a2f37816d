// Shared helpers of the browser tests: Debian's Chromium driven by playwright-core (never a
// browser playwright downloads), a fresh profile per run.
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { createServer as createHTTPServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set (the Go test e2e.TestChatPage sets it)`);
  return v;
};

// launch starts Chromium and returns a phone-sized (360 px) context in locale.
export async function launch(locale, extraArgs = []) {
  const profile = mkdtempSync(join(tmpdir(), 'timdesk-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.TIMDESK_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync', ...extraArgs],
    viewport: { width: 360, height: 740 },
    deviceScaleFactor: 2,
    isMobile: true,
    hasTouch: true,
    locale,
  });
  const close = async () => {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  };
  return { context, close };
}

// eventually retries f until it returns a truthy value or timeout ms pass.
export async function eventually(what, timeout, f) {
  const end = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      const v = await f();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) throw new Error(`${what}: not within ${timeout} ms${last ? ': ' + last.message : ''}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export function check(cond, msg) {
  if (!cond) throw new Error(msg);
}

// main runs a scenario and exits non-zero on failure, after printing the page's console.
export async function main(scenario) {
  const consoleLines = [];
  try {
    await scenario(consoleLines);
    console.log('PASS');
  } catch (err) {
    console.error('FAIL:', err.stack || err);
    if (consoleLines.length) console.error('---- page console ----\n' + consoleLines.join('\n'));
    process.exit(1);
  }
}

// linkProxy forwards a loopback port to target's host and port byte for byte, standing for the
// phone's link to the IM server: cut() drops every connection and, until restore(), resets new
// ones — or, given an answer (raw HTTP), answers them with it, as a gateway whose upstream is down;
// turnedAway() counts the connections refused so.
export async function linkProxy(target) {
  const { hostname, port } = new URL(target);
  const conns = new Set();
  let up = true;
  let answer = '';
  let refused = 0;
  const all = new Set();
  const server = createServer((client) => {
    all.add(client);
    client.on('close', () => all.delete(client));
    client.on('error', () => {});
    if (!up) {
      refused++;
      if (answer) client.end(answer);
      else client.destroy();
      return;
    }
    const upstream = connect(Number(port), hostname);
    const pair = [client, upstream];
    conns.add(pair);
    const drop = () => { client.destroy(); upstream.destroy(); conns.delete(pair); };
    for (const s of pair) { s.on('error', drop); s.on('close', drop); }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    cut(httpAnswer = '') {
      up = false;
      answer = httpAnswer;
      for (const [a, b] of conns) { a.destroy(); b.destroy(); }
      conns.clear();
    },
    restore() { up = true; },
    turnedAway: () => refused,
    close() {
      this.cut();
      for (const c of all) c.destroy();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

// serveHTML serves host app pages on a loopback port (port, or one of its own when 0), on another
// origin than the chat page they embed: pages is the HTML of / or an object of HTML by path. The
// server answers both as http://127.0.0.1:port (url) and as http://localhost:port (otherURL),
// two origins.
export async function serveHTML(pages, port = 0) {
  const byPath = typeof pages === 'string' ? { '/': pages } : pages;
  const server = createHTTPServer((req, res) => {
    const html = byPath[new URL(req.url, 'http://x').pathname];
    if (html === undefined) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(html);
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const p = server.address().port;
  return {
    url: `http://127.0.0.1:${p}/`,
    otherURL: `http://localhost:${p}/`,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }),
  };
}

// focused is the focused element as assistive technology sees it — control: its role and
// accessible name from Playwright's ARIA snapshot (e.g. 'button "Send"'; '' when nothing has
// focus) — and at: its position in the document (-1: none).
export async function focused(page) {
  const at = await page.evaluate(() => {
    const e = document.activeElement;
    return e && e !== document.body ? [...document.querySelectorAll('*')].indexOf(e) : -1;
  });
  if (at < 0) return { control: '', at };
  const snap = await page.locator(':focus').ariaSnapshot();
  const m = /^- ([\w-]+)(?: "((?:[^"\\]|\\.)*)")?/.exec(snap);
  return { control: m ? `${m[1]} "${m[2] || ''}"` : snap, at };
}

// press presses key (Tab, Shift+Tab, Enter, Space) and checks that focus lands on want.
export async function press(page, key, want) {
  await page.keyboard.press(key);
  const got = (await focused(page)).control;
  check(got === want, `${key}: focus on ${got || 'nothing'}, want ${want}`);
}

// tabWalk walks every control of the page with the keyboard: Tab on to last, Shift+Tab back until
// focus leaves the page, Tab forward again. Both ways must visit the same controls, each with an
// accessible name, in the page's order, and miss none that takes focus; it returns them.
export async function tabWalk(page, last) {
  for (let i = 0; (await focused(page)).control !== last; i++) {
    check(i < 10, `Tab does not reach ${last}`);
    await page.keyboard.press('Tab');
  }
  const back = [await focused(page)];
  for (;;) {
    await page.keyboard.press('Shift+Tab');
    const f = await focused(page);
    if (f.at < 0 || back.some((b) => b.at === f.at)) break;
    back.push(f);
    check(back.length < 50, 'Shift+Tab never leaves the page');
  }
  const order = back.reverse();
  const names = order.map((f) => f.control);
  for (const f of order) check(/^[\w-]+ ".+"$/.test(f.control), `a control without an accessible name: ${f.control}`);
  for (let i = 1; i < order.length; i++) check(order[i - 1].at < order[i].at, `Tab order is not the page's order: ${names}`);
  const tabbable = await page.evaluate(() => [...document.querySelectorAll('*')]
    .map((e, i) => (e.tabIndex >= 0 && !e.disabled && e.checkVisibility() ? i : -1)).filter((i) => i >= 0));
  check(JSON.stringify(tabbable) === JSON.stringify(order.map((f) => f.at)), `Tab skips controls: reached ${names}`);
  await page.keyboard.press('Tab');
  for (let i = 0; i < order.length; i++) {
    if (i > 0) await page.keyboard.press('Tab');
    const f = await focused(page);
    check(f.at === order[i].at, `Tab after Shift+Tab: ${f.control || 'nothing'} at ${i}, want ${names[i]}`);
  }
  return names;
}
