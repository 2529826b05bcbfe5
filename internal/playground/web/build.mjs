// Builds the playground into ../dist: index.html, and under assets/ the
// hashed script and stylesheet and licenses.txt, the licence of every
// package the bundle contains. Run with `npm run build` (or ../build.sh);
// the result is committed and embedded in the server binary.
import * as esbuild from 'esbuild';
import { readFileSync, writeFileSync, rmSync, mkdirSync, existsSync, readdirSync } from 'node:fs';
import { dirname, join, relative, basename, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, '..', 'dist');

// GraphiQL's stylesheet embeds its web fonts (Roboto and Fira Code, every
// weight and script) as data URLs: about 370 kB that do not compress. The
// page uses the system's fonts instead (src/style.css).
const dropWebFonts = {
  name: 'drop-web-fonts',
  setup(build) {
    build.onLoad({ filter: /[\\/]graphiql[\\/]dist[\\/]style\.css$/ }, (args) => ({
      contents: readFileSync(args.path, 'utf8').replace(/@font-face\s*\{[^}]*\}/g, ''),
      loader: 'css',
    }));
  },
};

const licenses = 'assets/licenses.txt';
const notice = `mlgraph playground: the bundled packages and their licences are in /${licenses}`;
rmSync(dist, { recursive: true, force: true });
mkdirSync(join(dist, 'assets'), { recursive: true });
const result = await esbuild.build({
  absWorkingDir: here,
  entryPoints: { app: 'src/main.jsx' },
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['es2022', 'chrome111', 'firefox114', 'safari16.4'],
  jsx: 'automatic',
  define: { 'process.env.NODE_ENV': '"production"' },
  outdir: join(dist, 'assets'),
  entryNames: '[name]-[hash]',
  assetNames: '[name]-[hash]',
  legalComments: 'none', // the licences are in licenses.txt, whole
  banner: { js: `/*! ${notice} */`, css: `/*! ${notice} */` },
  metafile: true,
  logLevel: 'warning',
  plugins: [dropWebFonts],
});

const outputs = Object.keys(result.metafile.outputs).map((p) => relative(dist, join(here, p)).split(sep).join('/'));
const js = outputs.find((p) => p.endsWith('.js'));
const css = outputs.find((p) => p.endsWith('.css'));
if (!js || !css || outputs.length !== 2) throw new Error(`unexpected outputs: ${outputs.join(', ')}`);
const html = readFileSync(join(here, 'src', 'index.html'), 'utf8')
  .replace('{{js}}', `/${js}`)
  .replace('{{css}}', `/${css}`);
writeFileSync(join(dist, 'index.html'), html);

// The licence of each package whose code is in the bundle. A package
// without a licence file takes the one of the package of its project named
// in licenceOf, or else, when MIT, the MIT licence in the name of its
// package.json's author.
const licenceOf = {
  'react-compiler-runtime': 'react',
  '@graphiql/plugin-doc-explorer': 'graphiql',
  '@graphiql/plugin-history': 'graphiql',
};
const packages = new Map();
for (const input of Object.keys(result.metafile.inputs)) {
  const m = input.match(/^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//);
  if (!m || packages.has(m[1])) continue;
  const root = join(here, m[1]);
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const file = readdirSync(root).find((f) => /^(licen[cs]e|copying)(\.|$)/i.test(f));
  packages.set(m[1], {
    name: pkg.name, version: pkg.version, license: pkg.license, author: authorOf(pkg),
    text: file ? readFileSync(join(root, file), 'utf8').trim() : undefined,
  });
}
for (const p of packages.values()) {
  if (p.text) continue;
  const project = [...packages.values()].find((q) => q.text && q.name === licenceOf[p.name]);
  if (project) p.text = `(No licence file in the package; that of ${project.name}, of the same project:)\n\n${project.text}`;
  else if (p.license === 'MIT' && p.author) p.text = `(No licence file in the package; the MIT licence its package.json names:)\n\n${mit(p.author)}`;
  else throw new Error(`${p.name}@${p.version} has no licence file: add its text to build.mjs`);
}
function authorOf(pkg) {
  return typeof pkg.author === 'string' ? pkg.author.replace(/\s*[<(].*$/, '') : pkg.author?.name;
}
function mit(holder) {
  return `MIT License

Copyright (c) ${holder}

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.`;
}
const list = [...packages.values()].sort((a, b) => a.name.localeCompare(b.name));
writeFileSync(join(dist, licenses),
  'The playground bundles these packages (built by internal/playground/web/build.mjs):\n\n' +
  list.map((p) => `  ${p.name}@${p.version} (${p.license})`).join('\n') + '\n\n' +
  list.map((p) => `${'='.repeat(72)}\n${p.name}@${p.version}\n\n${p.text}\n`).join('\n'));

for (const f of ['index.html', js, css, licenses]) {
  console.log(`${f}: ${readFileSync(join(dist, f)).length} bytes`);
}
