#!/usr/bin/env node
// A differential check of the server's validation against graphql-js.
//
// Usage:
//   npm ci --prefix .ci/graphql-validation
//   node .ci/graphql-validation/check.mjs http://127.0.0.1:8080/graphql
//        [--rule <id|prefix|words>[,...]] [--count <n>] [--seed <n>]
//        [--concurrency <n>] [--show <n>] [--verbose] [--list]
//
// It loads the server's schema by introspection (the server must run in
// development mode), generates valid documents over it with a seeded PRNG
// (the seed is printed; VALIDATION_SEED or --seed sets it), and for every
// rule of the GraphQL spec's section 5 (see lib/rules.mjs; --list prints
// them) breaks valid documents in several ways, one rule at a time. It also
// sends documents that do not parse, and valid documents with variables that
// do or do not coerce (6.1.2). graphql-js judges each request (parse,
// validate, getVariableValues); the server, asked anonymously, must agree:
//   - graphql-js cannot parse it: a request error (no `data`) with code
//     GRAPHQL_PARSE_FAILED;
//   - graphql-js's validate refuses it: a request error, GRAPHQL_VALIDATION_FAILED;
//   - its variables do not coerce: a request error, BAD_USER_INPUT;
//   - graphql-js accepts it all: no request error with any of those codes,
//     and no INTERNAL error.
// Documents stay well inside the server's own limits (lib/limits.mjs), which
// refuse on purpose; lib/allowed.mjs lists the other deliberate differences.
//
// Exit codes: 0 = the server agrees everywhere; 1 = a mismatch; 2 = usage
// or fatal error (e.g. the server does not answer); 3 = the check itself is
// wrong (a rule none of whose mutations graphql-js refuses, a fixed document
// that does not break its rule, a "valid" document graphql-js refuses, or
// generated documents that leave out a feature of lib/coverage.mjs).

import { randomInt } from 'node:crypto';
import { parseArgs } from 'node:util';

import { buildClientSchema, getIntrospectionQuery, parse } from 'graphql';

import { allowance } from './lib/allowed.mjs';
import { EXPECTED_FEATURES, featuresOf } from './lib/coverage.mjs';
import { Generator } from './lib/generate.mjs';
import { breaksOwnRule, disagreement, verdictOf } from './lib/judge.mjs';
import { SERVER_LIMITS, measure } from './lib/limits.mjs';
import { Mutant } from './lib/mutant.mjs';
import { Rng, hash32 } from './lib/random.mjs';
import { RULES, selectRules } from './lib/rules.mjs';
import { send } from './lib/send.mjs';

const started = Date.now();
const { values: opts, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    rule: { type: 'string' },
    count: { type: 'string', default: '90' },
    seed: { type: 'string' },
    concurrency: { type: 'string', default: '8' },
    show: { type: 'string' },
    verbose: { type: 'boolean', default: false },
    list: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});

if (opts.help) {
  console.log('usage: node check.mjs <graphql-url> [--rule <id>] [--count <n>] [--seed <n>] [--concurrency <n>] [--show <n>] [--verbose] [--list]');
  process.exit(0);
}
if (opts.list) {
  for (const r of RULES) console.log(`${r.id.padEnd(8)} ${r.title} (${r.variants.length} mutations, ${r.fixed.length} fixed documents)`);
  process.exit(0);
}

const url = positionals[0];
if (!url || !URL.canParse(url)) {
  console.error('usage: node check.mjs <graphql-url> [options] (--help)');
  process.exit(2);
}
const count = Number(opts.count);
const concurrency = Number(opts.concurrency);
const seed = Number(opts.seed ?? process.env.VALIDATION_SEED ?? randomInt(2 ** 31));
const rules = selectRules(opts.rule);
if (!rules.length || !Number.isInteger(count) || count < 1 || !Number.isInteger(seed)) {
  console.error(`check: no rule matches "${opts.rule}", or --count/--seed is not a positive integer`);
  process.exit(2);
}
console.log(`check: seed ${seed} (VALIDATION_SEED=${seed} reproduces this run), ${count} documents per rule, ${rules.length} rules`);

const schema = await loadSchema(url);
const { cases, pools, overLimits } = buildCases(schema, rules);
const built = Date.now();
const results = await runAll(cases);
console.log(`check: ${cases.length} requests made and judged in ${((built - started) / 1000).toFixed(1)}s, sent in ${((Date.now() - built) / 1000).toFixed(1)}s`);
const failed = report(results, coverageProblems(schema, [...pools.general, ...pools.variables]));
process.exit(failed);

