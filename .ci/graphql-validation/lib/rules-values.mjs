// Mutations for spec section 5.6 (values).

import {
  getNamedType,
  getNullableType,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  isScalarType,
  print,
  UniqueInputFieldNamesRule,
  ValuesOfCorrectTypeRule,
} from 'graphql';

import * as A from './ast.mjs';
import { insertAt, judged, replace, valueSite, withDirective } from './mutant.mjs';

/** Whether a document (probably) holds an input object literal: `name: {` (selection sets never follow a colon). */
const hasObjectLiteral = (base) => /:\s*\[?\s*\{/.test(base.query);

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

export const valueRules = [
  valuesOfCorrectType,
  inputObjectFieldNames,
  inputObjectFieldUniqueness,
  inputObjectRequiredFields,
];
