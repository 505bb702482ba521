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
    const fetcher = GraphiQL.createFetcher({ url: window.location.pathname });
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
