//! The GraphiQL page served at `GET /graphql`.

/// GraphiQL. Its scripts and stylesheet load from jsDelivr at exact versions, each with a
/// Subresource Integrity hash: a browser refuses to run a file whose bytes differ. The hashes
/// are sha384 of the files as published on npm (jsDelivr's `/npm/` serves those bytes); to
/// check or renew them: `npm pack graphiql@3.8.3 react@18.3.1 react-dom@18.3.1`, unpack, and
/// `openssl dgst -sha384 -binary FILE | openssl base64 -A` per file.
///
/// Headers (the token) are kept in memory only: `shouldPersistHeaders` is false, and GraphiQL's
/// settings dialog offers "Persist headers" for a user who opts in to localStorage.
/// Enter your token in the headers pane as `{"Authorization": "Bearer <token>"}`.
///
/// Subscriptions run from the page too: its inline fetcher speaks graphql-transport-ws to this
/// URL itself (no further script: the pinned GraphiQL bundle carries no graphql-ws client).
pub const GRAPHIQL: &str = r#"<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="referrer" content="no-referrer">
  <title>PromoHub GraphiQL</title>
  <link rel="stylesheet" href="https://cdn.jsdelivr.net/npm/graphiql@3.8.3/graphiql.min.css"
        integrity="sha384-Mq3vbRBY71jfjQAt/DcjxUIYY33ksal4cgdRt9U/hNPvHBCaT2JfJ/PTRiPKf0aM" crossorigin="anonymous">
</head>
<body style="margin:0">
  <div id="graphiql" style="height:100vh">Loading GraphiQL (from cdn.jsdelivr.net, pinned by integrity hashes)...</div>
  <script src="https://cdn.jsdelivr.net/npm/react@18.3.1/umd/react.production.min.js"
          integrity="sha384-DGyLxAyjq0f9SPpVevD6IgztCFlnMF6oW/XQGmfe+IsZ8TqEiDrcHkMLKI6fiB/Z" crossorigin="anonymous"></script>
  <script src="https://cdn.jsdelivr.net/npm/react-dom@18.3.1/umd/react-dom.production.min.js"
          integrity="sha384-gTGxhz21lVGYNMcdJOyq01Edg0jhn/c22nsx0kyqP0TxaV5WVdsSH1fSDUf5YJj1" crossorigin="anonymous"></script>
  <script src="https://cdn.jsdelivr.net/npm/graphiql@3.8.3/graphiql.min.js"
          integrity="sha384-HbRVEFG0JGJZeAHCJ9Xm2+tpknBQ7QZmNlO/DgZtkZ0aJSypT96YYGRNod99l9Ie" crossorigin="anonymous"></script>
  <script>
    const httpFetcher = GraphiQL.createFetcher({ url: window.location.pathname });
    // Subscriptions: graphql-transport-ws over a WebSocket to this same URL, written here
    // (the pinned bundle has no graphql-ws client); the token of the headers pane goes in
    // connection_init. GraphiQL shows each event as it arrives.
    const wsUrl = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + location.pathname;
    function isSubscription(params, opts) {
      const doc = opts && opts.documentAST;
      if (doc) {
        return doc.definitions.some((d) => d.kind === 'OperationDefinition' && d.operation === 'subscription'
          && (!params.operationName || (d.name && d.name.value === params.operationName)));
      }
      return /^\s*subscription\b/.test(params.query);
    }
    function subscribe(params, headers) {
      const queue = [];
      let wake = null;
      const push = (item) => { queue.push(item); if (wake) { wake(); wake = null; } };
      const ws = new WebSocket(wsUrl, 'graphql-transport-ws');
      ws.onopen = () => ws.send(JSON.stringify({ type: 'connection_init',
        payload: { Authorization: headers.Authorization || headers.authorization || '' } }));
      ws.onmessage = (e) => {
        const m = JSON.parse(e.data);
        if (m.type === 'connection_ack') ws.send(JSON.stringify({ id: '1', type: 'subscribe', payload: params }));
        else if (m.type === 'next') push({ value: m.payload });
        else if (m.type === 'error') { push({ value: { errors: m.payload } }); push(null); }
        else if (m.type === 'complete') push(null);
        else if (m.type === 'ping') ws.send(JSON.stringify({ type: 'pong' }));
      };
      ws.onclose = (e) => {
        if (e.code !== 1000) push({ value: { errors: [{ message: 'WebSocket closed: ' + e.code + ' ' + e.reason }] } });
        push(null);
      };
      return {
        [Symbol.asyncIterator]() { return this; },
        async next() {
          while (queue.length === 0) await new Promise((resolve) => { wake = resolve; });
          const item = queue[0];
          if (item === null) return { done: true, value: undefined };
          queue.shift();
          return { done: false, value: item.value };
        },
        async return() { ws.close(1000); return { done: true, value: undefined }; },
      };
    }
    const fetcher = (params, opts) => isSubscription(params, opts)
      ? subscribe(params, (opts && opts.headers) || {})
      : httpFetcher(params, opts);
    ReactDOM.createRoot(document.getElementById('graphiql')).render(
      React.createElement(GraphiQL, {
        fetcher,
        defaultHeaders: '{\n  "Authorization": "Bearer <your token>"\n}',
        // The token stays in this tab's memory unless the user turns on "Persist headers".
        shouldPersistHeaders: false,
        showPersistHeadersSettings: true,
        defaultQuery: '{\n  promoCodes(first: 10) {\n    totalCount\n    nodes { code status discount { type percentOff amountOff currency } providers { provider state } }\n  }\n}\n',
      }),
    );
  </script>
</body>
</html>
"#;
