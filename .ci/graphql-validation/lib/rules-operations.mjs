// Mutations for spec sections 5.1 (documents), 5.2 (operations), 5.3
// (fields) and 5.4 (arguments). Each variant edits a valid document so it
// breaks its rule, or returns null when the document has nothing to break
// (another document is then tried).

import {
  ExecutableDefinitionsRule,
  FieldsOnCorrectTypeRule,
  KnownArgumentNamesRule,
  LoneAnonymousOperationRule,
  OverlappingFieldsCanBeMergedRule,
  ProvidedRequiredArgumentsRule,
  ScalarLeafsRule,
  SingleFieldSubscriptionsRule,
  UniqueArgumentNamesRule,
  UniqueOperationNamesRule,
  getNamedType,
  isCompositeType,
  isEnumType,
  isLeafType,
  isNonNullType,
  isObjectType,
  print,
} from 'graphql';

import * as A from './ast.mjs';

const insertAt = (m, list, item) => list.splice(m.rng.int(0, list.length), 0, item);
const responseKey = (node) => (node.alias ?? node.name).value;

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

export const fieldSelections = {
  id: '5.3.1',
  title: 'Field Selections',
  js: [FieldsOnCorrectTypeRule],
  variants: [
    {
      name: 'an unknown field',
      apply(m) {
        const set = m.pick(m.objectSets());
        if (!set) return null;
        const alias = m.rng.chance(0.3) ? A.name(m.fresh('u')) : undefined;
        insertAt(m, set.node.selections, { ...A.field('notAField'), alias });
        return `notAField on ${set.type.name}`;
      },
    },
    {
      name: "another type's field",
      apply(m) {
        const site = m.pick(m.schemaFields((f) => isObjectType(f.parentType)));
        if (!site) return null;
        const own = site.parentType.getFields();
        const elsewhere = Object.values(m.schema.getTypeMap())
          .filter((t) => isObjectType(t) && !t.name.startsWith('__'))
          .flatMap((t) => Object.keys(t.getFields()))
          .filter((n) => !own[n]);
        const name = m.rng.pick(elsewhere);
        site.node.name = A.name(name);
        return `${name} on ${site.parentType.name}`;
      },
    },
    {
      name: "an implementation's field on the interface",
      apply(m) {
        const set = m.pick(m.interfaceSets());
        if (!set) return null;
        const own = set.type.getFields();
        const impl = m.rng.pick(m.schema.getPossibleTypes(set.type));
        const extra = Object.values(impl.getFields()).filter((f) => !own[f.name] && isLeafType(getNamedType(f.type)));
        if (!extra.length) return null;
        const f = m.rng.pick(extra);
        insertAt(m, set.node.selections, A.field(f.name));
        return `${f.name} on ${set.type.name}`;
      },
    },
    {
      name: 'a misspelled field',
      apply(m) {
        const site = m.pick(m.schemaFields());
        if (!site) return null;
        const name = site.node.name.value;
        site.node.name = A.name(m.rng.chance(0.5) ? `${name}s` : name.toUpperCase());
        if (site.parentType.getFields()[site.node.name.value]) return null;
        return `${name} -> ${site.node.name.value}`;
      },
    },
  ],
  fixed: [{ name: 'a field on a root that lacks it', query: '{ viewer { user { id } } createWorkroom { id } }' }],
};

