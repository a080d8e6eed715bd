// Every rule the check covers: the spec's section 5 (Validation), one for
// documents that do not parse (section 2), one for variable coercion (6.1.2),
// and the valid documents themselves, with the graphql-js rules that
// implement each section-5 rule.

import { coercion } from './rules-coercion.mjs';
import { directiveRules } from './rules-directives.mjs';
import { fieldRules } from './rules-fields.mjs';
import { fragmentRules } from './rules-fragments.mjs';
import { operationRules } from './rules-operations.mjs';
import { syntax } from './rules-syntax.mjs';
import { valueRules } from './rules-values.mjs';
import { variableRules } from './rules-variables.mjs';

/** Valid documents, sent as generated: none may be refused. */
export const valid = {
  id: 'valid',
  title: 'Valid documents (none refused)',
  kind: 'valid',
  variants: [],
  fixed: [
    { name: 'a variable used only in a directive', query: 'query($show: Boolean!) { __typename @include(if: $show) }', variables: { show: true } },
    { name: 'a nullable variable with a default where a non-null value is expected', query: 'query($id: ID = "w") { workroom(id: $id) { id } }' },
    { name: 'one enum literal for a list', query: '{ workspace { workrooms(filter: {states: PLANNING}, first: 1) { nodes { id } } } }' },
    { name: 'one response key written twice', query: '{ a: __typename a: __typename plans { plan } plans { name } }' },
    { name: 'fragments nested and on the interface', query: 'query($id: ID!) { node(id: $id) { ...N } } fragment N on Node { id ... on Workroom { ...W } } fragment W on Workroom { title }', variables: { id: 'x' } },
    { name: 'operation and fragment named with keywords', query: 'query query { ...fragment } fragment fragment on Query { __typename }' },
    { name: 'a subscription through a fragment', query: 'subscription S { ...Root } fragment Root on Subscription { credits { balance } }', operationName: 'S' },
    { name: 'two operations, one asked for', query: 'query A { __typename } mutation B { leaveWorkspace }', operationName: 'A' },
    { name: '@skip and @include together', query: '{ __typename @skip(if: false) @include(if: true) }' },
    { name: 'an operation and a fragment of one name', query: 'query Same { ...Same } fragment Same on Query { __typename }', operationName: 'Same' },
    { name: 'a variable named on', query: 'query($on: Boolean!) { plans @include(if: $on) { plan } }', variables: { on: false } },
    { name: 'a non-null variable with a default, left out', query: 'query($n: Int! = 2) { workspace { members(first: $n) { nodes { id } } } }' },
  ],
};

export const RULES = [
  syntax,
  ...operationRules,
  ...fieldRules,
  ...fragmentRules,
  ...valueRules,
  ...directiveRules,
  ...variableRules,
  coercion,
  valid,
];

/** Rules matching `filter`: per comma-separated word, an id, else an id prefix ("5.6"), else words of a title. */
export function selectRules(filter) {
  if (!filter) return RULES;
  const chosen = new Set();
  for (const w of filter.split(',').map((f) => f.trim().toLowerCase())) {
    const exact = RULES.filter((r) => r.id === w);
    const prefix = RULES.filter((r) => r.id.startsWith(`${w}.`));
    const titled = RULES.filter((r) => r.title.toLowerCase().includes(w));
    for (const r of exact.length ? exact : prefix.length ? prefix : titled) chosen.add(r);
  }
  return RULES.filter((r) => chosen.has(r));
}
