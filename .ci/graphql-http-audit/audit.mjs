#!/usr/bin/env node
// GraphQL-over-HTTP conformance audit using graphql-http's `auditServer`.
//
// Usage:
//   npm ci --prefix .ci/graphql-http-audit
//   node .ci/graphql-http-audit/audit.mjs http://127.0.0.1:8080/graphql
//
// Prints one line per audit result, then a summary line
//   audit: N ok, N warn, N error (N notice)
// 'notice' is what graphql-http reports for failed optional (MAY) audits.
//
// Exit codes: 0 = no MUST audit failed; 1 = at least one MUST audit failed;
//             2 = usage error or fatal error (e.g. server unreachable).
import { auditServer } from 'graphql-http';

const REQUEST_TIMEOUT_MS = 15_000;

const url = process.argv[2];
if (!url) {
  console.error('usage: node audit.mjs <graphql-endpoint-url>');
  process.exit(2);
}
try {
  new URL(url);
} catch {
  console.error(`audit: invalid URL: ${url}`);
  process.exit(2);
}

// Plain global fetch (Node 20) with a per-request timeout so a hanging
// server fails the run instead of blocking it forever.
const fetchFn = (input, init = {}) =>
  fetch(input, { ...init, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });

let results;
try {
  results = await auditServer({ url, fetchFn });
} catch (err) {
  // auditServer only rejects on fatal (non-assertion) errors, e.g. network failures.
  console.error(`audit: fatal error while auditing ${url}:`);
  console.error(err && err.cause ? `${err.message} (${err.cause.message ?? err.cause})` : err);
  process.exit(2);
}

const counts = { ok: 0, warn: 0, error: 0, notice: 0 };
let mustFailed = 0;

for (const r of results) {
  counts[r.status] = (counts[r.status] ?? 0) + 1;
  let line = `${r.status.padEnd(6)} ${r.id}  ${r.name}`;
  if (r.status !== 'ok') {
    line += ` -- ${r.reason}`;
    const res = r.response;
    if (res) {
      line += ` [got HTTP ${res.status}, content-type: ${res.headers.get('content-type') ?? '(none)'}]`;
    }
  }
  console.log(line);
  if (r.status === 'error' && r.name.startsWith('MUST')) mustFailed++;
}

console.log(
  `audit: ${counts.ok} ok, ${counts.warn} warn, ${counts.error} error (${counts.notice} notice)`,
);

if (mustFailed > 0) {
  console.log(`audit: FAILED - ${mustFailed} MUST audit(s) failed`);
  process.exit(1);
}
process.exit(0);
