// mlgraph's playground: GraphiQL talking to this server's /query, over
// HTTP for queries and mutations and graphql-transport-ws for
// subscriptions. Everything it needs is bundled: the page loads nothing
// from another host.
import { createRoot } from 'react-dom/client';
import { GraphiQL } from 'graphiql';
import { createGraphiQLFetcher } from '@graphiql/toolkit';
import { parse } from 'graphql';
import 'graphiql/style.css';
import './style.css';
import { placeholderKey, defaultHeaders, tabs } from './examples.js';

// The endpoint, relative to the page's origin: the server that served this
// page is the one it queries.
const url = new URL('/query', location.href);
const wsUrl = new URL(url);
wsUrl.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';

// The toolkit sends the Headers tab with each HTTP request and, for a
// subscription, as the connection_init payload, where the server reads
// Authorization too.
const toolkit = createGraphiQLFetcher({ url: url.href, subscriptionUrl: wsUrl.href });

// withoutPlaceholder drops an Authorization header still holding the hint's
// placeholder: a server without keys then works as it is, and one with keys
// answers "needs an API key" rather than "invalid key".
function withoutPlaceholder(headers) {
  if (!headers) return headers;
  const kept = {};
  for (const [name, value] of Object.entries(headers)) {
    if (name.toLowerCase() === 'authorization' && String(value).includes(placeholderKey)) continue;
    kept[name] = value;
  }
  return kept;
}

// current makes the operation name and document those of the query sent.
// GraphiQL passes the ones it parsed last, 100 ms after an edit or a tab
// switch: run sooner, and it names the previous operation ("operation X
// not found"), or sends a new subscription over HTTP.
function current(params, opts) {
  let documentAST;
  try {
    documentAST = parse(params.query);
  } catch {
    return [params, opts]; // the server answers with the syntax error
  }
  const names = documentAST.definitions.filter((d) => d.kind === 'OperationDefinition').map((d) => d.name?.value);
  let { operationName } = params;
  if (names.length === 1 && names[0] !== (operationName ?? undefined)) operationName = names[0];
  return [{ ...params, operationName }, { ...opts, documentAST }];
}

const fetcher = (params, opts) => {
  const [p, o] = current(params, opts);
  return toolkit(p, { ...o, headers: withoutPlaceholder(o?.headers) });
};

function Playground() {
  return (
    <GraphiQL
      fetcher={fetcher}
      defaultTabs={tabs}
      defaultHeaders={defaultHeaders}
      defaultEditorToolsVisibility="headers"
      shouldPersistHeaders={false}
    >
      <GraphiQL.Logo>
        <span className="mlgraph-logo">mlgraph</span>
        <span className="mlgraph-endpoint" title={`subscriptions: ${wsUrl.href}`}>
          {url.pathname} on {url.host}
        </span>
      </GraphiQL.Logo>
    </GraphiQL>
  );
}

createRoot(document.getElementById('graphiql')).render(<Playground />);
