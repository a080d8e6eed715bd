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

export const ALLOWED = [];

export function allowance(rule, request, verdict, answer) {
  return ALLOWED.find((a) => (a.rule === rule.id || a.rule === '*') && a.test(request, verdict, answer)) ?? null;
}
