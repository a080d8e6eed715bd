// What the valid documents exercise: the check fails (as a generator bug)
// when a run's documents leave one of these out.

import { Kind, isInterfaceType, parse, visit } from 'graphql';

/** The features of one document, by name. */
export function featuresOf(schema, request) {
  const doc = parse(request.query);
  const f = new Set();
  const fragmentTypes = new Map();
  const ops = doc.definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION);
  if (ops.length > 1) f.add('several operations');
  let inFragment = false;
  visit(doc, {
    OperationDefinition(node) {
      f.add(`${node.operation}`);
      for (const v of node.variableDefinitions ?? []) {
        f.add(v.defaultValue ? 'variable with a default' : 'variable without a default');
        if (v.type.kind === Kind.LIST_TYPE || v.type.type?.kind === Kind.LIST_TYPE) f.add('list variable');
      }
    },
    FragmentDefinition: {
      enter(node) {
        inFragment = true;
        f.add('named fragment');
        fragmentTypes.set(node.name.value, node.typeCondition.name.value);
        if (isInterfaceType(schema.getType(node.typeCondition.name.value))) f.add('fragment on the interface');
      },
      leave() {
        inFragment = false;
      },
    },
    FragmentSpread() {
      if (inFragment) f.add('fragment spread in a fragment');
    },
    InlineFragment(node) {
      f.add(node.typeCondition ? 'inline fragment' : 'inline fragment without a type');
      if (node.typeCondition && isInterfaceType(schema.getType(node.typeCondition.name.value))) f.add('inline fragment on the interface');
    },
    Field(node) {
      if (node.alias) f.add('alias');
      if (node.name.value.startsWith('__') && node.name.value !== '__typename') f.add('introspection field');
    },
    Directive(node) {
      const ifArg = node.arguments?.find((a) => a.name.value === 'if');
      f.add(`@${node.name.value} with a ${ifArg?.value.kind === Kind.VARIABLE ? 'variable' : 'literal'}`);
    },
    ListValue() {
      f.add('list literal');
    },
    ObjectValue() {
      f.add('input object literal');
    },
    EnumValue() {
      f.add('enum literal');
    },
    NullValue() {
      f.add('null literal');
    },
    Argument(node) {
      if (node.value.kind === Kind.VARIABLE) f.add('variable argument');
    },
    ObjectField(node) {
      if (node.value.kind === Kind.VARIABLE) f.add('variable in an input object');
    },
  });
  for (const op of ops) {
    const seen = new Map();
    visit(op, {
      SelectionSet(set) {
        seen.clear();
        for (const s of set.selections) {
          if (s.kind !== Kind.FIELD) continue;
          const key = (s.alias ?? s.name).value;
          if (seen.has(key)) f.add('a field written twice (merged)');
          seen.set(key, s);
        }
      },
    });
  }
  return f;
}

export const EXPECTED_FEATURES = [
  'query',
  'mutation',
  'subscription',
  'several operations',
  'variable with a default',
  'variable without a default',
  'list variable',
  'named fragment',
  'fragment on the interface',
  'fragment spread in a fragment',
  'inline fragment',
  'inline fragment without a type',
  'inline fragment on the interface',
  'alias',
  'introspection field',
  '@include with a literal',
  '@include with a variable',
  '@skip with a literal',
  '@skip with a variable',
  'list literal',
  'input object literal',
  'enum literal',
  'null literal',
  'variable argument',
  'variable in an input object',
  'a field written twice (merged)',
];
