// One valid document taken apart for a mutation: its AST (no locations, so it
// can be edited in place and printed again), every place in it with the type
// graphql-js's TypeInfo gives that place, and helpers the mutations share.

import {
  Kind,
  TypeInfo,
  getNamedType,
  isCompositeType,
  isInputObjectType,
  isInterfaceType,
  isLeafType,
  isObjectType,
  isScalarType,
  parse,
  print,
  visit,
  visitWithTypeInfo,
} from 'graphql';

import * as A from './ast.mjs';
import { SKIPPED_ROOT_FIELDS } from './generate.mjs';

/** Every place of `doc` a mutation may touch, with its type. */
export function sitesOf(schema, doc) {
  const s = {
    fields: [],
    sets: [],
    args: [],
    values: [],
    objects: [],
    directives: [],
    spreads: [],
    inlines: [],
    fragments: [],
    operations: [],
    varDefs: [],
    varUses: [],
  };
  const info = new TypeInfo(schema);
  let owner = null; // the operation or fragment being visited
  let inDefault = false; // inside a variable's default value
  visit(
    doc,
    visitWithTypeInfo(info, {
      leave(node) {
        if (node.kind === Kind.VARIABLE_DEFINITION) inDefault = false;
      },
      enter(node, key, parent) {
        const at = { node, parent, key, owner };
        switch (node.kind) {
          case Kind.OPERATION_DEFINITION:
            owner = node;
            s.operations.push({ ...at, owner: node, type: info.getType() });
            break;
          case Kind.FRAGMENT_DEFINITION:
            owner = node;
            s.fragments.push({ ...at, owner: node, type: info.getType() });
            break;
          case Kind.SELECTION_SET:
            s.sets.push({ ...at, type: info.getParentType() });
            break;
          case Kind.FIELD:
            s.fields.push({ ...at, parentType: info.getParentType(), def: info.getFieldDef(), type: info.getType() });
            break;
          case Kind.ARGUMENT:
            s.args.push({ ...at, def: info.getArgument(), type: info.getInputType(), directive: info.getDirective() });
            break;
          case Kind.DIRECTIVE:
            s.directives.push({ ...at, def: info.getDirective() });
            break;
          case Kind.FRAGMENT_SPREAD:
            s.spreads.push({ ...at, parentType: info.getParentType() });
            break;
          case Kind.INLINE_FRAGMENT:
            s.inlines.push({ ...at, parentType: info.getParentType(), type: info.getType() });
            break;
          case Kind.VARIABLE_DEFINITION:
            s.varDefs.push({ ...at, type: info.getInputType() });
            inDefault = true;
            return undefined;
          default:
            break;
        }
        if (isValueNode(node)) {
          if (!(node.kind === Kind.VARIABLE && key === 'variable')) {
            const site = { ...at, type: info.getInputType(), inDefault };
            s.values.push(site);
            if (node.kind === Kind.OBJECT) s.objects.push(site);
            if (node.kind === Kind.VARIABLE) s.varUses.push(site);
          }
        }
        return undefined;
      },
    }),
  );
  return s;
}

const VALUE_KINDS = new Set([
  Kind.VARIABLE,
  Kind.INT,
  Kind.FLOAT,
  Kind.STRING,
  Kind.BOOLEAN,
  Kind.NULL,
  Kind.ENUM,
  Kind.LIST,
  Kind.OBJECT,
]);
const isValueNode = (node) => VALUE_KINDS.has(node.kind);

/** Inserts `item` at a random place of `list`. */
export const insertAt = (m, list, item) => list.splice(m.rng.int(0, list.length), 0, item);

/** Puts `node` where `site` was. */
export const replace = (site, node) => {
  site.parent[site.key] = node;
};

const BUILT_IN = ['Int', 'Float', 'String', 'Boolean', 'ID'];

/** Whether values of `type` can be judged: custom scalars (DateTime) take anything in graphql-js's client schema. */
export const judged = (type) =>
  Boolean(type) && !(isScalarType(getNamedType(type)) && !BUILT_IN.includes(getNamedType(type).name));

/** A value site (a literal, or a variable when `vars`) whose expected type passes `filter`. */
export const valueSite = (m, filter, { vars = true } = {}) =>
  m.pick(m.sites.values, (v) => judged(v.type) && (vars || v.node.kind !== 'Variable') && filter(v));

/** A node a directive may be put on: a field, a spread or an inline fragment. */
export const directivesHost = (m) =>
  m.pick([...m.sites.fields, ...m.sites.spreads, ...m.sites.inlines].map((s) => s.node));

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

