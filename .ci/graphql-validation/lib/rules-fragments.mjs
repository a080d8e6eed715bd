// Mutations for spec section 5.5 (fragments).

import {
  FragmentsOnCompositeTypesRule,
  KnownFragmentNamesRule,
  KnownTypeNamesRule,
  NoFragmentCyclesRule,
  NoUnusedFragmentsRule,
  PossibleFragmentSpreadsRule,
  UniqueFragmentNamesRule,
  doTypesOverlap,
  isInterfaceType,
  isObjectType,
} from 'graphql';

import * as A from './ast.mjs';
import { insertAt } from './mutant.mjs';

/** Selection sets a fragment may be added to (not a subscription's root, which would break 5.2.3.1 instead). */
const openSets = (m, filter = () => true) =>
  m.sites.sets.filter((s) => s.type && s.type !== m.schema.getSubscriptionType() && filter(s));

export const fragmentNameUniqueness = {
  id: '5.5.1.1',
  title: 'Fragment Name Uniqueness',
  js: [UniqueFragmentNamesRule],
  variants: [
    {
      name: 'a fragment defined twice',
      apply(m) {
        const f = m.ensureFragment();
        if (!f) return null;
        insertAt(m, m.doc.definitions, A.clone(f.node));
        return f.node.name.value;
      },
    },
    {
      name: 'two different fragments of one name',
      apply(m) {
        const f = m.ensureFragment();
        if (!f) return null;
        m.doc.definitions.push(A.fragmentDefinition(f.node.name.value, f.type.name, [A.field('__typename')]));
        return f.node.name.value;
      },
    },
  ],
  fixed: [{ name: 'F twice', query: '{ ...F } fragment F on Query { __typename } fragment F on Query { plans { plan } }' }],
};

export const fragmentSpreadTypeExistence = {
  id: '5.5.1.2',
  title: 'Fragment Spread Type Existence',
  js: [KnownTypeNamesRule],
  variants: [
    {
      name: 'an inline fragment on an unknown type',
      apply(m) {
        const set = m.pick(openSets(m));
        if (!set) return null;
        insertAt(m, set.node.selections, A.inlineFragment(m.rng.pick(['Nope', 'workroom', 'Workrooms']), [A.field('__typename')]));
        return `in ${set.type.name}`;
      },
    },
    {
      name: 'a named fragment on an unknown type',
      apply(m) {
        const f = m.ensureFragment();
        if (!f) return null;
        f.node.typeCondition = A.namedType(`${f.type.name}s`);
        return `${f.node.name.value} on ${f.type.name}s`;
      },
    },
  ],
  fixed: [{ name: 'on Nope', query: '{ ... on Nope { __typename } }' }],
};

export const fragmentsOnCompositeTypes = {
  id: '5.5.1.3',
  title: 'Fragments On Composite Types',
  js: [FragmentsOnCompositeTypesRule],
  variants: [
    {
      name: 'an inline fragment on a scalar, enum or input type',
      apply(m) {
        const set = m.pick(openSets(m));
        if (!set) return null;
        const on = m.rng.pick(['String', 'Int', 'Role', 'SourceInput', 'DateTime']);
        insertAt(m, set.node.selections, A.inlineFragment(on, [A.field('__typename')]));
        return `... on ${on}`;
      },
    },
    {
      name: 'a named fragment on an enum',
      apply(m) {
        const set = m.pick(openSets(m));
        if (!set) return null;
        const name = m.fresh('OnLeaf');
        const on = m.rng.pick(['Role', 'WorkroomState', 'Boolean']);
        m.doc.definitions.push(A.fragmentDefinition(name, on, [A.field('__typename')]));
        insertAt(m, set.node.selections, A.spread(name));
        return `fragment on ${on}`;
      },
    },
    {
      name: 'an existing fragment moved onto a scalar',
      apply(m) {
        const f = m.ensureFragment();
        if (!f) return null;
        f.node.typeCondition = A.namedType('ID');
        return f.node.name.value;
      },
    },
  ],
  fixed: [{ name: 'on String', query: '{ ... on String { __typename } }' }],
};

export const fragmentsMustBeUsed = {
  id: '5.5.1.4',
  title: 'Fragments Must Be Used',
  js: [NoUnusedFragmentsRule],
  variants: [
    {
      name: 'an unused fragment',
      apply(m) {
        const types = Object.values(m.schema.getTypeMap()).filter((t) => (isObjectType(t) || isInterfaceType(t)) && !t.name.startsWith('__'));
        const on = m.rng.pick(types);
        m.doc.definitions.push(A.fragmentDefinition(m.fresh('Unused'), on.name, [A.field('__typename')]));
        return on.name;
      },
    },
    {
      name: 'the spreads of a fragment removed',
      apply(m) {
        const f = m.ensureFragment();
        if (!f) return null;
        const name = f.node.name.value;
        for (const s of m.spreadsOf(name).reverse()) {
          s.parent.splice(s.key, 1, A.field('__typename'));
        }
        return name;
      },
    },
    {
      name: 'two fragments spread only by each other',
      apply(m) {
        const a = m.fresh('Lonely');
        const b = `${a}Too`;
        m.doc.definitions.push(A.fragmentDefinition(a, 'Query', [A.spread(b)]), A.fragmentDefinition(b, 'Query', [A.field('__typename')]));
        return `${a}, ${b}`;
      },
    },
  ],
  fixed: [{ name: 'unused F', query: '{ __typename } fragment F on Query { __typename }' }],
};

