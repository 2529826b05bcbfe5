// The playground's first tabs: operations a person can run at once on a
// new, empty server, in the order of a first session. Comment lines stay
// short enough for the query editor at half a laptop screen.

// placeholderKey stands for the key in the Headers tab's hint; a header
// still holding it is not sent.
export const placeholderKey = '<your key>';
export const defaultHeaders = JSON.stringify({ Authorization: `Bearer ${placeholderKey}` }, null, 2);

const intro = `# mlgraph playground. Queries and mutations go
# to POST /query on this server, subscriptions
# to the same path over websocket.
#
# Run: Ctrl-Enter or the run button. The other
# tabs are a first session: create a dataset,
# train a model, follow its training live.
#
# API keys: a new server needs none until its
# first key exists. Then put yours in Headers
# below, in place of ${placeholderKey} (a header
# that still holds it is not sent).
`;

export const tabs = [
  {
    query: `${intro}
query Datasets {
  datasets(first: 10) {
    totalCount
    edges { node { id name rowCount createdAt } }
  }
  viewer { authenticated authMode scopes }
}
`,
  },
  {
    query: `# A dataset from CSV text: the header row
# names the columns; their types are inferred.
mutation CreateDataset {
  createDataset(input: {
    name: "houses"
    csv: "rooms,area,city,price\\n3,70,Lyon,210\\n4,95,Paris,450\\n2,45,Lyon,150\\n5,120,Paris,610\\n3,80,Nantes,220\\n4,,Lyon,260\\n2,50,Paris,280\\n3,75,Nantes,205\\n"
  }) {
    id rowCount
    columns { name type missing }
  }
}
`,
  },
  {
    query: `# Queue a training on the dataset whose id
# is in Variables. It answers at once, the
# model QUEUED; the next tab follows it.
mutation Train($datasetId: ID!) {
  trainModel(input: {
    datasetId: $datasetId, target: "price", algorithm: LINEAR_REGRESSION
    split: {method: NONE}
  }) {
    id status
  }
}
`,
    variables: JSON.stringify({ datasetId: '1' }, null, 2),
  },
  {
    query: `# Follow a training over websocket: its state
# at once, then every change until it is READY,
# FAILED or CANCELLED. The model id is in
# Variables.
subscription Progress($modelId: ID!) {
  trainingProgress(modelId: $modelId) {
    status error
    progress { fraction stage }
    model { name metrics { r2 rmse } }
  }
}
`,
    variables: JSON.stringify({ modelId: '1' }, null, 2),
  },
].map((tab) => ({ headers: defaultHeaders, ...tab }));
