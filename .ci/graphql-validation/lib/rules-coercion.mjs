// Mutations of a valid document's variables (spec 6.1.2, Coercing Variable
// Values). graphql-js's `getVariableValues` judges them: those it refuses
// must be a request error (no `data`, BAD_USER_INPUT); those it coerces (a
// single value for a list, an enum's name as a string, an integer ID, extra
// variables, null for a nullable variable) must run.

import {
  getNamedType,
  getNullableType,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  isScalarType,
} from 'graphql';

import { judged } from './mutant.mjs';

/** Variable definitions of the chosen operation whose type passes `filter` (never a custom scalar). */
function pickDef(m, filter) {
  return m.pick(m.varDefs((d) => judged(d.type) && filter(d.type, d)));
}

const nameOf = (d) => d.node.variable.name.value;
const nullable = (t) => getNullableType(t);
const leafOf = (t) => {
  const n = nullable(t);
  return isListType(n) ? null : n;
};

/** An input object JSON value of `def` (a valid one is made when the variable has none). */
function objectValue(m, def) {
  const t = nullable(def.type);
  const type = isListType(t) ? nullable(t.ofType) : t;
  let value = m.variables[nameOf(def)];
  if (isListType(t)) {
    if (!Array.isArray(value) || !value.length || !value[0]) value = [m.gen.json(t.ofType, '', { neverNull: true })];
    m.variables[nameOf(def)] = value;
    return { type, object: value[0] };
  }
  if (!value || typeof value !== 'object') value = m.gen.json(type, '', { neverNull: true });
  m.variables[nameOf(def)] = value;
  return { type, object: value };
}

/** The object, or one nested in it, as [type, object] pairs. */
function nestedObjects(type, object, out = []) {
  out.push([type, object]);
  for (const [k, v] of Object.entries(object)) {
    const f = type.getFields()[k];
    const ft = f && nullable(f.type);
    if (ft && isInputObjectType(ft) && v && typeof v === 'object' && !Array.isArray(v)) nestedObjects(ft, v, out);
  }
  return out;
}

const WRONG = {
  Int: ['5x', '1', true, {}, [1, 2]],
  String: [5, true, { a: 1 }, ['a', 'b']],
  Boolean: ['true', 1, 0, 'false', [true, false]],
  ID: [true, 1.5, { id: 1 }],
};

