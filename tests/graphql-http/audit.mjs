// Runs the graphql-http package's audit of the GraphQL over HTTP spec against a running
// promohub. Every result must be ok: MUST, SHOULD and MAY alike.
// Usage: AUDIT_TOKEN=<write token> node audit.mjs http://127.0.0.1:PORT/graphql
import { auditServer } from 'graphql-http';

const url = process.argv[2];
const token = process.env.AUDIT_TOKEN;
if (!url || !token) {
  console.error('usage: AUDIT_TOKEN=<token> node audit.mjs <graphql url>');
  process.exit(2);
}
// The audit sends no credentials of its own; promohub needs a bearer token on every request.
const fetchFn = (input, init = {}) => {
  const headers = new Headers(init.headers || {});
  headers.set('authorization', `Bearer ${token}`);
  return fetch(input, { ...init, headers });
};
const results = await auditServer({ url, fetchFn });
let failed = 0;
for (const result of results) {
  if (result.status !== 'ok') {
    failed += 1;
    console.log(`${result.status.toUpperCase()} ${result.id} ${result.name}: ${result.reason}`);
  }
}
console.log(`graphql-http audit: ${results.length - failed} of ${results.length} checks ok`);
process.exit(failed === 0 ? 0 : 1);
