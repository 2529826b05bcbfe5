// A real client of mlgraph (mlgraph.mjs), as a frontend or script would
// use it: it uploads a CSV (GraphQL multipart request), queues a training,
// follows its progress over websocket (graphql-ws), then predicts
// (graphql-request). It starts its own server on loopback unless
// MLGRAPH_URL is set (MLGRAPH_KEY is then the key it sends), prints a
// transcript, and exits non-zero on any failure. With --keys, the server
// it starts has API keys: it makes one with `mlgraph keys create`, checks
// that requests and a websocket without it are refused, and runs
// everything with it. Bounded: 120 s at most.
import { spawn, execFileSync } from 'node:child_process';
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gql } from 'graphql-request';
import { connect } from './mlgraph.mjs';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const log = (...args) => console.log(new Date().toISOString().slice(11, 23), ...args);
const fail = (msg) => { throw new Error(msg); };
const deadline = setTimeout(() => { console.error('client test timed out'); process.exit(1); }, 120_000);

const withKeys = process.argv.includes('--keys');

let server, work;
// startServer returns the server's URL and the API key to send (if any).
async function startServer() {
  if (process.env.MLGRAPH_URL) return { url: process.env.MLGRAPH_URL, key: process.env.MLGRAPH_KEY };
  work = mkdtempSync(join(tmpdir(), 'mlgraph-node-'));
  const bin = join(work, 'mlgraph');
  const db = join(work, 'client.db');
  execFileSync('go', ['build', '-o', bin, '.'], { cwd: repo, stdio: 'inherit' });
  let key;
  if (withKeys) {
    key = execFileSync(bin, ['keys', 'create', '--scope', 'read,predict,train', '--name', 'node client', '-db', db], { encoding: 'utf8' }).trim();
  }
  const port = 20000 + Math.floor(Math.random() * 20000);
  server = spawn(bin, ['-addr', `127.0.0.1:${port}`, '-db', db, '-log-level', 'warn'], { stdio: 'inherit' });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    try { if ((await fetch(`${url}/healthz`)).ok) return { url, key }; } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  fail('server did not start');
}

// refusedWithoutKey checks that the server turns away a client with no
// key, over HTTP (UNAUTHENTICATED) and over websocket (connection_init).
async function refusedWithoutKey(base) {
  const anonymous = connect({ url: base, key: '' });
  try {
    await anonymous.request(gql`{ datasets { totalCount } }`);
    fail('a request without a key was answered');
  } catch (err) {
    const code = err.response?.errors?.[0]?.extensions?.code;
    if (code !== 'UNAUTHENTICATED') throw err;
  }
  const closeCode = await anonymous.subscribe('subscription { trainingProgress(modelId: "1") { status } }', {}, () => {})
    .then(() => 'completed', (err) => err.code ?? err.message);
  await anonymous.dispose();
  if (closeCode !== 4403) fail(`a websocket without a key was not closed with 4403: ${closeCode}`);
  log('without a key: HTTP UNAUTHENTICATED, websocket closed with 4403');
}

async function main() {
  const { url: base, key } = await startServer();
  log('server', base, key ? '(with an API key)' : '(no API key)');
  if (withKeys) await refusedWithoutKey(base);
  const client = connect({ url: base, key });

  // 1. Upload digits.csv with its split as a column, as a browser would send a file.
  const csv = readFileSync(join(repo, 'testdata', 'digits.csv'), 'utf8').trimEnd().split('\n');
  const split = readFileSync(join(repo, 'testdata', 'digits.split'), 'utf8').trimEnd().split('\n');
  const text = [csv[0] + ',split', ...csv.slice(1).map((line, i) => `${line},${split[i].trim()}`)].join('\n') + '\n';
  const { uploadDataset: dataset } = await client.upload(
    'mutation($name: String!, $file: Upload!) { uploadDataset(name: $name, file: $file) { id rowCount columns { name } } }',
    { name: 'digits' }, 'file', new Blob([text], { type: 'text/csv' }), 'digits.csv');
  log(`uploaded dataset ${dataset.id}: ${dataset.rowCount} rows, ${dataset.columns.length} columns`);
  if (dataset.rowCount !== 1797) fail('wrong row count');

  // 2. Queue a training; it answers at once.
  const { trainModel } = await client.request(gql`
    mutation($input: TrainModelInput!) { trainModel(input: $input) { id status } }`, {
    input: {
      datasetId: dataset.id, target: 'target', task: 'CLASSIFICATION', algorithm: 'MLP',
      params: { hiddenLayerSizes: '64', maxIter: 300, seed: 0 },
      split: { method: 'CUSTOM', column: 'split' },
    },
  });
  log(`model ${trainModel.id} is ${trainModel.status}`);
  if (trainModel.status !== 'QUEUED') fail('trainModel did not queue');

  // 3. Follow it over websocket until it finishes.
  const events = [];
  await client.subscribe(`subscription($id: ID!) { trainingProgress(modelId: $id) {
      status error progress { fraction stage iteration loss etaSeconds } } }`,
  { id: trainModel.id }, (data) => {
    const e = data.trainingProgress;
    events.push(e);
    const p = e.progress;
    log(`event: ${e.status}` + (p ? ` ${(100 * p.fraction).toFixed(0)}% ${p.stage}` +
      (p.iteration != null ? ` epoch ${p.iteration} loss ${p.loss.toFixed(4)}` : '') +
      (p.etaSeconds != null ? ` eta ${p.etaSeconds.toFixed(1)} s` : '') : ''));
  });
  const last = events.at(-1);
  if (!last || last.status !== 'READY') fail(`training ended ${JSON.stringify(last)}`);
  if (!events.some((e) => e.progress && e.progress.stage === 'fitting')) fail('no fitting progress seen');

  // 4. Read the model and predict.
  const { model } = await client.request(gql`query($id: ID!) { model(id: $id) { status metrics { accuracy f1 } trainingTimeMs } }`, { id: trainModel.id });
  log(`model ${trainModel.id}: test accuracy ${model.metrics.accuracy.toFixed(4)}, macro F1 ${model.metrics.f1.toFixed(4)}, trained in ${model.trainingTimeMs} ms`);
  if (model.metrics.accuracy < 0.95) fail('accuracy too low');
  const zero = csv[1].split(',').slice(0, 64).map(Number); // the first row is a 0
  const { predict } = await client.request(gql`
    mutation($id: ID!, $rows: [[Float!]!]) { predict(input: {modelId: $id, rows: $rows}) { id outputs { label probabilities { label probability } } } }`,
    { id: trainModel.id, rows: [zero] });
  const out = predict.outputs[0];
  const best = out.probabilities.reduce((a, b) => (b.probability > a.probability ? b : a));
  log(`prediction ${predict.id}: label ${out.label} (p = ${best.probability.toFixed(4)})`);
  if (out.label !== '0') fail('the first digit should be a 0');
  await client.dispose();
  log('client test passed');
}

main()
  .catch((err) => { console.error('client test failed:', err); process.exitCode = 1; })
  .finally(() => {
    clearTimeout(deadline);
    if (server) server.kill('SIGTERM');
    if (work) setTimeout(() => rmSync(work, { recursive: true, force: true }), 500);
  });
