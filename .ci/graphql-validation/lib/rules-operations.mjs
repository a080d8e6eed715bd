// Mutations for spec sections 5.1 (documents) and 5.2 (operations). Each
// variant edits a valid document so it breaks its rule, or returns null when
// the document has nothing to break (another document is then tried).

import {
  ExecutableDefinitionsRule,
  LoneAnonymousOperationRule,
  print,
  SingleFieldSubscriptionsRule,
  UniqueOperationNamesRule,
} from 'graphql';

import * as A from './ast.mjs';
import { insertAt } from './mutant.mjs';

/** Names the chosen operation if it is anonymous (a single-operation document). */
function nameChosen(m) {
  const op = m.op;
  if (!op.name) {
    op.name = A.name(m.fresh('Named'));
    m.operationName = op.name.value;
  }
  return op;
}

const SDL = [
  'type Extra { a: Int }',
  'extend type Query { extra: Int }',
  'scalar Extra',
  'directive @extra on FIELD',
  'input ExtraInput { a: Int }',
  'enum ExtraEnum { A B }',
  'schema { query: Query }',
  'interface ExtraInterface { a: Int }',
  'union ExtraUnion = Workroom | Task',
  '"described" type Described { a: Int }',
  'extend schema @extra',
];

export const executableDefinitions = {
  id: '5.1.1',
  title: 'Executable Definitions',
  js: [ExecutableDefinitionsRule],
  variants: [
    {
      name: 'a type system definition among the operations',
      apply(m) {
        const sdl = m.rng.pick(SDL);
        for (const d of A.parseDefinitions(sdl)) insertAt(m, m.doc.definitions, d);
        return sdl;
      },
    },
    {
      name: 'a type extension after the operations',
      apply(m) {
        m.doc.definitions.push(...A.parseDefinitions(`extend type ${m.rng.pick(['Query', 'Workroom', 'Mutation'])} { extra: String }`));
        return 'extend type';
      },
    },
  ],
  fixed: [{ name: 'a schema definition alone with a query', query: '{ __typename } type Query { a: Int }' }],
};

export const operationNameUniqueness = {
  id: '5.2.1.1',
  title: 'Operation Name Uniqueness',
  js: [UniqueOperationNamesRule],
  variants: [
    {
      name: 'the same operation twice',
      apply(m) {
        const op = nameChosen(m);
        insertAt(m, m.doc.definitions, A.clone(op));
        return `two operations named ${op.name.value}`;
      },
    },
    {
      name: 'an operation of another type with the same name',
      apply(m) {
        const op = nameChosen(m);
        const other = m.rng.pick(['query', 'mutation', 'subscription'].filter((k) => k !== op.operation));
        const root = other === 'subscription' ? A.parseSelections('credits { balance }') : [A.field('__typename')];
        insertAt(m, m.doc.definitions, A.operation(other, op.name.value, [], root));
        return `${op.operation} and ${other} ${op.name.value}`;
      },
    },
  ],
  fixed: [{ name: 'query and mutation of one name', query: 'query Same { __typename } mutation Same { __typename }', operationName: 'Same' }],
};

export const loneAnonymousOperation = {
  id: '5.2.2.1',
  title: 'Lone Anonymous Operation',
  js: [LoneAnonymousOperationRule],
  variants: [
    {
      name: 'an anonymous operation with a named one (the named one asked for)',
      apply(m) {
        const op = m.op;
        op.name = undefined;
        const other = m.fresh('Other');
        insertAt(m, m.doc.definitions, A.operation(m.rng.pick(['query', 'mutation']), other, [], [A.field('__typename')]));
        m.operationName = other;
        return `anonymous ${op.operation} and ${other}`;
      },
    },
    {
      name: 'two anonymous operations',
      apply(m) {
        if (m.sites.operations.length > 1) return null;
        m.op.name = undefined;
        insertAt(m, m.doc.definitions, A.operation('query', undefined, [], [A.field('__typename')]));
        m.operationName = null;
        return 'two anonymous';
      },
    },
  ],
  fixed: [
    { name: 'shorthand query and a named query', query: '{ __typename } query Named { __typename }', operationName: 'Named' },
    { name: 'two shorthand queries', query: '{ __typename } { plans { plan } }' },
  ],
};

export const singleRootField = {
  id: '5.2.3.1',
  title: 'Single root field',
  js: [SingleFieldSubscriptionsRule],
  needs: (base) => base.operation === 'subscription',
  variants: [
    {
      name: 'a second root field',
      apply(m) {
        const root = subscriptionRoot(m);
        if (!root) return null;
        const f = m.fieldOf(m.schema.getSubscriptionType(), { exclude: rootFieldNames(root) });
        if (!f) return null;
        insertAt(m, root.selections, f);
        return print(f);
      },
    },
    {
      name: 'a root __typename',
      apply(m) {
        const root = subscriptionRoot(m);
        if (!root) return null;
        insertAt(m, root.selections, A.field('__typename'));
        return '__typename';
      },
    },
    {
      name: 'a second root field in an inline fragment',
      apply(m) {
        const root = subscriptionRoot(m);
        if (!root) return null;
        const f = m.fieldOf(m.schema.getSubscriptionType(), { exclude: rootFieldNames(root) });
        if (!f) return null;
        insertAt(m, root.selections, A.inlineFragment(m.rng.chance(0.5) ? 'Subscription' : undefined, [f]));
        return print(f);
      },
    },
    {
      name: 'a second root field in a fragment',
      apply(m) {
        const root = subscriptionRoot(m);
        if (!root) return null;
        const f = m.fieldOf(m.schema.getSubscriptionType(), { exclude: rootFieldNames(root) });
        if (!f) return null;
        const name = m.fresh('Second');
        m.doc.definitions.push(A.fragmentDefinition(name, 'Subscription', [f]));
        insertAt(m, root.selections, A.spread(name));
        return print(f);
      },
    },
    {
      name: 'the root field again under another alias',
      apply(m) {
        const root = subscriptionRoot(m);
        const first = root?.selections.find((s) => s.kind === 'Field');
        if (!first) return null;
        const again = A.clone(first);
        again.alias = A.name(m.fresh('again'));
        root.selections.push(again);
        return again.alias.value;
      },
    },
    {
      // The spec collects the root fields with no variables: a literal @skip(if: true) drops the field.
      name: 'a second root field skipped by a literal',
      apply(m) {
        const root = subscriptionRoot(m);
        if (!root) return null;
        const f = m.fieldOf(m.schema.getSubscriptionType(), { exclude: rootFieldNames(root) });
        if (!f) return null;
        f.directives = [A.directive('skip', [A.argument('if', A.booleanValue(true))])];
        root.selections.push(f);
        return print(f);
      },
    },
  ],
  fixed: [
    { name: 'two root fields', query: 'subscription { credits { balance } activity { id } }' },
    { name: 'only __typename', query: 'subscription { __typename }' },
  ],
};

/** The root selection set of the chosen operation when it is a subscription (with a plain root field). */
function subscriptionRoot(m) {
  const op = m.op;
  if (op?.operation !== 'subscription') return null;
  return op.selectionSet;
}

const rootFieldNames = (root) => root.selections.filter((s) => s.kind === 'Field').map((s) => s.name.value);

export const operationRules = [
  executableDefinitions,
  operationNameUniqueness,
  loneAnonymousOperation,
  singleRootField,
];
