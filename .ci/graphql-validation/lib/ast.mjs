// Builders of graphql-js AST nodes (no locations), and small helpers over them.

import { Kind, parse, parseConstValue, parseType, parseValue } from 'graphql';

export const name = (value) => ({ kind: Kind.NAME, value });
export const namedType = (typeName) => ({ kind: Kind.NAMED_TYPE, name: name(typeName) });
export const variable = (varName) => ({ kind: Kind.VARIABLE, name: name(varName) });
export const selectionSet = (selections) => ({ kind: Kind.SELECTION_SET, selections });
export const argument = (argName, value) => ({ kind: Kind.ARGUMENT, name: name(argName), value });
export const directive = (dirName, args = []) => ({ kind: Kind.DIRECTIVE, name: name(dirName), arguments: args });
export const objectField = (fieldName, value) => ({ kind: Kind.OBJECT_FIELD, name: name(fieldName), value });

export function field(fieldName, { alias, args = [], directives = [], selections } = {}) {
  return {
    kind: Kind.FIELD,
    alias: alias ? name(alias) : undefined,
    name: name(fieldName),
    arguments: args,
    directives,
    selectionSet: selections ? selectionSet(selections) : undefined,
  };
}

export function inlineFragment(typeName, selections, directives = []) {
  return {
    kind: Kind.INLINE_FRAGMENT,
    typeCondition: typeName ? namedType(typeName) : undefined,
    directives,
    selectionSet: selectionSet(selections),
  };
}

export const spread = (fragmentName, directives = []) => ({
  kind: Kind.FRAGMENT_SPREAD,
  name: name(fragmentName),
  directives,
});

export function fragmentDefinition(fragmentName, typeName, selections, directives = []) {
  return {
    kind: Kind.FRAGMENT_DEFINITION,
    name: name(fragmentName),
    typeCondition: namedType(typeName),
    directives,
    selectionSet: selectionSet(selections),
  };
}

export function operation(kind, opName, variableDefinitions, selections, directives = []) {
  return {
    kind: Kind.OPERATION_DEFINITION,
    operation: kind,
    name: opName ? name(opName) : undefined,
    variableDefinitions,
    directives,
    selectionSet: selectionSet(selections),
  };
}

export function variableDefinition(varName, type, defaultValue, directives = []) {
  return {
    kind: Kind.VARIABLE_DEFINITION,
    variable: variable(varName),
    type: typeNode(type),
    defaultValue,
    directives,
  };
}

/** The AST of a graphql-js type (`[ID!]!` and so on). */
export const typeNode = (type) => parseType(String(type), { noLocation: true });

export const document = (definitions) => ({ kind: Kind.DOCUMENT, definitions });

export const intValue = (n) => ({ kind: Kind.INT, value: String(n) });
export const floatValue = (text) => ({ kind: Kind.FLOAT, value: text });
export const stringValue = (value, block = false) => ({ kind: Kind.STRING, value, block });
export const booleanValue = (value) => ({ kind: Kind.BOOLEAN, value });
export const nullValue = () => ({ kind: Kind.NULL });
export const enumValue = (value) => ({ kind: Kind.ENUM, value });
export const listValue = (values) => ({ kind: Kind.LIST, values });
export const objectValue = (fields) => ({ kind: Kind.OBJECT, fields });

/** Parsing shortcuts for mutations: selections, a value, a const value, definitions. */
export const parseSelections = (text) =>
  parse(`{${text}}`, { noLocation: true }).definitions[0].selectionSet.selections;
export const value = (text) => parseValue(text, { noLocation: true });
export const constValue = (text) => parseConstValue(text, { noLocation: true });
export const parseDefinitions = (text) => parse(text, { noLocation: true }).definitions;

export const clone = (node) => structuredClone(node);

/** Every node of `root` (depth first), with its parent object and key. */
export function* walk(root, parent = null, key = null) {
  if (!root || typeof root !== 'object') return;
  if (Array.isArray(root)) {
    for (let i = 0; i < root.length; i++) yield* walk(root[i], root, i);
    return;
  }
  if (typeof root.kind !== 'string') return;
  yield { node: root, parent, key };
  for (const [k, v] of Object.entries(root)) {
    if (k !== 'loc' && v && typeof v === 'object') yield* walk(v, root, k);
  }
}
