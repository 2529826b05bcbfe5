// A real client of mlgraph, as a frontend or script would use it: it
// uploads a CSV (GraphQL multipart request), queues a training, follows
// its progress over websocket (graphql-ws), then predicts (graphql-request).
// It starts its own server on loopback unless MLGRAPH_URL is set, prints a
// transcript, and exits non-zero on any failure. Bounded: 120 s at most.
import { spawn, execFileSync } from 'node:child_process';
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GraphQLClient, gql } from 'graphql-request';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const log = (...args) => console.log(new Date().toISOString().slice(11, 23), ...args);
const fail = (msg) => { throw new Error(msg); };
const deadline = setTimeout(() => { console.error('client test timed out'); process.exit(1); }, 120_000);

let server, work;
async function startServer() {
  if (process.env.MLGRAPH_URL) return process.env.MLGRAPH_URL;
  work = mkdtempSync(join(tmpdir(), 'mlgraph-node-'));
  const bin = join(work, 'mlgraph');
  execFileSync('go', ['build', '-o', bin, '.'], { cwd: repo, stdio: 'inherit' });
  const port = 20000 + Math.floor(Math.random() * 20000);
  server = spawn(bin, ['-addr', `127.0.0.1:${port}`, '-db', join(work, 'client.db'), '-log-level', 'warn'], { stdio: 'inherit' });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    try { if ((await fetch(`${url}/healthz`)).ok) return url; } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  fail('server did not start');
}

async function main() {
  const base = await startServer();
  log('server', base);
  const client = new GraphQLClient(`${base}/query`);

  // 1. Upload digits.csv with its split as a column, as a browser would send a file.
  const csv = readFileSync(join(repo, 'testdata', 'digits.csv'), 'utf8').trimEnd().split('\n');
  const split = readFileSync(join(repo, 'testdata', 'digits.split'), 'utf8').trimEnd().split('\n');
  const text = [csv[0] + ',split', ...csv.slice(1).map((line, i) => `${line},${split[i].trim()}`)].join('\n') + '\n';
  const form = new FormData();
  form.append('operations', JSON.stringify({
    query: 'mutation($name: String!, $file: Upload!) { uploadDataset(name: $name, file: $file) { id rowCount columns { name } } }',
    variables: { name: 'digits', file: null },
  }));
  form.append('map', JSON.stringify({ 0: ['variables.file'] }));
  form.append('0', new Blob([text], { type: 'text/csv' }), 'digits.csv');
  const uploaded = await (await fetch(`${base}/query`, { method: 'POST', body: form })).json();
  if (uploaded.errors) fail(`upload: ${JSON.stringify(uploaded.errors)}`);
  const dataset = uploaded.data.uploadDataset;
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
  const ws = createClient({ url: `${base.replace('http', 'ws')}/query`, webSocketImpl: WebSocket });
  const events = [];
  await new Promise((resolve, reject) => {
    ws.subscribe({
      query: `subscription($id: ID!) { trainingProgress(modelId: $id) {
        status error progress { fraction stage iteration loss etaSeconds } } }`,
      variables: { id: trainModel.id },
    }, {
      next: ({ data, errors }) => {
        if (errors) return reject(new Error(JSON.stringify(errors)));
        const e = data.trainingProgress;
        events.push(e);
        const p = e.progress;
        log(`event: ${e.status}` + (p ? ` ${(100 * p.fraction).toFixed(0)}% ${p.stage}` +
          (p.iteration != null ? ` epoch ${p.iteration} loss ${p.loss.toFixed(4)}` : '') +
          (p.etaSeconds != null ? ` eta ${p.etaSeconds.toFixed(1)} s` : '') : ''));
      },
      error: reject,
      complete: resolve,
    });
  });
  await ws.dispose();
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
  log('client test passed');
}

main()
  .catch((err) => { console.error('client test failed:', err); process.exitCode = 1; })
  .finally(() => {
    clearTimeout(deadline);
    if (server) server.kill('SIGTERM');
    if (work) setTimeout(() => rmSync(work, { recursive: true, force: true }), 500);
  });
