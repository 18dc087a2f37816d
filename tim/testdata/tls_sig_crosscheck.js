// Cross-check helper for tim/node_crosscheck_test.go, driving Tencent's official npm package
// tls-sig-api-v2 (1.0.2).
//
//   node tls_sig_crosscheck.js <node_modules dir> check  < request.json > response.json
//   node tls_sig_crosscheck.js <node_modules dir> bench <milliseconds>
//
// check request:  {"sdkappid":N, "key":"...", "gen":[{"userid","expire","nowMs"}],
//                  "verify":[{"userid","token","now"}]}
// check response: {"version":"1.0.2", "tokens":["..."], "verified":[{"ok":bool,"reason":"..."}]}
//
// The package has no verifier, so verify() below decodes a token with the package's own
// conventions (its base64url substitutions, zlib, JSON) and recomputes the signature with the
// package's Api instance (_hmacsha256), comparing it to TLS.sig.
'use strict';
const path = require('path');
const zlib = require('zlib');

const modules = process.argv[2];
const mode = process.argv[3];
const TLSSigAPIv2 = require(path.join(modules, 'tls-sig-api-v2'));
const version = require(path.join(modules, 'tls-sig-api-v2', 'package.json')).version;

function unescapeToken(token) {
  return token.replace(/\*/g, '+').replace(/-/g, '/').replace(/_/g, '=');
}

function verify(api, userid, token, now) {
  let doc;
  try {
    const raw = Buffer.from(unescapeToken(token), 'base64');
    doc = JSON.parse(zlib.inflateSync(raw).toString('utf8'));
  } catch (e) {
    return { ok: false, reason: 'malformed: ' + e.message };
  }
  const id = doc['TLS.identifier'], app = doc['TLS.sdkappid'], time = doc['TLS.time'],
    expire = doc['TLS.expire'], sig = doc['TLS.sig'];
  if (typeof id !== 'string' || typeof app !== 'number' || typeof time !== 'number' ||
    typeof expire !== 'number' || typeof sig !== 'string') {
    return { ok: false, reason: 'malformed: missing field' };
  }
  if (app !== Number(api.sdkappid)) return { ok: false, reason: 'sdkappid' };
  if (id !== userid) return { ok: false, reason: 'identifier' };
  const userbuf = doc['TLS.userbuf'] === undefined ? null : doc['TLS.userbuf'];
  if (api._hmacsha256(id, time, expire, userbuf) !== sig) return { ok: false, reason: 'sig' };
  if (now > time + expire) return { ok: false, reason: 'expired' };
  return { ok: true, reason: '' };
}

function check(req) {
  const api = new TLSSigAPIv2.Api(req.sdkappid, req.key);
  const realNow = Date.now;
  const tokens = [];
  try {
    for (const g of req.gen) {
      Date.now = () => g.nowMs;
      tokens.push(api.genUserSig(g.userid, g.expire));
    }
  } finally {
    Date.now = realNow;
  }
  const verified = req.verify.map(v => verify(api, v.userid, v.token, v.now));
  return { version, tokens, verified };
}

function bench(ms) {
  const api = new TLSSigAPIv2.Api(1400000000, '5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e');
  for (let i = 0; i < 2000; i++) api.genUserSig('user_01-abc', 15552000); // warm-up
  let n = 0;
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(ms) * 1000000n;
  let now = start;
  while (now < deadline) {
    for (let i = 0; i < 200; i++) api.genUserSig('user_01-abc', 15552000);
    n += 200;
    now = process.hrtime.bigint();
  }
  const seconds = Number(now - start) / 1e9;
  return { version, signs: n, seconds, perSecond: n / seconds };
}

if (mode === 'check') {
  let input = '';
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', c => { input += c; });
  process.stdin.on('end', () => { process.stdout.write(JSON.stringify(check(JSON.parse(input)))); });
} else if (mode === 'bench') {
  process.stdout.write(JSON.stringify(bench(Number(process.argv[4] || 2000))));
} else {
  process.stderr.write('usage: tls_sig_crosscheck.js <node_modules> check|bench [ms]\n');
  process.exit(2);
}
