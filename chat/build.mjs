// Builds the chat page into dist/ (committed: the API embeds it, so `go build` needs no npm).
//   node build.mjs          build into dist/
//   node build.mjs --check  build into a temporary folder and fail when dist/ differs
import { build } from 'esbuild';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const check = process.argv.includes('--check');
const out = check ? mkdtempSync(join(tmpdir(), 'timdesk-chat-')) : join(here, 'dist');

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
await build({
  entryPoints: [join(here, 'src', 'main.js')],
  outfile: join(out, 'app.js'),
  bundle: true,
  minify: true,
  format: 'iife',
  target: ['chrome69', 'safari12'],
  legalComments: 'none',
  logLevel: 'warning',
});
for (const f of ['index.html', 'style.css']) cpSync(join(here, 'src', f), join(out, f));

if (check) {
  const dist = join(here, 'dist');
  const names = (d) => readdirSync(d).sort().join(',');
  let stale = names(out) !== names(dist);
  for (const f of readdirSync(out)) {
    if (stale) break;
    stale = !readFileSync(join(out, f)).equals(readFileSync(join(dist, f)));
  }
  rmSync(out, { recursive: true, force: true });
  if (stale) {
    console.error('chat/dist is stale: run `make chat` and commit chat/dist');
    process.exit(1);
  }
  console.log('chat/dist matches the source');
}