/** Features of EXPECTED_FEATURES no valid document of the pools has. */
function coverageProblems(schema, docs) {
  const counts = new Map(EXPECTED_FEATURES.map((f) => [f, 0]));
  for (const d of docs) for (const f of featuresOf(schema, d)) counts.set(f, (counts.get(f) ?? 0) + 1);
  if (opts.verbose) {
    console.log(`\nfeatures of the ${docs.length} valid documents mutated (${overLimits} mutations over the server's limits drawn again):`);
    for (const [f, n] of counts) console.log(`  ${String(n).padStart(4)}  ${f}`);
  }
  return [...counts].filter(([, n]) => n === 0).map(([f]) => `no generated document has: ${f}`);
}

/** The server's schema, by an introspection query shallow enough for its depth limit. */
async function loadSchema(endpoint) {
  // graphql-js's own query nests types 9 deep; the schema's deepest is [X!]!.
  const query = getIntrospectionQuery({ specifiedByUrl: true, directiveIsRepeatable: true }).replace(
    /fragment TypeRef on __Type \{[\s\S]*$/,
    `fragment TypeRef on __Type { kind name ${'ofType { kind name '.repeat(5)}${'} '.repeat(5)}}`,
  );
  let body;
  try {
    const res = await fetch(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ query }),
      signal: AbortSignal.timeout(15_000),
    });
    body = await res.json();
  } catch (err) {
    console.error(`check: the server at ${endpoint} does not answer introspection: ${err.cause?.message ?? err.message}`);
    process.exit(2);
  }
  if (!body?.data) {
    console.error(`check: introspection failed (is the server in development mode?): ${JSON.stringify(body?.errors ?? body)}`);
    process.exit(2);
  }
  return buildClientSchema(body.data);
}

/** Every request of the run: each rule's fixed documents, then its mutations of valid documents. */
function buildCases(schema, selected) {
  // Valid documents to mutate: a general pool, and one rich in variables for
  // the rules about variables and their values.
  const generalGen = new Generator(schema, new Rng(hash32(`${seed}:pool`)));
  const pools = { general: Array.from({ length: Math.max(160, count) }, () => generalGen.next()) };
  const variablesGen = new Generator(schema, new Rng(hash32(`${seed}:variables`)), { variables: 0.75 });
  pools.variables = Array.from({ length: 100 }, () => variablesGen.next());
  const out = [];
  let overLimits = 0;
  for (const rule of selected) {
    const rng = new Rng(hash32(`${seed}:${rule.id}`));
    const gen = new Generator(schema, rng);
    const seen = new Set();
    const add = (c) => {
      const key = JSON.stringify([c.query, c.variables, c.operationName]);
      if (seen.has(key)) return;
      seen.add(key);
      out.push({ rule, ...c });
    };
    for (const f of rule.fixed) {
      add({ variant: `fixed: ${f.name}`, fixed: true, expectValid: Boolean(f.valid), query: f.query, variables: f.variables ?? {}, operationName: f.operationName ?? null, base: null });
    }
    if (rule.kind === 'valid') {
      const fromVariables = Math.min(pools.variables.length, Math.floor(count / 3));
      const sent = [...pools.general.slice(0, count - fromVariables), ...pools.variables.slice(0, fromVariables)];
      for (const base of sent) add({ variant: 'generated', ...base, base });
      continue;
    }
    // Documents a mutation found nothing to change in are not offered to it again.
    const pool = pools[rule.pool ?? 'general'];
    const usable = rule.variants.map((v) => pool.filter((b) => (rule.needs?.(b) ?? true) && (v.needs?.(b) ?? true)));
    for (let i = 0; i < count; i++) {
      const v = i % rule.variants.length;
      for (let attempt = 0; attempt < 40 && usable[v].length; attempt++) {
        const base = rng.pick(usable[v]);
        const m = new Mutant(schema, rng, base, gen);
        const note = rule.variants[v].apply(m);
        if (note == null) {
          usable[v] = usable[v].filter((b) => b !== base);
          continue;
        }
        const made = m.result(note);
        // Over a limit, the server refuses on purpose: such a document would prove nothing.
        if (overServerLimits(schema, made)) {
          overLimits++;
          continue;
        }
        add({ variant: rule.variants[v].name, ...made, base });
        break;
      }
    }
  }
  for (const c of out) {
    c.verdict = verdictOf(schema, c);
    c.hit = breaksOwnRule(schema, c.rule, c.verdict);
  }
  return { cases: out, pools, overLimits };
}

function overServerLimits(schema, request) {
  let doc;
  try {
    doc = parse(request.query);
  } catch {
    return false; // a syntax error: the server's token count is the only limit, far off
  }
  return !measure(schema, doc, request.query, request.variables, SERVER_LIMITS).within;
}

