// graphql-js's verdict on a request, and whether the server's answer agrees
// with it.

import { Kind, SingleFieldSubscriptionsRule, getOperationAST, parse, specifiedRules, validate } from 'graphql';
import { getVariableValues } from 'graphql/execution/values.js';

export const PARSE_FAILED = 'GRAPHQL_PARSE_FAILED';
export const VALIDATION_FAILED = 'GRAPHQL_VALIDATION_FAILED';
export const BAD_USER_INPUT = 'BAD_USER_INPUT';

/**
 * What graphql-js makes of a request: `parse` (the document does not parse),
 * `invalid` (validation errors), `coercion` (the variables do not coerce),
 * or `valid`; with the messages, and the type of the operation to run.
 */
export function verdictOf(schema, request) {
  let doc;
  try {
    doc = parse(request.query);
  } catch (err) {
    return { kind: 'parse', errors: [err.message] };
  }
  const operation = operationOf(doc, request.operationName);
  const errors = validateSafely(schema, doc);
  if (errors.length) return { kind: 'invalid', errors: errors.map((e) => e.message), doc, operation: operation?.operation };
  if (!operation) return { kind: 'no-operation', errors: ['no operation to run'], doc };
  const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], request.variables ?? {});
  if (coerced.errors) return { kind: 'coercion', errors: coerced.errors.map((e) => e.message), doc, operation: operation.operation };
  return { kind: 'valid', errors: [], doc, operation: operation.operation };
}

/**
 * graphql-js's validate. Its single-root-field rule collects a
 * subscription's fields, and throws on a directive whose argument is itself
 * invalid (`@skip(if: "yes")`); the other rules then say why.
 */
function validateSafely(schema, doc, rules = specifiedRules) {
  try {
    return validate(schema, doc, rules);
  } catch (err) {
    const others = rules.filter((r) => r !== SingleFieldSubscriptionsRule);
    if (others.length === rules.length) throw err;
    return others.length ? validate(schema, doc, others) : [];
  }
}

/** The operation a request runs (the first one when the name does not pick one, for the transport only). */
function operationOf(doc, operationName) {
  return (
    getOperationAST(doc, operationName ?? undefined) ??
    doc.definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION)
  );
}

/** Whether the rule's own graphql-js rule (or parse, or coercion) refuses the request. */
export function breaksOwnRule(schema, rule, verdict) {
  if (rule.kind === 'syntax') return verdict.kind === 'parse';
  if (rule.kind === 'variables') return verdict.kind === 'coercion';
  if (rule.kind === 'valid' || !verdict.doc) return false;
  return validateSafely(schema, verdict.doc, rule.js).length > 0;
}

const EXPECTED = { parse: PARSE_FAILED, invalid: VALIDATION_FAILED, coercion: BAD_USER_INPUT };

/** Why the server's answer disagrees with graphql-js's verdict, or null when it agrees. */
export function disagreement(verdict, answer) {
  const body = answer.body;
  const accepts = EXPECTED[verdict.kind] ? `graphql-js refuses (${verdict.kind})` : 'graphql-js accepts the document and the variables';
  if (answer.transport === 'sse' && body == null) {
    return `${accepts}; the server's event stream ended without an event (nothing ran, no error)`;
  }
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    return `${accepts}; the answer is not a GraphQL response (HTTP ${answer.status})`;
  }
  const errors = Array.isArray(body.errors) ? body.errors : [];
  const codes = errors.map((e) => e?.extensions?.code);
  const requestError = !('data' in body) && errors.length > 0;
  const expected = EXPECTED[verdict.kind];
  if (expected) {
    if (!requestError) return `${accepts}; the server answered with data (ran it)`;
    if (!codes.includes(expected)) return `${accepts}; the server's request error is not ${expected} (${codes.join(', ')})`;
    return null;
  }
  if (requestError) {
    const refusal = codes.find((c) => [PARSE_FAILED, VALIDATION_FAILED, BAD_USER_INPUT].includes(c));
    if (refusal) return `${accepts}; the server refused it with ${refusal}`;
  }
  if (codes.includes('INTERNAL')) return `${accepts}; the server answered INTERNAL`;
  return null;
}
