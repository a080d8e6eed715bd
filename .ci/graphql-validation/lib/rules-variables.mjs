// Mutations for spec section 5.8 (variables).

import {
  getNamedType,
  getNullableType,
  GraphQLList,
  GraphQLNonNull,
  isListType,
  isNonNullType,
  NoUndefinedVariablesRule,
  NoUnusedVariablesRule,
  print,
  UniqueVariableNamesRule,
  VariablesAreInputTypesRule,
  VariablesInAllowedPositionRule,
} from 'graphql';

import * as A from './ast.mjs';
import { directivesHost, insertAt, replace, valueSite } from './mutant.mjs';

const hasVariables = (base) => base.query.includes('$');

export const variableUniqueness = {
  id: '5.8.1',
  title: 'Variable Uniqueness',
  pool: 'variables',
  needs: hasVariables,
  js: [UniqueVariableNamesRule],
  variants: [
    {
      name: 'a variable defined twice',
      apply(m) {
        const def = m.pick(m.varDefs());
        if (!def) return null;
        insertAt(m, m.op.variableDefinitions, A.clone(def.node));
        return `$${def.node.variable.name.value}`;
      },
    },
    {
      name: 'one name, two types',
      apply(m) {
        const def = m.pick(m.varDefs());
        if (!def) return null;
        const again = A.clone(def.node);
        again.type = A.typeNode(m.rng.pick(['String', 'Int!', '[ID]']));
        again.defaultValue = undefined;
        m.op.variableDefinitions.push(again);
        return `$${def.node.variable.name.value}: ${print(again.type)}`;
      },
    },
  ],
  fixed: [{ name: '$a twice', query: 'query($a: Boolean!, $a: Boolean!) { __typename @include(if: $a) }', variables: { a: true } }],
};

const OUTPUT_TYPES = ['Workroom', 'Node', '[User]', 'Viewer!', 'PageInfo', '[Task!]!'];

export const variablesAreInputTypes = {
  id: '5.8.2',
  title: 'Variables Are Input Types',
  js: [VariablesAreInputTypesRule],
  variants: [
    {
      name: "a variable's type made an output type",
      apply(m) {
        const def = m.pick(m.varDefs());
        if (!def) return null;
        def.node.type = A.typeNode(m.rng.pick(OUTPUT_TYPES));
        def.node.defaultValue = undefined;
        return print(def.node.type);
      },
    },
    {
      name: 'a variable of an output type, used in @skip',
      apply(m) {
        const host = directivesHost(m);
        if (!host) return null;
        const name = m.fresh('out');
        m.op.variableDefinitions = [...(m.op.variableDefinitions ?? []), A.variableDefinition(name, m.rng.pick(OUTPUT_TYPES))];
        host.directives = [...(host.directives ?? []), A.directive('skip', [A.argument('if', A.variable(name))])];
        return `$${name}`;
      },
    },
  ],
  fixed: [{ name: '$w: Workroom', query: 'query($w: Workroom) { __typename @skip(if: $w) }' }],
};

export const variableUsesDefined = {
  id: '5.8.3',
  title: 'All Variable Uses Defined',
  js: [NoUndefinedVariablesRule],
  variants: [
    {
      name: 'a used variable not defined',
      apply(m) {
        const use = m.pick(m.sites.varUses, (u) => m.operationOf(u) === m.op);
        if (!use) return null;
        const name = use.node.name.value;
        m.op.variableDefinitions = m.op.variableDefinitions.filter((d) => d.variable.name.value !== name);
        return `$${name}`;
      },
    },
    {
      name: 'an undefined variable for an argument',
      apply(m) {
        const site = valueSite(m, (v) => !v.inDefault && m.operationOf(v) === m.op);
        if (!site) return null;
        replace(site, A.variable(m.fresh('undefined')));
        return `for ${site.type}`;
      },
    },
    {
      name: 'an undefined variable in @include',
      apply(m) {
        const host = directivesHost(m);
        if (!host) return null;
        host.directives = [...(host.directives ?? []), A.directive('include', [A.argument('if', A.variable(m.fresh('show')))])];
        return '@include';
      },
    },
    {
      name: 'a second operation spreading the fragments without defining their variables',
      apply(m) {
        if (!m.varDefs().length || m.op.operation === 'subscription') return null;
        const copy = A.clone(m.op);
        copy.name = A.name(m.fresh('Copy'));
        copy.variableDefinitions = [];
        nameChosenIfAnonymous(m);
        m.doc.definitions.push(copy);
        return copy.name.value;
      },
    },
  ],
  fixed: [{ name: '$id not defined', query: '{ workroom(id: $id) { id } }', variables: { id: 'w' } }],
};

