// A small mlgraph client for Node.js (and browsers with fetch and
// WebSocket): queries and mutations with graphql-request, subscriptions
// with graphql-ws, file uploads as GraphQL multipart requests. An API key
// (the `key` option, or the MLGRAPH_KEY environment variable) is sent as
// `Authorization: Bearer <key>` on every HTTP request and in the
// websocket's connection_init payload, where the server reads it.
import { GraphQLClient } from 'graphql-request';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const envKey = () => (typeof process !== 'undefined' ? process.env.MLGRAPH_KEY : undefined);

export function connect({ url, key = envKey() } = {}) {
  if (!url) throw new Error('connect: url is required, e.g. http://localhost:8080');
  const endpoint = `${url.replace(/\/+$/, '')}/query`;
  const headers = key ? { Authorization: `Bearer ${key}` } : {};
  const http = new GraphQLClient(endpoint, { headers });
  let ws;
  const socket = () => {
    ws ??= createClient({
      url: endpoint.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      connectionParams: headers,
      // A refused key (4403) or a bad request (4400-4499) does not get
      // better by reconnecting; a dropped connection may.
      shouldRetry: (event) => !(event?.code >= 4400 && event?.code < 4500),
    });
    return ws;
  };
  return {
    /** request sends a query or mutation and resolves to its data; GraphQL errors reject. */
    request: (query, variables) => http.request(query, variables),
    /**
     * subscribe calls onData with each event's data until the server
     * completes the subscription; it resolves then, and rejects on an error.
     */
    subscribe: (query, variables, onData) => new Promise((resolve, reject) => {
      socket().subscribe({ query, variables }, {
        next: ({ data, errors }) => (errors ? reject(new Error(JSON.stringify(errors))) : onData(data)),
        // A closed socket rejects with its close code (4403: the key was refused).
        error: (err) => reject(err instanceof Error ? err
          : Object.assign(new Error(`websocket closed: ${err?.code} ${err?.reason || ''}`), { code: err?.code })),
        complete: resolve,
      });
    }),
    /**
     * upload sends one file as the variable `fileVariable` (GraphQL
     * multipart request) and resolves to the data; errors reject.
     */
    upload: async (query, variables, fileVariable, blob, filename) => {
      const form = new FormData();
      form.append('operations', JSON.stringify({ query, variables: { ...variables, [fileVariable]: null } }));
      form.append('map', JSON.stringify({ 0: [`variables.${fileVariable}`] }));
      form.append('0', blob, filename);
      const body = await (await fetch(endpoint, { method: 'POST', body: form, headers })).json();
      if (body.errors) throw new Error(`upload: ${JSON.stringify(body.errors)}`);
      return body.data;
    },
    dispose: async () => { if (ws) await ws.dispose(); },
  };
}