export class Mutant {
  constructor(schema, rng, base, generator) {
    this.schema = schema;
    this.rng = rng;
    this.base = base;
    this.gen = generator;
    this.doc = parse(base.query, { noLocation: true });
    this.variables = structuredClone(base.variables);
    this.operationName = base.operationName;
    this.textEdit = null;
    this.refresh();
  }

  /** Collects the sites again (after an edit that moved things around). */
  refresh() {
    this.sites = sitesOf(this.schema, this.doc);
  }

  /** The operation the request asks for. */
  get op() {
    return this.sites.operations.find((o) => (o.node.name?.value ?? null) === this.operationName)?.node;
  }

  pick(list, filter = () => true) {
    const fit = list.filter(filter);
    return fit.length ? this.rng.pick(fit) : null;
  }

  /** What to send. */
  result(note) {
    const printed = print(this.doc);
    return {
      query: this.textEdit ? this.textEdit(printed) : printed,
      variables: this.variables,
      operationName: this.operationName,
      note,
    };
  }

  /** A fresh name not used by any definition, alias, variable or fragment of the document. */
  fresh(prefix) {
    const text = print(this.doc);
    for (let i = 0; ; i++) {
      const candidate = `${prefix}${i || ''}`;
      if (!new RegExp(`\\b${candidate}\\b`).test(text)) return candidate;
    }
  }

  /** Selection sets of object types (not a subscription's root). */
  objectSets() {
    return this.sites.sets.filter(
      (s) => isObjectType(s.type) && s.type !== this.schema.getSubscriptionType(),
    );
  }

  /** Selection sets of the `Node` interface (a `node` field, a fragment or inline fragment on Node). */
  interfaceSets() {
    return this.sites.sets.filter((s) => isInterfaceType(s.type));
  }

  /** Field sites that are real schema fields (not `__typename`/introspection). */
  schemaFields(filter = () => true) {
    return this.sites.fields.filter((f) => f.def && !f.node.name.value.startsWith('__') && filter(f));
  }

  /** A field of `type` (optionally: leaf or composite), as a node with its required arguments and a minimal selection. */
  fieldOf(type, { leaf, exclude = [], alias } = {}) {
    const fields = Object.values(type.getFields()).filter(
      (f) =>
        !exclude.includes(f.name) &&
        !SKIPPED_ROOT_FIELDS.has(f.name) &&
        (leaf === undefined || isLeafType(getNamedType(f.type)) === leaf),
    );
    if (!fields.length) return null;
    const def = this.rng.pick(fields);
    return this.fieldNode(def, alias);
  }

  fieldNode(def, alias) {
    const args = def.args
      .filter((a) => a.type.toString().endsWith('!') && a.defaultValue === undefined)
      .map((a) => A.argument(a.name, this.literal(a.type, a.name)));
    const named = getNamedType(def.type);
    return A.field(def.name, {
      alias,
      args,
      selections: isCompositeType(named) ? [A.field('__typename')] : undefined,
    });
  }

  /** A valid constant literal of an input type. */
  literal(type, hint = '') {
    return this.gen.value(type, hint, { constant: true });
  }

  /** A fragment definition of the document, making one (from a field's selection) if there is none. */
  ensureFragment() {
    const existing = this.pick(this.sites.fragments, (f) => f.type && f.type !== this.schema.getSubscriptionType());
    if (existing) return existing;
    const host = this.pick(this.schemaFields((f) => f.node.selectionSet && isCompositeType(getNamedType(f.type))));
    if (!host) return null;
    const name = this.fresh('Extracted');
    const on = getNamedType(host.type).name;
    const def = A.fragmentDefinition(name, on, host.node.selectionSet.selections);
    host.node.selectionSet = A.selectionSet([A.spread(name)]);
    this.doc.definitions.push(def);
    this.refresh();
    return this.sites.fragments.find((f) => f.node.name.value === name);
  }

  /** Every spread of fragment `name`. */
  spreadsOf(name) {
    return this.sites.spreads.filter((s) => s.node.name.value === name);
  }

  /** The definitions of the operation that owns `site` (a fragment's: the chosen operation). */
  operationOf(site) {
    return site.owner?.kind === Kind.OPERATION_DEFINITION ? site.owner : this.op;
  }

  /** The variable definitions of the chosen operation. */
  varDefs(filter = () => true) {
    return this.sites.varDefs.filter((v) => v.owner === this.op && filter(v));
  }

  inputObjectValues(filter = () => true) {
    return this.sites.objects.filter((o) => isInputObjectType(getNamedType(o.type)) && filter(o));
  }
}
