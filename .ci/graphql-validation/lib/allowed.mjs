// Deliberate differences between the server and graphql-js. A mismatch that
// an entry matches is listed as allowed instead of failing the check. Keep
// this short; every entry says why the server is right to differ.
//
// An entry: { rule: '<rule id>', reason: '<why>', test(request, verdict, answer) => boolean }
// where `request` is { query, variables, operationName }, `verdict` is
// graphql-js's ({ kind: 'parse' | 'invalid' | 'coercion' | 'valid', errors })
// and `answer` the server's ({ status, body }).
//
// Not listed because the generator never makes them: documents over the
// server's own limits (ATELYA_MAX_DEPTH, _ALIASES, _DIRECTIVES, _COMPLEXITY,
// _TOKENS: refused with GRAPHQL_VALIDATION_FAILED whatever graphql-js says),
// strings holding U+0000 (refused with BAD_USER_INPUT), and values of custom
// scalars (DateTime), which graphql-js's client schema accepts whatever they are.

import { Kind } from 'graphql';

import { VALIDATION_FAILED } from './judge.mjs';

export const ALLOWED = [
  {
    rule: '*',
    reason:
      'A subscription with @skip or @include on a root selection is refused: graphql-js 16 follows the ' +
      'October 2021 text (the root fields are collected with no variables, so a literal @skip(if: true) ' +
      'drops a second root field), but the spec has since forbidden these directives there ' +
      '(graphql-spec#860, graphql-js 17), and a client cannot tell what such a stream would carry.',
    test: (request, verdict, answer) =>
      verdict.kind === 'valid' &&
      verdict.operation === 'subscription' &&
      rootDirective(verdict.doc, request.operationName) &&
      refusedAsInvalid(answer),
  },
];

function refusedAsInvalid(answer) {
  const body = answer.body;
  return Boolean(body) && !('data' in body) && body.errors?.some((e) => e?.extensions?.code === VALIDATION_FAILED);
}

/** Whether the operation's root selection (through fragments) holds an @skip or @include. */
function rootDirective(doc, operationName) {
  const op = doc.definitions.find(
    (d) => d.kind === Kind.OPERATION_DEFINITION && (d.name?.value ?? null) === (operationName ?? null),
  );
  const fragments = new Map(
    doc.definitions.filter((d) => d.kind === Kind.FRAGMENT_DEFINITION).map((d) => [d.name.value, d]),
  );
  const seen = new Set();
  const walk = (set) =>
    set.selections.some((s) => {
      if (s.directives?.some((d) => ['skip', 'include'].includes(d.name.value))) return true;
      if (s.kind === Kind.INLINE_FRAGMENT) return walk(s.selectionSet);
      if (s.kind === Kind.FRAGMENT_SPREAD && fragments.has(s.name.value) && !seen.has(s.name.value)) {
        seen.add(s.name.value);
        return walk(fragments.get(s.name.value).selectionSet);
      }
      return false;
    });
  return Boolean(op) && walk(op.selectionSet);
}

export function allowance(rule, request, verdict, answer) {
  return ALLOWED.find((a) => (a.rule === rule.id || a.rule === '*') && a.test(request, verdict, answer)) ?? null;
}