export const fieldSelectionMerging = {
  id: '5.3.2',
  title: 'Field Selection Merging',
  js: [OverlappingFieldsCanBeMergedRule],
  variants: [
    {
      name: 'one response key for two fields',
      apply(m) {
        const site = m.pick(m.schemaFields((f) => isObjectType(f.parentType) && Array.isArray(f.parent)));
        if (!site) return null;
        const other = m.fieldOf(site.parentType, { exclude: [site.node.name.value], alias: responseKey(site.node) });
        if (!other) return null;
        insertAt(m, site.parent, other);
        return `${responseKey(site.node)}: ${other.name.value}`;
      },
    },
    {
      name: 'one field with different arguments',
      apply(m) {
        const site = m.pick(m.schemaFields((f) => f.node.arguments.length > 0 && Array.isArray(f.parent)));
        if (!site) return null;
        const again = A.clone(site.node);
        const arg = m.rng.pick(again.arguments);
        const def = site.def.args.find((a) => a.name === arg.name.value);
        const optional = !isNonNullType(def.type);
        if (optional && m.rng.chance(0.4)) again.arguments = again.arguments.filter((a) => a !== arg);
        else {
          const before = print(arg.value);
          for (let i = 0; i < 10 && print(arg.value) === before; i++) arg.value = m.literal(def.type, def.name);
          if (print(arg.value) === before) return null;
        }
        insertAt(m, site.parent, again);
        return `${site.node.name.value}(${site.node.arguments.map(print).join(', ')}) and (${again.arguments.map(print).join(', ')})`;
      },
    },
    {
      name: 'one key, different types, on different object types',
      apply(m) {
        const set = m.pick(m.interfaceSets());
        if (!set) return null;
        const pair = conflictingPair(m, set.type);
        if (!pair) return null;
        const key = m.fresh('k');
        insertAt(m, set.node.selections, A.inlineFragment(pair[0].type.name, [m.fieldNode(pair[0].field, key)]));
        insertAt(m, set.node.selections, A.inlineFragment(pair[1].type.name, [m.fieldNode(pair[1].field, key)]));
        return `${pair[0].type.name}.${pair[0].field.name} and ${pair[1].type.name}.${pair[1].field.name} as ${key}`;
      },
    },
    {
      name: 'one key for a leaf and an object',
      apply(m) {
        const set = m.pick(m.objectSets(), (s) => hasBoth(s.type));
        if (!set) return null;
        const key = m.fresh('k');
        insertAt(m, set.node.selections, m.fieldOf(set.type, { leaf: true, alias: key }));
        insertAt(m, set.node.selections, m.fieldOf(set.type, { leaf: false, alias: key }));
        return `${key} on ${set.type.name}`;
      },
    },
    {
      name: 'a conflict through a fragment',
      apply(m) {
        const site = m.pick(m.schemaFields((f) => isObjectType(f.parentType) && Array.isArray(f.parent)));
        if (!site) return null;
        const other = m.fieldOf(site.parentType, { exclude: [site.node.name.value], alias: responseKey(site.node) });
        if (!other) return null;
        const name = m.fresh('Clash');
        m.doc.definitions.push(A.fragmentDefinition(name, site.parentType.name, [other]));
        insertAt(m, site.parent, A.spread(name));
        return `...${name} { ${responseKey(site.node)}: ${other.name.value} }`;
      },
    },
    {
      name: 'conflicting subfields of a field written twice',
      apply(m) {
        const site = m.pick(
          m.schemaFields((f) => Array.isArray(f.parent) && isObjectType(getNamedType(f.type)) && f.node.selectionSet?.selections.some((s) => s.kind === 'Field' && !s.name.value.startsWith('__'))),
        );
        if (!site) return null;
        const inner = site.node.selectionSet.selections.find((s) => s.kind === 'Field' && !s.name.value.startsWith('__'));
        const type = getNamedType(site.type);
        const other = m.fieldOf(type, { exclude: [inner.name.value], alias: responseKey(inner) });
        if (!other) return null;
        const again = A.clone(site.node);
        again.selectionSet = A.selectionSet([other]);
        again.directives = [];
        insertAt(m, site.parent, again);
        return `${responseKey(site.node)} { ${responseKey(inner)}: ${other.name.value} }`;
      },
    },
  ],
  fixed: [
    {
      name: 'different types in inline fragments on different types',
      query: 'query($id: ID!) { node(id: $id) { ... on Workroom { v: title } ... on Task { v: creditsUsed } } }',
      variables: { id: 'wrm_1' },
    },
    { name: 'one key for two fields', query: '{ plans { x: plan x: name } }' },
    { name: 'nullability differs', query: '{ node(id: "a") { ... on Workroom { t: title } ... on Source { t: title } } }' },
  ],
};

/** Two fields under one key on two implementations of `iface` that cannot merge (shape differs). */
function conflictingPair(m, iface) {
  const impls = m.rng.shuffle(m.schema.getPossibleTypes(iface));
  for (let i = 0; i < impls.length; i++) {
    for (let j = 0; j < impls.length; j++) {
      if (i === j) continue;
      const a = m.rng.pick(Object.values(impls[i].getFields()));
      const b = m.rng.pick(Object.values(impls[j].getFields()));
      if (String(a.type) !== String(b.type) && (isLeafType(getNamedType(a.type)) || isLeafType(getNamedType(b.type)) || isNonNullType(a.type) !== isNonNullType(b.type))) {
        return [
          { type: impls[i], field: a },
          { type: impls[j], field: b },
        ];
      }
    }
  }
  return null;
}

function hasBoth(type) {
  const fields = Object.values(type.getFields()).map((f) => isLeafType(getNamedType(f.type)));
  return fields.includes(true) && fields.includes(false);
}

export const leafFieldSelections = {
  id: '5.3.3',
  title: 'Leaf Field Selections',
  js: [ScalarLeafsRule],
  variants: [
    {
      name: 'a selection on a scalar or enum',
      apply(m) {
        const site = m.pick(m.schemaFields((f) => isLeafType(getNamedType(f.type))));
        if (!site) return null;
        site.node.selectionSet = A.selectionSet([A.field(m.rng.pick(['value', '__typename', 'name']))]);
        return `${site.node.name.value} (${isEnumType(getNamedType(site.type)) ? 'enum' : 'scalar'})`;
      },
    },
    {
      name: '__typename with a selection',
      apply(m) {
        const set = m.pick(m.sites.sets, (s) => isCompositeType(s.type) && s.type !== m.schema.getSubscriptionType());
        if (!set) return null;
        insertAt(m, set.node.selections, A.field('__typename', { selections: [A.field('value')] }));
        return `on ${set.type?.name}`;
      },
    },
    {
      name: 'an object without a selection',
      apply(m) {
        const site = m.pick(m.schemaFields((f) => isCompositeType(getNamedType(f.type)) && f.node.selectionSet));
        if (!site) return null;
        site.node.selectionSet = undefined;
        return site.node.name.value;
      },
    },
  ],
  fixed: [
    { name: '__typename { value }', query: '{ __typename { value } }' },
    { name: 'an object root field without a selection', query: '{ plans }' },
  ],
};