function nameChosenIfAnonymous(m) {
  const op = m.op;
  if (!op.name) {
    op.name = A.name(m.fresh('Named'));
    m.operationName = op.name.value;
  }
}

export const variablesUsed = {
  id: '5.8.4',
  title: 'All Variables Used',
  js: [NoUnusedVariablesRule],
  variants: [
    {
      name: 'an unused variable',
      apply(m) {
        const name = m.fresh('unused');
        const type = m.rng.pick(['Int', 'String!', '[ID!]', 'Role', 'SourceInput']);
        m.op.variableDefinitions = [...(m.op.variableDefinitions ?? []), A.variableDefinition(name, type)];
        return `$${name}: ${type}`;
      },
    },
    {
      name: "a variable's only use replaced by a literal",
      apply(m) {
        const counts = new Map();
        for (const u of m.sites.varUses) counts.set(u.node.name.value, (counts.get(u.node.name.value) ?? 0) + 1);
        const use = m.pick(m.sites.varUses, (u) => counts.get(u.node.name.value) === 1 && m.operationOf(u) === m.op && u.type);
        if (!use) return null;
        replace(use, m.literal(use.type, use.parent?.name?.value ?? ''));
        return `$${use.node.name.value}`;
      },
    },
  ],
  fixed: [{ name: '$n unused', query: 'query($n: Int) { __typename }' }],
};

export const variableUsagesAllowed = {
  id: '5.8.5',
  title: 'All Variable Usages Are Allowed',
  pool: 'variables',
  needs: hasVariables,
  js: [VariablesInAllowedPositionRule],
  variants: [
    {
      name: 'a nullable variable where a non-null value is expected',
      apply(m) {
        const use = m.pick(m.sites.varUses, (u) => u.type && isNonNullType(u.type) && m.operationOf(u) === m.op);
        const def = use && m.varDefs((d) => d.node.variable.name.value === use.node.name.value)[0];
        if (!def) return null;
        if (isNonNullType(def.type)) def.node.type = A.typeNode(def.type.ofType);
        def.node.defaultValue = undefined;
        return `$${use.node.name.value}: ${print(def.node.type)} for ${use.type}`;
      },
    },
    {
      name: 'a variable of another type',
      apply(m) {
        const use = m.pick(m.sites.varUses, (u) => u.type && m.operationOf(u) === m.op);
        const def = use && m.varDefs((d) => d.node.variable.name.value === use.node.name.value)[0];
        if (!def) return null;
        const named = getNamedType(def.type).name;
        const other = m.rng.pick(['Int', 'String', 'Boolean', 'ID', 'Role', 'SourceInput'].filter((n) => n !== named));
        def.node.type = A.typeNode(String(def.type).replace(named, other));
        def.node.defaultValue = undefined;
        return `${named} -> ${other}`;
      },
    },
    {
      name: 'a list variable for a single value, or the reverse',
      apply(m) {
        const use = m.pick(m.sites.varUses, (u) => u.type && m.operationOf(u) === m.op);
        const def = use && m.varDefs((d) => d.node.variable.name.value === use.node.name.value)[0];
        if (!def) return null;
        const t = getNullableType(def.type);
        const changed = isListType(t) ? getNullableType(t.ofType) : new GraphQLList(t);
        def.node.type = A.typeNode(isNonNullType(def.type) ? new GraphQLNonNull(changed) : changed);
        def.node.defaultValue = undefined;
        return `${def.type} -> ${print(def.node.type)}`;
      },
    },
    {
      name: 'a list of nullable items where items are non-null',
      apply(m) {
        const use = m.pick(m.sites.varUses, (u) => u.type && isListType(getNullableType(u.type)) && isNonNullType(getNullableType(u.type).ofType) && m.operationOf(u) === m.op);
        const def = use && m.varDefs((d) => d.node.variable.name.value === use.node.name.value)[0];
        if (!def) return null;
        def.node.type = A.typeNode(String(def.type).replace(/!\]/, ']'));
        def.node.defaultValue = undefined;
        return print(def.node.type);
      },
    },
  ],
  fixed: [
    { name: 'nullable $id for id: ID!', query: 'query($id: ID) { workroom(id: $id) { id } }', variables: { id: 'w' } },
    { name: 'nullable $b in @include', query: 'query($b: Boolean) { __typename @include(if: $b) }', variables: { b: true } },
  ],
};

export const variableRules = [
  variableUniqueness,
  variablesAreInputTypes,
  variableUsesDefined,
  variablesUsed,
  variableUsagesAllowed,
];
