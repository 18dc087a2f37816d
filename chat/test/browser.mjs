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
// phone's link to the IM server: cut() drops every connection and refuses new ones (the browser
// sees them reset) until restore().
export async function linkProxy(target) {
  const { hostname, port } = new URL(target);
  const conns = new Set();
  let up = true;
  const server = createServer((client) => {
    if (!up) { client.destroy(); return; }
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
    cut() {
      up = false;
      for (const [a, b] of conns) { a.destroy(); b.destroy(); }
      conns.clear();
    },
    restore() { up = true; },
    close() {
      this.cut();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

// serveHTML serves html on a loopback port of its own: a host app's page, on another origin than
// the chat page it embeds.
export async function serveHTML(html) {
  const server = createHTTPServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(html);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}/`,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }),
  };
}