export const argumentNames = {
  id: '5.4.1',
  title: 'Argument Names',
  js: [KnownArgumentNamesRule],
  variants: [
    {
      name: 'an unknown argument',
      apply(m) {
        const site = m.pick(m.schemaFields((f) => f.def.args.length > 0));
        if (!site) return null;
        insertAt(m, site.node.arguments, A.argument('notAnArgument', m.literal(m.schema.getType('Int'))));
        return site.node.name.value;
      },
    },
    {
      name: 'an argument on a field that takes none',
      apply(m) {
        const site = m.pick(m.schemaFields((f) => f.def.args.length === 0));
        if (!site) return null;
        site.node.arguments.push(A.argument(m.rng.pick(['id', 'first', 'filter']), A.stringValue('x')));
        return site.node.name.value;
      },
    },
    {
      name: 'an unknown argument of @include/@skip',
      apply(m) {
        const d = withDirective(m);
        if (!d) return null;
        d.arguments.push(A.argument(m.rng.pick(['unless', 'when', 'If']), A.booleanValue(true)));
        return `@${d.name.value}`;
      },
    },
    {
      name: 'a misspelled argument',
      apply(m) {
        const site = m.pick(m.sites.args, (a) => a.def && !a.directive);
        if (!site) return null;
        site.node.name = A.name(`${site.node.name.value}_`);
        return site.node.name.value;
      },
    },
  ],
  fixed: [{ name: 'viewer(id:)', query: '{ viewer(id: 1) { user { id } } }' }],
};

/** An @include or @skip of the document (one is added to a field when there is none). */
export function withDirective(m) {
  const existing = m.pick(m.sites.directives, (d) => ['include', 'skip'].includes(d.node.name.value));
  if (existing) return existing.node;
  const field = m.pick(m.sites.fields);
  if (!field) return null;
  const d = A.directive(m.rng.pick(['include', 'skip']), [A.argument('if', A.booleanValue(m.rng.chance(0.5)))]);
  field.node.directives = [...(field.node.directives ?? []), d];
  return d;
}

export const argumentUniqueness = {
  id: '5.4.2',
  title: 'Argument Uniqueness',
  js: [UniqueArgumentNamesRule],
  variants: [
    {
      name: 'an argument twice, same value',
      apply(m) {
        const site = m.pick(m.sites.args, (a) => a.def && Array.isArray(a.parent));
        if (!site) return null;
        insertAt(m, site.parent, A.clone(site.node));
        return site.node.name.value;
      },
    },
    {
      name: 'an argument twice, another value',
      apply(m) {
        const site = m.pick(m.sites.args, (a) => a.def && Array.isArray(a.parent));
        if (!site) return null;
        site.parent.push(A.argument(site.node.name.value, m.literal(site.def.type, site.def.name)));
        return site.node.name.value;
      },
    },
    {
      name: 'if twice on a directive',
      apply(m) {
        const d = withDirective(m);
        if (!d) return null;
        d.arguments.push(A.argument('if', A.booleanValue(m.rng.chance(0.5))));
        return `@${d.name.value}`;
      },
    },
  ],
  fixed: [{ name: 'workroom(id:, id:)', query: '{ workroom(id: "a", id: "b") { id } }' }],
};

export const requiredArguments = {
  id: '5.4.2.1',
  title: 'Required Arguments',
  js: [ProvidedRequiredArgumentsRule],
  variants: [
    {
      name: 'a required argument left out',
      apply(m) {
        const site = m.pick(m.sites.args, (a) => a.def && !a.directive && isNonNullType(a.def.type) && a.def.defaultValue === undefined && Array.isArray(a.parent));
        if (!site) return null;
        site.parent.splice(site.key, 1);
        return site.node.name.value;
      },
    },
    {
      name: 'a directive without if',
      apply(m) {
        const d = withDirective(m);
        if (!d) return null;
        d.arguments = [];
        return `@${d.name.value}`;
      },
    },
    {
      name: 'every argument left out',
      apply(m) {
        const site = m.pick(m.schemaFields((f) => f.def.args.some((a) => isNonNullType(a.type) && a.defaultValue === undefined)));
        if (!site) return null;
        site.node.arguments = [];
        return site.node.name.value;
      },
    },
  ],
  fixed: [{ name: 'workroom without id', query: '{ workroom { id } }' }, { name: '@skip without if', query: '{ __typename @skip }' }],
};

export const operationRules = [
  executableDefinitions,
  operationNameUniqueness,
  loneAnonymousOperation,
  singleRootField,
  fieldSelections,
  fieldSelectionMerging,
  leafFieldSelections,
  argumentNames,
  argumentUniqueness,
  requiredArguments,
];
