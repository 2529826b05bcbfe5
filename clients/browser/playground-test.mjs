// The playground in a real browser. Headless Chromium (the system's:
// CHROMIUM_PATH, default /usr/bin/chromium; playwright-core downloads
// none) opens the page, and, typing as a person does, runs a query, a
// subscription that follows a training live, and, once the server has a
// key, a query and a subscription with the key in the Headers tab. Every
// request to a host other than this machine is blocked and fails the test.
// It starts its own server on loopback unless MLGRAPH_URL is set (then
// the steps that make a key, which would turn authentication on there for
// good, are skipped). It saves a screenshot to PLAYGROUND_SCREENSHOT
// (default: mlgraph-playground.png in the temporary directory) and prints
// its path. Bounded: 240 s at most.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const started = Date.now();
const log = (...args) => console.log(`${((Date.now() - started) / 1000).toFixed(1).padStart(5)} s`, ...args);
const fail = (msg) => { throw new Error(msg); };
const deadline = setTimeout(() => { console.error('browser test timed out'); cleanup(); process.exit(1); }, 240_000);
const screenshot = process.env.PLAYGROUND_SCREENSHOT || join(tmpdir(), 'mlgraph-playground.png');

let server, work, context;
function cleanup() {
  if (server) server.kill('SIGTERM');
  if (work) setTimeout(() => rmSync(work, { recursive: true, force: true }), 500);
}