/** Sends every case, `concurrency` at a time, and compares each answer with graphql-js's verdict. */
async function runAll(all) {
  let next = 0;
  const worker = async () => {
    while (next < all.length) {
      const c = all[next++];
      const operation = c.verdict.operation ?? c.base?.operation ?? 'query';
      try {
        c.answer = await send(url, c, operation);
      } catch (err) {
        console.error(`check: the server did not answer: ${err.cause?.message ?? err.message}`);
        process.exit(2);
      }
      c.why = disagreement(c.verdict, c.answer);
      c.allowed = c.why ? allowance(c.rule, c, c.verdict, c.answer) : null;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return all;
}

function report(all, coverage) {
  const show = opts.show === undefined ? Infinity : Number(opts.show);
  const mismatches = all.filter((c) => c.why && !c.allowed);
  mismatches.slice(0, show).forEach(printMismatch);
  if (mismatches.length > show) console.log(`\n(${mismatches.length - show} more mismatches not shown)`);

  const problems = [...coverage];
  console.log('\nrule      title                                     sent  own-rule  mismatch  allowed');
  for (const rule of rules) {
    const mine = all.filter((c) => c.rule === rule);
    const hits = mine.filter((c) => c.hit).length;
    const bad = mine.filter((c) => c.why && !c.allowed).length;
    const allowed = mine.filter((c) => c.allowed).length;
    console.log(`${rule.id.padEnd(9)} ${rule.title.padEnd(41)} ${String(mine.length).padStart(4)}  ${String(hits).padStart(8)}  ${String(bad).padStart(8)}  ${String(allowed).padStart(7)}`);
    if (opts.verbose) printVariants(rule, mine);
    if (rule.kind === 'valid') {
      for (const c of mine.filter((x) => x.verdict.kind !== 'valid')) problems.push(`"valid" document refused by graphql-js (${c.variant}): ${c.verdict.errors[0]}\n${c.query}`);
    } else {
      if (hits === 0) problems.push(`${rule.id} ${rule.title}: graphql-js refused none of its ${mine.length} documents under this rule`);
      for (const c of mine.filter((x) => x.fixed && !x.expectValid && !x.hit)) problems.push(`${rule.id} fixed document "${c.variant}" does not break its rule: ${c.verdict.kind} ${c.verdict.errors[0] ?? ''}`);
    }
    for (const v of rule.variants) {
      if (!mine.some((c) => c.variant === v.name)) console.log(`          (mutation "${v.name}" found nothing to change in this run)`);
    }
  }
  const allowedCount = all.filter((c) => c.allowed).length;
  if (allowedCount) {
    console.log('\nallowed differences (lib/allowed.mjs):');
    for (const entry of new Set(all.filter((c) => c.allowed).map((c) => c.allowed))) {
      const n = all.filter((c) => c.allowed === entry).length;
      console.log(`  ${String(n).padStart(4)} × ${entry.reason}`);
    }
  }
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  console.log(`\ncheck: ${all.length} requests, ${mismatches.length} mismatches, ${allowedCount} allowed differences, ${seconds}s (seed ${seed})`);
  if (problems.length) {
    console.log('\ncheck: THE CHECK ITSELF IS WRONG (a generator or fixture bug):');
    for (const p of problems) console.log(`  - ${p}`);
    return 3;
  }
  if (mismatches.length) {
    const ruleArg = opts.rule ? ` --rule ${opts.rule}` : '';
    console.log(`check: FAILED. Reproduce: VALIDATION_SEED=${seed} node .ci/graphql-validation/check.mjs ${url}${ruleArg} --count ${count}`);
    return 1;
  }
  return 0;
}

function printVariants(rule, mine) {
  const names = [...new Set(mine.map((c) => c.variant))];
  for (const name of names) {
    const v = mine.filter((c) => c.variant === name);
    const hits = v.filter((c) => c.hit).length;
    const bad = v.filter((c) => c.why && !c.allowed).length;
    console.log(`            ${name.slice(0, 70).padEnd(70)} ${String(v.length).padStart(4)} ${String(hits).padStart(4)} ${String(bad).padStart(4)}`);
  }
}

function printMismatch(c) {
  const indent = (text) => text.replace(/^/gm, '    ');
  const raw = c.answer.raw.length > 1200 ? `${c.answer.raw.slice(0, 1200)}…` : c.answer.raw;
  const note = c.note ? ` (${String(c.note).replace(/\s+/g, ' ')})` : '';
  console.log(`\n✗ ${c.rule.id} ${c.rule.title}: ${c.variant}${note}`);
  console.log(`  why: ${c.why}`);
  console.log(`  operationName: ${JSON.stringify(c.operationName)}  variables: ${JSON.stringify(c.variables)}`);
  console.log(`  document:\n${indent(c.query)}`);
  console.log(`  graphql-js: ${c.verdict.kind}${c.verdict.errors.length ? `: ${c.verdict.errors.slice(0, 3).join(' | ')}` : ''}`);
  console.log(`  server (HTTP ${c.answer.status}, ${c.answer.transport}): ${raw}`);
}