export const coercion = {
  id: '6.1.2',
  title: 'Coercing Variable Values',
  kind: 'variables',
  pool: 'variables',
  needs: (base) => Object.keys(base.variables).length > 0 || base.query.includes('$'),
  variants: [
    {
      name: 'a required variable missing',
      apply(m) {
        const d = pickDef(m, (t, def) => isNonNullType(t) && !def.node.defaultValue);
        if (!d) return null;
        delete m.variables[nameOf(d)];
        return `$${nameOf(d)}`;
      },
    },
    {
      name: 'null for a non-null variable',
      apply(m) {
        const d = pickDef(m, (t) => isNonNullType(t));
        if (!d) return null;
        m.variables[nameOf(d)] = null;
        return `$${nameOf(d)}: ${d.type}`;
      },
    },
    {
      name: 'a value of the wrong type',
      apply(m) {
        const d = pickDef(m, (t) => isScalarType(leafOf(t) ?? {}) && WRONG[leafOf(t).name]);
        if (!d) return null;
        m.variables[nameOf(d)] = m.rng.pick(WRONG[leafOf(d.type).name]);
        return `${JSON.stringify(m.variables[nameOf(d)])} for ${d.type}`;
      },
    },
    {
      name: 'an Int out of 32-bit range',
      apply(m) {
        const d = pickDef(m, (t) => leafOf(t)?.name === 'Int');
        if (!d) return null;
        m.variables[nameOf(d)] = m.rng.pick([2147483648, -2147483649, 1e12]);
        return String(m.variables[nameOf(d)]);
      },
    },
    {
      name: 'a float for an Int',
      apply(m) {
        const d = pickDef(m, (t) => getNamedType(t).name === 'Int');
        if (!d) return null;
        const bad = m.rng.pick([1.5, 2.000001, -0.5]);
        m.variables[nameOf(d)] = isListType(nullable(d.type)) && m.rng.chance(0.5) ? [1, bad] : bad;
        return JSON.stringify(m.variables[nameOf(d)]);
      },
    },
    {
      name: 'an unknown input field',
      apply(m) {
        const d = pickDef(m, (t) => isInputObjectType(getNamedType(t)));
        if (!d) return null;
        const { type, object } = objectValue(m, d);
        const [, target] = m.rng.pick(nestedObjects(type, object));
        target[m.rng.pick(['notAField', 'Title', 'extra'])] = 'x';
        return `$${nameOf(d)}`;
      },
    },
    {
      name: 'a required input field missing',
      apply(m) {
        const d = pickDef(m, (t) => isInputObjectType(getNamedType(t)));
        if (!d) return null;
        const { type, object } = objectValue(m, d);
        const choices = nestedObjects(type, object).filter(([t, o]) => Object.keys(o).some((k) => isNonNullType(t.getFields()[k]?.type)));
        if (!choices.length) return null;
        const [t, o] = m.rng.pick(choices);
        const key = m.rng.pick(Object.keys(o).filter((k) => isNonNullType(t.getFields()[k]?.type)));
        if (m.rng.chance(0.3)) o[key] = null;
        else delete o[key];
        return `${t.name}.${key}`;
      },
    },
    {
      name: "an enum value's name as a string",
      apply(m) {
        const d = pickDef(m, (t) => isEnumType(leafOf(t) ?? {}));
        if (!d) return null;
        m.variables[nameOf(d)] = m.rng.pick(leafOf(d.type).getValues()).name;
        return `${m.variables[nameOf(d)]}`;
      },
    },
    {
      name: 'a string that is not in the enum',
      apply(m) {
        const d = pickDef(m, (t) => isEnumType(getNamedType(t)));
        if (!d) return null;
        const name = m.rng.pick(getNamedType(d.type).getValues()).name;
        const bad = m.rng.pick([name.toLowerCase(), `${name} `, 'NOT_A_VALUE', 3]);
        m.variables[nameOf(d)] = isListType(nullable(d.type)) ? [bad] : bad;
        return JSON.stringify(bad);
      },
    },
    {
      name: 'one value for a list',
      apply(m) {
        const d = pickDef(m, (t) => isListType(nullable(t)));
        if (!d) return null;
        m.variables[nameOf(d)] = m.gen.json(nullable(d.type).ofType, '', { neverNull: true });
        return JSON.stringify(m.variables[nameOf(d)]);
      },
    },
    {
      name: 'a nested list for a list',
      apply(m) {
        const d = pickDef(m, (t) => isListType(nullable(t)));
        if (!d) return null;
        m.variables[nameOf(d)] = [[m.gen.json(nullable(d.type).ofType, '', { neverNull: true })]];
        return JSON.stringify(m.variables[nameOf(d)]);
      },
    },
    {
      name: 'a null item in a list of non-null items',
      apply(m) {
        const d = pickDef(m, (t) => isListType(nullable(t)) && isNonNullType(nullable(t).ofType));
        if (!d) return null;
        m.variables[nameOf(d)] = [m.gen.json(nullable(d.type).ofType, ''), null];
        return `$${nameOf(d)}`;
      },
    },
    {
      name: 'a scalar for an input object',
      apply(m) {
        const d = pickDef(m, (t) => isInputObjectType(leafOf(t) ?? {}));
        if (!d) return null;
        m.variables[nameOf(d)] = m.rng.pick(['x', 1, true, '{}']);
        return JSON.stringify(m.variables[nameOf(d)]);
      },
    },
    {
      name: 'an integer ID',
      apply(m) {
        const d = pickDef(m, (t) => getNamedType(t).name === 'ID');
        if (!d) return null;
        m.variables[nameOf(d)] = isListType(nullable(d.type)) ? [42, 'id_1'] : 42;
        return `$${nameOf(d)}`;
      },
    },
    {
      name: 'null for a nullable variable, or one left out',
      apply(m) {
        const d = pickDef(m, (t) => !isNonNullType(t));
        if (!d) return null;
        if (m.rng.chance(0.5)) m.variables[nameOf(d)] = null;
        else delete m.variables[nameOf(d)];
        return `$${nameOf(d)}`;
      },
    },
    {
      name: 'variables the document does not define',
      apply(m) {
        m.variables[m.fresh('extra')] = m.rng.pick([1, 'x', null, { a: [1] }]);
        return 'extra';
      },
    },
  ],
  fixed: [
    { name: 'required $id missing', query: 'query($id: ID!) { workroom(id: $id) { id } }', variables: {} },
    { name: 'required $id null', query: 'query($id: ID!) { workroom(id: $id) { id } }', variables: { id: null } },
    { name: 'Int out of range', query: 'query($n: Int) { workspace { members(first: $n) { nodes { id } } } }', variables: { n: 2147483648 } },
    { name: 'float for Int', query: 'query($n: Int) { workspace { members(first: $n) { nodes { id } } } }', variables: { n: 1.5 } },
    { name: 'string for Int', query: 'query($n: Int) { workspace { members(first: $n) { nodes { id } } } }', variables: { n: '1' } },
    { name: 'one enum for a list', query: 'query($s: [WorkroomState!]) { workspace { workrooms(filter: {states: $s}, first: 1) { nodes { id } } } }', variables: { s: 'PLANNING' }, valid: true },
    { name: 'nested list', query: 'query($s: [WorkroomState!]) { workspace { workrooms(filter: {states: $s}, first: 1) { nodes { id } } } }', variables: { s: [['PLANNING']] } },
    { name: 'lower-case enum', query: 'query($g: UsageGroupBy!) { workspace { creditUsage(groupBy: $g) { key } } }', variables: { g: 'member' } },
    { name: 'enum as a string', query: 'query($g: UsageGroupBy!) { workspace { creditUsage(groupBy: $g) { key } } }', variables: { g: 'MEMBER' }, valid: true },
    { name: 'SourceInput without content', query: 'mutation($i: SourceInput!) { addSource(workroomId: "w", input: $i) { id } }', variables: { i: { kind: 'BRIEF' } } },
    { name: 'SourceInput with an unknown field', query: 'mutation($i: SourceInput!) { addSource(workroomId: "w", input: $i) { id } }', variables: { i: { kind: 'BRIEF', content: 'c', bogus: 1 } } },
  ],
};
