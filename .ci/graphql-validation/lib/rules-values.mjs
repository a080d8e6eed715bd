// Mutations for spec sections 5.6 (values), 5.7 (directives) and 5.8
// (variables).

import {
  GraphQLList,
  GraphQLNonNull,
  KnownDirectivesRule,
  NoUndefinedVariablesRule,
  NoUnusedVariablesRule,
  UniqueDirectivesPerLocationRule,
  UniqueInputFieldNamesRule,
  UniqueVariableNamesRule,
  ValuesOfCorrectTypeRule,
  VariablesAreInputTypesRule,
  VariablesInAllowedPositionRule,
  getNamedType,
  getNullableType,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  isScalarType,
  print,
} from 'graphql';

import * as A from './ast.mjs';
import { withDirective } from './rules-operations.mjs';

const insertAt = (m, list, item) => list.splice(m.rng.int(0, list.length), 0, item);
/** Whether a document (probably) holds an input object literal: `name: {` (selection sets never follow a colon). */
const hasObjectLiteral = (base) => /:\s*\[?\s*\{/.test(base.query);
const hasVariables = (base) => base.query.includes('$');
const BUILT_IN = ['Int', 'Float', 'String', 'Boolean', 'ID'];
/** Custom scalars (DateTime) take any literal in graphql-js's client schema: nothing to judge there. */
const judged = (type) => type && !(isScalarType(getNamedType(type)) && !BUILT_IN.includes(getNamedType(type).name));

/** A value site (a literal, or a variable when `vars`) whose expected type passes `filter`. */
const valueSite = (m, filter, { vars = true } = {}) =>
  m.pick(m.sites.values, (v) => v.type && judged(v.type) && (vars || v.node.kind !== 'Variable') && filter(v));

const replace = (site, node) => {
  site.parent[site.key] = node;
};

/** A literal of the wrong kind for a (nullable-stripped, non-list) built-in scalar or enum. */
function wrongLeaf(m, type) {
  const t = getNullableType(type);
  const options = {
    Int: ['"5"', '1.5', 'true', 'FIVE', '[1, 2]'],
    String: ['5', 'true', 'RED', '1.5'],
    Boolean: ['"true"', '1', 'TRUE', 'null_'],
    ID: ['1.5', 'true', 'ID'],
  }[t.name] ?? ['"VALUE"', '1', 'true'];
  return A.value(m.rng.pick(options));
}

export const valuesOfCorrectType = {
  id: '5.6.1',
  title: 'Values of Correct Type',
  js: [ValuesOfCorrectTypeRule],
  variants: [
    {
      name: 'a string for an enum',
      apply(m) {
        const site = valueSite(m, (v) => isEnumType(getNullableType(v.type)));
        if (!site) return null;
        const name = m.rng.pick(getNullableType(site.type).getValues()).name;
        replace(site, A.stringValue(name));
        return `"${name}"`;
      },
    },
    {
      name: 'a value not in the enum',
      apply(m) {
        const site = valueSite(m, (v) => isEnumType(getNullableType(v.type)));
        if (!site) return null;
        const name = m.rng.pick(getNullableType(site.type).getValues()).name;
        const bad = m.rng.pick([name.toLowerCase(), `${name}_`, 'NOT_A_VALUE']);
        replace(site, A.enumValue(bad));
        return bad;
      },
    },
    {
      name: 'a scalar of the wrong kind',
      apply(m) {
        const site = valueSite(m, (v) => isScalarType(getNullableType(v.type)));
        if (!site) return null;
        const bad = wrongLeaf(m, site.type);
        replace(site, bad);
        return `${print(bad)} for ${site.type}`;
      },
    },
    {
      name: 'an Int out of 32-bit range',
      apply(m) {
        const site = valueSite(m, (v) => getNullableType(v.type).name === 'Int');
        if (!site) return null;
        const bad = m.rng.pick(['2147483648', '-2147483649', '99999999999999999999']);
        replace(site, A.intValue(bad));
        return bad;
      },
    },
    {
      name: 'null for a non-null argument or list item',
      apply(m) {
        const site = valueSite(m, (v) => isNonNullType(v.type) && v.parent?.kind !== 'ObjectField');
        if (!site) return null;
        replace(site, A.nullValue());
        return `null for ${site.type}`;
      },
    },
    {
      name: 'a scalar or list for an input object',
      apply(m) {
        const site = valueSite(m, (v) => isInputObjectType(getNullableType(v.type)));
        if (!site) return null;
        const bad = A.value(m.rng.pick(['true', '"{}"', '1', 'INPUT', '[{}]']));
        replace(site, bad);
        return `${print(bad)} for ${site.type}`;
      },
    },
    {
      name: 'an object or list for a scalar',
      apply(m) {
        const site = valueSite(m, (v) => isScalarType(getNullableType(v.type)) || isEnumType(getNullableType(v.type)));
        if (!site) return null;
        const bad = m.rng.chance(0.5) ? A.value('{ value: 1 }') : A.listValue([m.literal(getNullableType(site.type))]);
        replace(site, bad);
        return `${print(bad)} for ${site.type}`;
      },
    },
    {
      name: 'a wrong default value of a variable',
      apply(m) {
        const def = m.pick(m.sites.varDefs, (v) => judged(v.type) && (isScalarType(getNamedType(v.type)) || isEnumType(getNamedType(v.type))) && !isListType(getNullableType(v.type)));
        if (!def) return null;
        def.node.defaultValue = isEnumType(getNamedType(def.type)) ? A.stringValue('VALUE') : wrongLeaf(m, getNamedType(def.type));
        return `$${def.node.variable.name.value}: ${print(def.node.type)} = ${print(def.node.defaultValue)}`;
      },
    },
    {
      name: 'a wrong value of if',
      apply(m) {
        const d = withDirective(m);
        if (!d) return null;
        const bad = A.value(m.rng.pick(['"true"', '1', 'null', 'TRUE', '[true]']));
        d.arguments = [A.argument('if', bad)];
        return `@${d.name.value}(if: ${print(bad)})`;
      },
    },
  ],
  fixed: [
    { name: 'groupBy: "MEMBER"', query: '{ workspace { creditUsage(groupBy: "MEMBER") { key } } }' },
    { name: 'input: true', query: 'mutation { updateExportProfile(input: true) { font } }' },
    { name: 'first: 1.5', query: '{ workspace { members(first: 1.5) { nodes { id } } } }' },
    { name: 'id: null', query: '{ workroom(id: null) { id } }' },
  ],
};

export const inputObjectFieldNames = {
  id: '5.6.2',
  title: 'Input Object Field Names',
  needs: hasObjectLiteral,
  js: [ValuesOfCorrectTypeRule],
  variants: [
    {
      name: 'an unknown field',
      apply(m) {
        const site = m.pick(m.inputObjectValues());
        if (!site) return null;
        insertAt(m, site.node.fields, A.objectField('notAField', A.intValue(1)));
        return `in ${getNamedType(site.type)}`;
      },
    },
    {
      name: 'a misspelled field',
      apply(m) {
        const site = m.pick(m.inputObjectValues((o) => o.node.fields.length > 0));
        if (!site) return null;
        const f = m.rng.pick(site.node.fields);
        f.name = A.name(m.rng.chance(0.5) ? `${f.name.value}s` : f.name.value.toUpperCase());
        return f.name.value;
      },
    },
    {
      name: "another input type's field",
      apply(m) {
        const site = m.pick(m.inputObjectValues());
        if (!site) return null;
        const own = getNamedType(site.type).getFields();
        const names = Object.values(m.schema.getTypeMap())
          .filter((t) => isInputObjectType(t))
          .flatMap((t) => Object.keys(t.getFields()))
          .filter((n) => !own[n]);
        const name = m.rng.pick(names);
        site.node.fields.push(A.objectField(name, A.stringValue('x')));
        return `${name} in ${getNamedType(site.type)}`;
      },
    },
  ],
  fixed: [{ name: 'bogus in ExportProfileInput', query: 'mutation { updateExportProfile(input: {bogus: "a"}) { font } }' }],
};

export const inputObjectFieldUniqueness = {
  id: '5.6.3',
  title: 'Input Object Field Uniqueness',
  needs: hasObjectLiteral,
  js: [UniqueInputFieldNamesRule],
  variants: [
    {
      name: 'a field twice, same value',
      apply(m) {
        const site = m.pick(m.inputObjectValues((o) => o.node.fields.length > 0));
        if (!site) return null;
        const f = m.rng.pick(site.node.fields);
        insertAt(m, site.node.fields, A.clone(f));
        return f.name.value;
      },
    },
    {
      name: 'a field twice, another value',
      apply(m) {
        const site = m.pick(m.inputObjectValues((o) => o.node.fields.length > 0));
        if (!site) return null;
        const f = m.rng.pick(site.node.fields);
        const def = getNamedType(site.type).getFields()[f.name.value];
        site.node.fields.push(A.objectField(f.name.value, m.literal(def.type, def.name)));
        return f.name.value;
      },
    },
  ],
  fixed: [{ name: 'font twice', query: 'mutation { updateExportProfile(input: {font: "a", font: "b"}) { font } }' }],
};

export const inputObjectRequiredFields = {
  id: '5.6.4',
  title: 'Input Object Required Fields',
  needs: hasObjectLiteral,
  js: [ValuesOfCorrectTypeRule],
  variants: [
    {
      name: 'a required field left out',
      apply(m) {
        const site = m.pick(m.inputObjectValues((o) => o.node.fields.some((f) => required(o, f.name.value))));
        if (!site) return null;
        const f = m.rng.pick(site.node.fields.filter((x) => required(site, x.name.value)));
        site.node.fields = site.node.fields.filter((x) => x !== f);
        return f.name.value;
      },
    },
    {
      name: 'a required field null',
      apply(m) {
        const site = m.pick(m.inputObjectValues((o) => o.node.fields.some((f) => required(o, f.name.value))));
        if (!site) return null;
        const f = m.rng.pick(site.node.fields.filter((x) => required(site, x.name.value)));
        f.value = A.nullValue();
        return `${f.name.value}: null`;
      },
    },
    {
      name: 'an empty object',
      apply(m) {
        const site = m.pick(m.inputObjectValues((o) => Object.keys(getNamedType(o.type).getFields()).some((n) => required(o, n))));
        if (!site) return null;
        site.node.fields = [];
        return `{} for ${getNamedType(site.type)}`;
      },
    },
  ],
  fixed: [{ name: 'SourceInput without content', query: 'mutation { addSource(workroomId: "w", input: {kind: BRIEF}) { id } }' }],
};

function required(site, fieldName) {
  const def = getNamedType(site.type).getFields()[fieldName];
  return def && isNonNullType(def.type) && def.defaultValue === undefined;
}

/** A node a directive may be put on: a field, a spread or an inline fragment. */
const directivesHost = (m) =>
  m.pick([...m.sites.fields, ...m.sites.spreads, ...m.sites.inlines].map((s) => s.node));

export const directivesAreDefined = {
  id: '5.7.1',
  title: 'Directives Are Defined',
  js: [KnownDirectivesRule],
  variants: [
    {
      name: 'an unknown directive',
      apply(m) {
        const host = directivesHost(m);
        if (!host) return null;
        const d = A.directive(m.rng.pick(['client', 'live', 'defer', 'stream', 'cached']));
        host.directives = [...(host.directives ?? []), d];
        return `@${d.name.value}`;
      },
    },
    {
      name: 'a misspelled @include',
      apply(m) {
        const host = directivesHost(m);
        if (!host) return null;
        host.directives = [...(host.directives ?? []), A.directive(m.rng.pick(['Include', 'inclde', 'skipp']), [A.argument('if', A.booleanValue(true))])];
        return 'misspelled';
      },
    },
    {
      name: 'an unknown directive on the operation',
      apply(m) {
        m.op.directives = [...(m.op.directives ?? []), A.directive('live')];
        return '@live';
      },
    },
  ],
  fixed: [{ name: '__typename @client', query: '{ __typename @client }' }],
};

export const directivesInValidLocations = {
  id: '5.7.2',
  title: 'Directives Are In Valid Locations',
  js: [KnownDirectivesRule],
  variants: [
    {
      name: '@include on the operation',
      apply(m) {
        m.op.directives = [A.directive(m.rng.pick(['include', 'skip']), [A.argument('if', A.booleanValue(false))])];
        return m.op.operation;
      },
    },
    {
      name: 'a directive on a variable definition',
      apply(m) {
        const def = m.pick(m.sites.varDefs);
        if (!def) return null;
        def.node.directives = [A.directive(m.rng.pick(['include', 'skip']), [A.argument('if', A.booleanValue(true))])];
        return `$${def.node.variable.name.value}`;
      },
    },
    {
      name: '@skip on a fragment definition',
      apply(m) {
        const f = m.ensureFragment();
        if (!f) return null;
        f.node.directives = [A.directive('skip', [A.argument('if', A.booleanValue(false))])];
        return f.node.name.value;
      },
    },
    {
      name: 'a schema directive on a field',
      apply(m) {
        const host = m.pick(m.sites.fields);
        if (!host) return null;
        const d = m.rng.chance(0.5)
          ? A.directive('specifiedBy', [A.argument('url', A.stringValue('https://example.com'))])
          : A.directive('deprecated', [A.argument('reason', A.stringValue('old'))]);
        if (!m.schema.getDirective(d.name.value)) return null;
        host.node.directives = [...(host.node.directives ?? []), d];
        return `@${d.name.value}`;
      },
    },
  ],
  fixed: [
    { name: 'directive on a variable definition', query: 'query($a: Boolean @include(if: true)) { __typename @skip(if: $a) }', variables: { a: false } },
    { name: '@include on a query', query: 'query @include(if: true) { __typename }' },
  ],
};

export const directivesAreUnique = {
  id: '5.7.3',
  title: 'Directives Are Unique Per Location',
  js: [UniqueDirectivesPerLocationRule],
  variants: [
    {
      name: 'an existing directive repeated',
      apply(m) {
        const d = m.pick([...m.sites.fields, ...m.sites.spreads, ...m.sites.inlines], (s) => s.node.directives?.length > 0);
        if (!d) return null;
        const again = A.clone(m.rng.pick(d.node.directives));
        d.node.directives.push(again);
        return `@${again.name.value}`;
      },
    },
    {
      name: 'the same directive twice',
      apply(m) {
        const host = directivesHost(m);
        if (!host) return null;
        const name = m.rng.pick(['include', 'skip']);
        const one = () => A.directive(name, [A.argument('if', A.booleanValue(m.rng.chance(0.5)))]);
        host.directives = [one(), one()];
        return `@${name} @${name} on ${host.kind}`;
      },
    },
  ],
  fixed: [{ name: '@include twice', query: '{ __typename @include(if: true) @include(if: true) }' }],
};

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

export const valueRules = [
  valuesOfCorrectType,
  inputObjectFieldNames,
  inputObjectFieldUniqueness,
  inputObjectRequiredFields,
  directivesAreDefined,
  directivesInValidLocations,
  directivesAreUnique,
  variableUniqueness,
  variablesAreInputTypes,
  variableUsesDefined,
  variablesUsed,
  variableUsagesAllowed,
];
