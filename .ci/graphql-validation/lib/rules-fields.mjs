// Mutations for spec sections 5.3 (fields) and 5.4 (arguments).

import {
  FieldsOnCorrectTypeRule,
  getNamedType,
  isCompositeType,
  isEnumType,
  isLeafType,
  isNonNullType,
  isObjectType,
  KnownArgumentNamesRule,
  OverlappingFieldsCanBeMergedRule,
  print,
  ProvidedRequiredArgumentsRule,
  ScalarLeafsRule,
  UniqueArgumentNamesRule,
} from 'graphql';

import * as A from './ast.mjs';
import { insertAt, withDirective } from './mutant.mjs';

const responseKey = (node) => (node.alias ?? node.name).value;

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

export const fieldRules = [
  fieldSelections,
  fieldSelectionMerging,
  leafFieldSelections,
  argumentNames,
  argumentUniqueness,
  requiredArguments,
];