async function freePort() {
  const probe = createServer();
  await new Promise((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

async function startServer() {
  if (process.env.MLGRAPH_URL) return process.env.MLGRAPH_URL.replace(/\/$/, '');
  const bin = join(work, 'mlgraph');
  execFileSync('go', ['build', '-o', bin, '.'], { cwd: repo, stdio: 'inherit' });
  const port = await freePort();
  server = spawn(bin, ['-addr', `127.0.0.1:${port}`, '-db', join(work, 'playground.db'), '-log-level', 'warn', '-workers', '1'],
    { stdio: ['ignore', 'inherit', 'inherit'] });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    try { if ((await fetch(`${url}/healthz`)).ok) return url; } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  fail('server did not start');
}

// The server's own GraphQL client, for what the test sets up around the page.
async function gql(base, query, variables, key) {
  const headers = { 'Content-Type': 'application/json' };
  if (key) headers.Authorization = `Bearer ${key}`;
  const res = await (await fetch(`${base}/query`, { method: 'POST', headers, body: JSON.stringify({ query, variables }) })).json();
  if (res.errors) fail(`${query.slice(0, 60)}…: ${JSON.stringify(res.errors)}`);
  return res.data;
}

const loopback = (url) => ['127.0.0.1', 'localhost', '[::1]'].includes(new URL(url).hostname);

async function main() {
  work = mkdtempSync(join(tmpdir(), 'mlgraph-browser-'));
  const base = await startServer();
  log('server', base);

  const chromiumPath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
  context = await chromium.launchPersistentContext(join(work, 'profile'), {
    executablePath: chromiumPath,
    headless: true,
    viewport: { width: 1280, height: 800 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1'],
  });
  log('chromium', context.browser()?.version() ?? chromiumPath);
  const offHost = [];
  const problems = [];
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith('data:') || loopback(url)) return route.continue();
    offHost.push(url);
    return route.abort('blockedbyclient');
  });
  const page = context.pages()[0] ?? await context.newPage();
  const requests = [];
  page.on('request', (r) => requests.push(r.url()));
  page.on('websocket', (ws) => { requests.push(ws.url()); if (!loopback(ws.url())) offHost.push(ws.url()); });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy|Refused to/i.test(m.text())) problems.push(`console: ${m.text()}`);
  });

  // 1. The page renders GraphiQL, the headers editor open with the hint.
  await page.goto(`${base}/`);
  const queryEditor = page.locator('.graphiql-query-editor .CodeMirror');
  const response = page.locator('.graphiql-response');
  const headersEditor = page.locator('.graphiql-editor-tool .CodeMirror >> visible=true');
  await queryEditor.waitFor({ timeout: 30_000 });
  await page.locator('.graphiql-tab', { hasText: 'Progress' }).waitFor();
  const hint = (await headersEditor.locator('.CodeMirror-line').allInnerTexts()).join(' ');
  if (!hint.includes('Bearer <your key>')) fail(`the headers editor shows ${JSON.stringify(hint)}`);
  if (!(await page.locator('.graphiql-logo').innerText()).includes('/query')) fail('the page does not show the endpoint');
  log('GraphiQL rendered; the Headers tab open with', hint.replace(/\s+/g, ' '));
  // The schema came through introspection: the docs list the root types.
  const docsButton = page.locator('.graphiql-sidebar button[aria-label*="Documentation Explorer"]');
  await docsButton.click();
  const docs = page.locator('.graphiql-doc-explorer');
  await docs.getByText('Subscription').first().waitFor({ timeout: 30_000 });
  const rootTypes = (await docs.innerText()).match(/\b(Query|Mutation|Subscription)\b/g) ?? [];
  if (new Set(rootTypes).size !== 3) fail(`the docs show ${JSON.stringify(await docs.innerText())}`);
  await docsButton.click();
  log('schema loaded: the docs list Query, Mutation and Subscription');

  const responseText = () => response.innerText();
  async function waitForResponse(test, what, timeout = 30_000) {
    const end = Date.now() + timeout;
    let text;
    while (Date.now() < end) {
      text = await responseText();
      if (test(text)) return text;
      await page.waitForTimeout(50);
    }
    fail(`the result panel never showed ${what}; it shows:\n${text}`);
  }
  // Types an operation named `name` over the query editor's text, lays it
  // out (GraphiQL's prettify, Shift-Ctrl-P), and waits until GraphiQL has
  // parsed it (the tab takes the operation's name).
  async function typeOperation(name, text) {
    await queryEditor.click();
    await page.keyboard.press('Control+A');
    await page.keyboard.press('Backspace');
    await page.keyboard.type(text, { delay: 5 });
    await page.keyboard.press('Escape'); // closes an autocompletion list, if open
    await page.keyboard.press('Shift+Control+P');
    await page.keyboard.press('Escape');
    await page.locator('.graphiql-tab-active', { hasText: name }).waitFor({ timeout: 10_000 });
  }
  const run = () => page.keyboard.press('Control+Enter');

  // 2. The default query, as it is.
  await queryEditor.click();
  await run();
  const first = await waitForResponse((t) => t.includes('"datasets"') && t.includes('"viewer"'), 'the default query\'s data');
  if (first.includes('"errors"')) fail(`the default query failed:\n${first}`);
  log('default query ran:', first.match(/"totalCount": \d+/)?.[0]);

  // The other example tabs, as they are, in order: on a new server their
  // ids are right.
  if (!process.env.MLGRAPH_URL) {
    for (const [tab, want] of [['CreateDataset', '"rowCount": 8'], ['Train', '"status": "QUEUED"'], ['Progress', '"status": "READY"']]) {
      await page.locator('.graphiql-tab', { hasText: tab }).click();
      await page.locator('.graphiql-execute-button').click();
      const text = await waitForResponse((t) => t.includes(want) || t.includes('"errors"'), `${want} (tab ${tab})`);
      if (text.includes('"errors"')) fail(`the ${tab} tab failed:\n${text}`);
      log(`example tab ${tab} ran: ${want}`);
    }
  }

  // 3. A query typed in, run with Ctrl-Enter.
  const rows = ['x1,x2,x3,y', ...Array.from({ length: 3000 }, (_, i) => {
    const [a, b, c] = [Math.sin(i), Math.cos(i * 0.7), (i % 17) / 17];
    return `${a.toFixed(4)},${b.toFixed(4)},${c.toFixed(4)},${(3 * a - 2 * b + c * c).toFixed(4)}`;
  })];
  const { createDataset: ds } = await gql(base, 'mutation($csv: String!) { createDataset(input: {name: "waves", csv: $csv}) { id } }',
    { csv: rows.join('\n') + '\n' });
  await typeOperation('Typed', `query Typed { dataset(id: "${ds.id}") { name rowCount columns { name type } } }`);
  await run();
  await waitForResponse((t) => t.includes('"name": "waves"') && t.includes('"rowCount": 3000'), 'the typed query\'s dataset');
  log(`typed query ran: dataset ${ds.id} "waves", 3000 rows`);

  // 4. A subscription from the page, following a long training live; the
  // training is cancelled once the page has shown it running.
  const { trainModel: long } = await gql(base, `mutation($id: ID!) { trainModel(input: {datasetId: $id, target: "y",
    algorithm: GRADIENT_BOOSTING, params: {nEstimators: 100000}, split: {method: NONE}}) { id status } }`, { id: ds.id });
  await typeOperation('Follow', `subscription Follow { trainingProgress(modelId: "${long.id}") { status progress { fraction stage iteration } error } }`);
  await page.locator('.graphiql-execute-button').click();
  const live = await waitForResponse((t) => t.includes('"status": "TRAINING"') && /"iteration": \d+/.test(t), 'a TRAINING event');
  const it1 = Number(live.match(/"iteration": (\d+)/)[1]);
  const later = await waitForResponse((t) => Number(t.match(/"iteration": (\d+)/)?.[1] ?? 0) > it1, 'a later progress event');
  log(`subscription: TRAINING at iteration ${it1}, then ${later.match(/"iteration": (\d+)/)[1]}`);
  await gql(base, 'mutation($id: ID!) { cancelTraining(id: $id) { status } }', { id: long.id });
  await waitForResponse((t) => t.includes('"status": "CANCELLED"'), 'the CANCELLED event');
  log('subscription: CANCELLED event after cancelTraining');

  // 5. Once a key exists, the Headers tab carries it, for queries and for
  // subscriptions (the websocket's connection_init).
  const { trainModel: quick } = await gql(base, `mutation($id: ID!) { trainModel(wait: true, input: {datasetId: $id, target: "y",
    algorithm: LINEAR_REGRESSION, split: {method: NONE}}) { id status } }`, { id: ds.id });
  if (process.env.MLGRAPH_URL) {
    log('MLGRAPH_URL is set: skipping the steps that make an API key');
  } else {
    const { createApiKey } = await gql(base, 'mutation { createApiKey(input: {name: "browser", scopes: [ADMIN]}) { key } }');
    await typeOperation('Who', 'query Who { viewer { authenticated project scopes } }');
    await run();
    await waitForResponse((t) => t.includes('needs an API key'), 'that a key is needed (the placeholder is not sent)');
    log('with a key on the server and the placeholder in Headers: "needs an API key"');
    await headersEditor.click();
    await page.keyboard.press('Control+A');
    await page.keyboard.press('Backspace');
    await page.keyboard.type(`{"Authorization": "Bearer ${createApiKey.key}"}`, { delay: 5 });
    await page.keyboard.press('Home');
    await queryEditor.click();
    await run();
    await waitForResponse((t) => t.includes('"authenticated": true') && t.includes('"project": "default"'), 'the authenticated viewer');
    log('key typed into Headers: query authenticated');
  }
  await typeOperation('Done', `subscription Done { trainingProgress(modelId: "${quick.id}") { status model { name metrics { r2 rmse } } } }`);
  await page.locator('.graphiql-execute-button').click();
  await waitForResponse((t) => t.includes('"status": "READY"') && t.includes('"r2"'), 'the READY event');
  log(`subscription${process.env.MLGRAPH_URL ? '' : ' with the key'}: READY event of model ${quick.id}`);

  await page.screenshot({ path: screenshot });
  log('screenshot', screenshot);

  if (offHost.length) fail(`the page tried to reach other hosts:\n${offHost.join('\n')}`);
  if (problems.length) fail(problems.join('\n'));
  const hosts = [...new Set(requests.map((u) => new URL(u).host))];
  log(`${requests.length} requests, all to ${hosts.join(', ')}; none to another host`);
  log('browser test passed');
}

main()
  .catch((err) => { console.error('browser test failed:', err); process.exitCode = 1; })
  .finally(async () => {
    clearTimeout(deadline);
    if (context) await context.close().catch(() => {});
    cleanup();
  });