export const fragmentSpreadTargetDefined = {
  id: '5.5.2.1',
  title: 'Fragment spread target defined',
  js: [KnownFragmentNamesRule],
  variants: [
    {
      name: 'a spread of an undefined fragment',
      apply(m) {
        const set = m.pick(openSets(m));
        if (!set) return null;
        insertAt(m, set.node.selections, A.spread(m.fresh('Missing')));
        return `in ${set.type.name}`;
      },
    },
    {
      name: 'a fragment definition removed',
      apply(m) {
        const f = m.ensureFragment();
        if (!f) return null;
        m.doc.definitions = m.doc.definitions.filter((d) => d !== f.node);
        return f.node.name.value;
      },
    },
    {
      name: 'a spread misspelled',
      apply(m) {
        const f = m.ensureFragment();
        const s = f && m.pick(m.spreadsOf(f.node.name.value));
        if (!s) return null;
        s.node.name = A.name(`${s.node.name.value}_`);
        return s.node.name.value;
      },
    },
  ],
  fixed: [{ name: '...Missing', query: '{ ...Missing }' }],
};

export const fragmentCycles = {
  id: '5.5.2.2',
  title: 'Fragment spreads must not form cycles',
  js: [NoFragmentCyclesRule],
  variants: [
    {
      name: 'a fragment spreading itself',
      apply(m) {
        const f = m.ensureFragment();
        if (!f) return null;
        insertAt(m, f.node.selectionSet.selections, A.spread(f.node.name.value));
        return f.node.name.value;
      },
    },
    {
      name: 'two fragments spreading each other',
      apply(m) {
        const f = m.ensureFragment();
        if (!f) return null;
        const other = m.fresh('Back');
        m.doc.definitions.push(A.fragmentDefinition(other, f.type.name, [A.spread(f.node.name.value)]));
        insertAt(m, f.node.selectionSet.selections, A.spread(other));
        return `${f.node.name.value} <-> ${other}`;
      },
    },
    {
      name: 'a cycle through an inline fragment and three fragments',
      apply(m) {
        const f = m.ensureFragment();
        if (!f) return null;
        const b = m.fresh('Round');
        const c = `${b}Again`;
        m.doc.definitions.push(
          A.fragmentDefinition(b, f.type.name, [A.inlineFragment(undefined, [A.spread(c)])]),
          A.fragmentDefinition(c, f.type.name, [A.spread(f.node.name.value)]),
        );
        insertAt(m, f.node.selectionSet.selections, A.inlineFragment(f.type.name, [A.spread(b)]));
        return `${f.node.name.value} -> ${b} -> ${c}`;
      },
    },
  ],
  fixed: [
    { name: 'A spreads A', query: '{ ...A } fragment A on Query { ...A }' },
    { name: 'A, B, A through a field', query: '{ viewer { ...A } } fragment A on Viewer { user { id } ...B } fragment B on Viewer { ... on Viewer { ...A } }' },
  ],
};

export const fragmentSpreadIsPossible = {
  id: '5.5.2.3',
  title: 'Fragment spread is possible',
  js: [PossibleFragmentSpreadsRule],
  variants: [
    {
      name: 'an inline fragment on an unrelated object type',
      apply(m) {
        const set = m.pick(openSets(m, (s) => isObjectType(s.type)));
        if (!set) return null;
        const other = unrelated(m, set.type);
        insertAt(m, set.node.selections, A.inlineFragment(other.name, [A.field('__typename')]));
        return `${other.name} in ${set.type.name}`;
      },
    },
    {
      name: 'a named fragment on an unrelated type',
      apply(m) {
        const set = m.pick(openSets(m));
        if (!set) return null;
        const other = unrelated(m, set.type);
        const name = m.fresh('Elsewhere');
        m.doc.definitions.push(A.fragmentDefinition(name, other.name, [A.field('__typename')]));
        insertAt(m, set.node.selections, A.spread(name));
        return `${other.name} in ${set.type.name}`;
      },
    },
    {
      name: 'the interface spread in an object that does not implement it',
      apply(m) {
        const node = m.schema.getType('Node');
        const set = m.pick(openSets(m, (s) => isObjectType(s.type) && !s.type.getInterfaces().includes(node)));
        if (!set) return null;
        insertAt(m, set.node.selections, A.inlineFragment('Node', [A.field('id')]));
        return `Node in ${set.type.name}`;
      },
    },
    {
      name: 'an object that does not implement the interface, spread in it',
      apply(m) {
        const set = m.pick(openSets(m, (s) => isInterfaceType(s.type)));
        if (!set) return null;
        const other = unrelated(m, set.type);
        insertAt(m, set.node.selections, A.inlineFragment(other.name, [A.field('__typename')]));
        return `${other.name} in ${set.type.name}`;
      },
    },
  ],
  fixed: [{ name: 'Task in Workroom', query: '{ workroom(id: "w") { ... on Task { id } } }' }],
};

/** An object type that shares no possible type with `type`. */
function unrelated(m, type) {
  const objects = Object.values(m.schema.getTypeMap()).filter(
    (t) => isObjectType(t) && !t.name.startsWith('__') && !doTypesOverlap(m.schema, t, type),
  );
  return m.rng.pick(objects);
}

export const fragmentRules = [
  fragmentNameUniqueness,
  fragmentSpreadTypeExistence,
  fragmentsOnCompositeTypes,
  fragmentsMustBeUsed,
  fragmentSpreadTargetDefined,
  fragmentCycles,
  fragmentSpreadIsPossible,
];
