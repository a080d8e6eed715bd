// Random VALID executable documents over the server's schema, with the
// variables to send: operations of each type, arguments of every kind
// (literals, variables with and without defaults, lists, input objects, enums,
// nulls), aliases, named and inline fragments (nested, on the interface and on
// its implementations), @include/@skip with literals and variables, fields
// written twice that merge, subscriptions with one root field. Each document
// is checked with graphql-js (validate, getVariableValues) and against the
// server's limits before it is used; one that fails is drawn again.

import {
  GraphQLNonNull,
  doTypesOverlap,
  getNamedType,
  getNullableType,
  isAbstractType,
  isCompositeType,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isLeafType,
  isListType,
  isNonNullType,
  isObjectType,
  isScalarType,
  parse,
  print,
  validate,
} from 'graphql';
import { getVariableValues } from 'graphql/execution/values.js';

import * as A from './ast.mjs';
import { measure } from './limits.mjs';

/**
 * Root fields never generated: they work without a token (sign-up and
 * sign-in), so sending them would create accounts, hash passwords and spend
 * the per-address sign-in budget the later CI steps need.
 */
export const SKIPPED_ROOT_FIELDS = new Set(['signup', 'login', 'refreshToken', 'logout', 'acceptInvitation']);

const STRINGS = ['a', 'hello world', '', 'Ünïcödé ✓ 🙂', 'line\nbreak', 'quote " and \\ backslash', 'tab\tx', 'x'.repeat(40)];
const BLOCK_STRINGS = ['block string', 'two\nlines'];
const NAME_WORDS = ['on', 'query', 'fragment', 'true', 'null', 'type', 'subscription'];
const DATETIMES = ['2024-05-01T10:00:00Z', '2030-12-31T23:59:59+02:00'];
const MAX_FIELD_DEPTH = 9;

export class Generator {
  /** `variables`: how often a value is a variable rather than a literal. */
  constructor(schema, rng, { variables = 0.3 } = {}) {
    this.schema = schema;
    this.rng = rng;
    this.variableChance = variables;
    this.attempts = 0;
    this.rejected = 0;
    this.rejections = {};
  }

  /** A valid document: { query, variables, operationName, operation }. */
  next() {
    for (let i = 0; i < 200; i++) {
      this.attempts++;
      const made = this.draw();
      const why = this.check(made);
      if (!why) return made;
      this.rejected++;
      this.rejections[why] = (this.rejections[why] ?? 0) + 1;
      // GENERATOR_REJECTS=<prefix of a reason> prints the documents drawn again for it.
      if (process.env.GENERATOR_REJECTS && why.startsWith(process.env.GENERATOR_REJECTS)) console.error(why, made.query);
    }
    throw new Error(`the generator made no valid document in 200 attempts: ${JSON.stringify(this.rejections)}`);
  }

  /** Why a drawn document cannot be used, or null. */
  check(made) {
    const doc = parse(made.query);
    const errors = validate(this.schema, doc);
    if (errors.length) return `graphql-js: ${errors[0].message.replace(/"[^"]*"/g, '"…"')}`;
    const op = doc.definitions.find(
      (d) => d.kind === 'OperationDefinition' && (d.name?.value ?? null) === (made.operationName ?? null),
    );
    const coerced = getVariableValues(this.schema, op.variableDefinitions ?? [], made.variables);
    if (coerced.errors) return `variables: ${coerced.errors[0].message}`;
    const m = measure(this.schema, doc, made.query, made.variables);
    if (!m.within) return 'limits';
    return null;
  }

  draw() {
    const rng = this.rng;
    this.d = { alias: 0, fragment: 0, variable: 0, aliasesLeft: 20, directivesLeft: 3, fieldsLeft: rng.int(4, 28) };
    const kinds = rng.chance(0.15) ? rng.int(2, 3) : 1;
    const definitions = [];
    const ops = [];
    for (let i = 0; i < kinds; i++) {
      const kind = rng.weighted({ query: 55, mutation: 30, subscription: 15 });
      const named = kinds > 1 || rng.chance(0.6);
      const opName = named ? this.opName(ops.length) : undefined;
      const { op, fragments, variables } = this.operation(kind, opName);
      ops.push({ op, variables, opName, kind });
      definitions.push(op, ...fragments);
    }
    const chosen = rng.pick(ops);
    const order = rng.chance(0.3) ? rng.shuffle(definitions) : definitions;
    const query = print(A.document(order));
    return { query, variables: chosen.variables, operationName: chosen.opName ?? null, operation: chosen.kind };
  }

  opName(index) {
    if (this.rng.chance(0.08)) return `${this.rng.pick(NAME_WORDS)}${index ? index : ''}`;
    return this.rng.pick(['Op', 'GetThings', 'q', 'Run_', 'WatchIt']) + index;
  }

  operation(kind, opName) {
    const root = this.schema.getRootType(kind);
    // One operation's variables and fragments: a fragment is spread only in
    // the operation it was made for, which defines every variable it uses.
    this.o = { vars: new Map(), fragments: [], args: new Map(), kind };
    let selections;
    if (kind === 'subscription') selections = this.subscriptionRoot(root);
    else if (kind === 'mutation') selections = this.rootFields(root, this.rng.int(1, 2));
    else selections = this.selections(root, 1);
    const defs = [...this.o.vars.values()].map((v) => A.variableDefinition(v.name, v.type, v.defaultValue));
    const variables = {};
    for (const v of this.o.vars.values()) if (v.value !== undefined) variables[v.name] = v.value;
    if (this.rng.chance(0.05)) variables.notDefinedAnywhere = 1; // extra variables are ignored
    const op = A.operation(kind, opName, this.rng.shuffle(defs), selections);
    return { op, fragments: this.o.fragments.map((f) => f.def), variables };
  }

  rootFields(root, n) {
    const fields = Object.values(root.getFields()).filter((f) => !SKIPPED_ROOT_FIELDS.has(f.name));
    const weights = Object.fromEntries(fields.map((f, i) => [i, weightOf(f)]));
    const out = [];
    for (let i = 0; i < n; i++) {
      out.push(this.fieldNode(root, fields[Number(this.rng.weighted(weights))], 1, { alias: out.length > 0 }));
    }
    return out;
  }

  /** Exactly one root field (one response key), written in one of several ways. */
  subscriptionRoot(root) {
    const rng = this.rng;
    const def = rng.pick(Object.values(root.getFields()));
    const one = this.fieldNode(root, def, 1, { noDirectives: true });
    switch (rng.pick(['plain', 'plain', 'inline', 'fragment', 'twice'])) {
      case 'inline':
        return [A.inlineFragment(rng.chance(0.5) ? root.name : undefined, [one])];
      case 'fragment': {
        const fname = this.fragmentName();
        this.o.fragments.push({ name: fname, type: root, def: A.fragmentDefinition(fname, root.name, [one]) });
        return [A.spread(fname)];
      }
      case 'twice': {
        const again = A.clone(one);
        if (again.selectionSet) again.selectionSet = A.selectionSet(this.selections(getNamedType(def.type), 2));
        return [one, again];
      }
      default:
        return [one];
    }
  }

  fragmentName() {
    const n = this.d.fragment++;
    if (this.rng.chance(0.05)) return `${this.rng.pick(NAME_WORDS.filter((w) => w !== 'on'))}${n}`;
    return this.rng.pick(['F', 'Frag', 'Parts', 'With_']) + n;
  }

  /** A non-empty selection set for composite `type` at field depth `depth`. */
  selections(type, depth) {
    const rng = this.rng;
    const out = [];
    const want = this.d.fieldsLeft <= 0 ? 1 : rng.int(1, depth <= 2 ? 4 : 3);
    for (let i = 0; i < want; i++) {
      const choice = rng.weighted({
        field: 70,
        inline: depth < MAX_FIELD_DEPTH ? (isAbstractType(type) ? 40 : 8) : 0,
        spread: depth < MAX_FIELD_DEPTH ? 8 : 0,
        typename: this.d.aliasesLeft > 2 ? 4 : 0,
        repeat: out.some((s) => s.kind === 'Field') ? 7 : 0,
      });
      if (choice === 'field') out.push(this.someField(type, depth));
      else if (choice === 'inline') out.push(this.inline(type, depth));
      else if (choice === 'spread') out.push(this.spreadOf(type, depth));
      else if (choice === 'typename') out.push(this.typename());
      else out.push(this.repeat(out.filter((s) => s.kind === 'Field'), type, depth));
    }
    return out;
  }

  typename() {
    this.d.aliasesLeft--;
    const alias = this.rng.chance(0.3) ? this.aliasName() : undefined;
    return A.field('__typename', { alias, directives: this.maybeDirectives() });
  }

  aliasName() {
    return `${this.rng.pick(['a', 'k', 'alias_', 'x'])}${this.d.alias++}`;
  }

  someField(type, depth) {
    const rng = this.rng;
    if (type === this.schema.getQueryType() && rng.chance(0.04)) return this.introspectionField();
    let fields = Object.values(type.getFields()).filter((f) => !SKIPPED_ROOT_FIELDS.has(f.name));
    const leaves = fields.filter((f) => isLeafType(getNamedType(f.type)));
    const deep = depth >= MAX_FIELD_DEPTH - 2 || this.d.fieldsLeft <= 0;
    if (deep || (leaves.length && rng.chance(0.45))) fields = leaves;
    if (fields.length === 0) return this.typename();
    // Fields taking arguments are drawn more often: the values are what most rules are about.
    const weights = Object.fromEntries(fields.map((f, i) => [i, weightOf(f)]));
    return this.fieldNode(type, fields[Number(rng.weighted(weights))], depth);
  }

  introspectionField() {
    const name = this.rng.pick(['Workroom', 'Node', 'Role', 'CreateWorkroomInput', 'Nope']);
    if (this.rng.chance(0.5)) return A.parseSelections(`__type(name: "${name}") { name kind }`)[0];
    return A.parseSelections('__schema { queryType { name } subscriptionType { name } }')[0];
  }

  fieldNode(parent, def, depth, { alias = false, noDirectives = false } = {}) {
    const rng = this.rng;
    this.d.fieldsLeft--;
    const wantAlias = (alias || rng.chance(0.2)) && this.d.aliasesLeft > 0;
    if (wantAlias) this.d.aliasesLeft--;
    const named = getNamedType(def.type);
    // An alias may repeat the field's name; its key is then the field's own.
    const aliasName = wantAlias ? (rng.chance(0.1) ? def.name : this.aliasName()) : def.name;
    return A.field(def.name, {
      alias: wantAlias ? aliasName : undefined,
      args: aliasName === def.name ? this.consistentArguments(parent, def) : this.argumentsOf(def),
      directives: noDirectives ? [] : this.maybeDirectives(),
      selections: isCompositeType(named) ? this.selections(named, depth + 1) : undefined,
    });
  }

  argumentsOf(def) {
    const args = [];
    for (const arg of this.rng.shuffle(def.args)) {
      const required = isNonNullType(arg.type) && arg.defaultValue === undefined;
      if (required || this.rng.chance(0.6)) args.push(A.argument(arg.name, this.value(arg.type, arg.name)));
    }
    return args;
  }

  /**
   * Fields of one parent type and one response key must take the same
   * arguments to merge: the first unaliased use of `Type.field` in an
   * operation sets them for every other.
   */
  consistentArguments(parent, def) {
    const key = `${parent.name}.${def.name}`;
    if (!this.o.args.has(key)) this.o.args.set(key, this.argumentsOf(def));
    return A.clone(this.o.args.get(key));
  }

  /** The same field written again (same key and arguments), its selection drawn anew: they merge. */
  repeat(fields, type, depth) {
    const again = A.clone(this.rng.pick(fields));
    const introspection = again.name.value.startsWith('__') && again.name.value !== '__typename';
    if (again.selectionSet && !introspection) {
      const named = getNamedType(type.getFields()[again.name.value].type);
      again.selectionSet = A.selectionSet(this.selections(named, depth + 1));
    }
    if (again.alias || again.name.value === '__typename') {
      if (this.d.aliasesLeft <= 0) return A.field('__typename');
      this.d.aliasesLeft--;
    }
    again.directives = this.maybeDirectives();
    return again;
  }

  /** A type a fragment inside a `type` selection may be on. */
  fragmentType(type) {
    const rng = this.rng;
    if (isInterfaceType(type)) {
      return rng.chance(0.8) ? rng.pick(this.schema.getPossibleTypes(type)) : type;
    }
    if (isObjectType(type) && type.getInterfaces().length && rng.chance(0.25)) {
      return rng.pick(type.getInterfaces());
    }
    return type;
  }

  inline(type, depth) {
    const on = this.fragmentType(type);
    const withCondition = on !== type || this.rng.chance(0.6);
    return A.inlineFragment(withCondition ? on.name : undefined, this.selections(on, depth), this.maybeDirectives());
  }

  spreadOf(type, depth) {
    const usable = this.o.fragments.filter((f) => doTypesOverlap(this.schema, f.type, type) && f.type !== this.schema.getSubscriptionType());
    if (usable.length && this.rng.chance(0.3)) return A.spread(this.rng.pick(usable).name, this.maybeDirectives());
    const on = this.fragmentType(type);
    const fname = this.fragmentName();
    // The body is made before the fragment is listed, so it cannot spread itself.
    const body = this.selections(on, depth);
    this.o.fragments.push({ name: fname, type: on, def: A.fragmentDefinition(fname, on.name, body) });
    return A.spread(fname, this.maybeDirectives());
  }

  maybeDirectives() {
    if (this.d.directivesLeft <= 0 || !this.rng.chance(0.1)) return [];
    this.d.directivesLeft--;
    const boolean = this.schema.getType('Boolean');
    const ifValue = this.value(new GraphQLNonNull(boolean), 'if');
    return [A.directive(this.rng.pick(['include', 'skip']), [A.argument('if', ifValue)])];
  }

  /** A value for an input position of `type`: a literal, or (inside an operation) a variable. */
  value(type, hint, { constant = false, literal = false } = {}) {
    const rng = this.rng;
    // An input object is mostly written out, so that its fields (lists among them) get variables.
    const chance = isInputObjectType(getNullableType(type)) ? this.variableChance / 3 : this.variableChance;
    if (!constant && !literal && rng.chance(chance) && !isCustomScalarPosition(type)) return this.variableFor(type, hint);
    if (!isNonNullType(type) && rng.chance(0.15)) return A.nullValue();
    const t = getNullableType(type);
    if (isListType(t)) {
      // One item stands for a list of it; a variable there would be in a list's position.
      if (rng.chance(0.2)) return this.value(t.ofType, hint, { constant, literal: true });
      const items = [];
      for (let i = rng.int(0, 3); i > 0; i--) items.push(this.value(t.ofType, hint, { constant }));
      return A.listValue(items);
    }
    if (isInputObjectType(t)) {
      const fields = [];
      for (const f of rng.shuffle(Object.values(t.getFields()))) {
        const required = isNonNullType(f.type) && f.defaultValue === undefined;
        if (required || rng.chance(0.5)) fields.push(A.objectField(f.name, this.value(f.type, f.name, { constant })));
      }
      return A.objectValue(fields);
    }
    if (isEnumType(t)) return A.enumValue(rng.pick(t.getValues()).name);
    return this.scalarLiteral(t, hint);
  }

  scalarLiteral(t, hint) {
    const rng = this.rng;
    switch (t.name) {
      case 'Int':
        return A.intValue(smallInt(rng, hint));
      case 'Boolean':
        return A.booleanValue(rng.chance(0.5));
      case 'ID':
        return rng.chance(0.3) ? A.intValue(rng.int(1, 999)) : A.stringValue(`id_${rng.int(1, 999)}`);
      case 'String':
        return rng.chance(0.1) ? A.stringValue(rng.pick(BLOCK_STRINGS), true) : A.stringValue(rng.pick(STRINGS));
      case 'DateTime':
        return A.stringValue(rng.pick(DATETIMES));
      default:
        throw new Error(`no literal for scalar ${t.name}`);
    }
  }

  /** A variable usable at a position of `type`: reused when one fits, else defined now. */
  variableFor(type, hint) {
    const rng = this.rng;
    const fits = [...this.o.vars.values()].filter((v) => String(v.type) === String(type) && v.hint === hint);
    if (fits.length && rng.chance(0.3)) return A.variable(rng.pick(fits).name);
    let declared = type;
    let defaultValue;
    let nonNullDefault = false;
    if (isNonNullType(type) && rng.chance(0.15)) {
      // A nullable variable with a default may go where a non-null value is expected.
      declared = type.ofType;
      defaultValue = this.value(type, hint, { constant: true });
      nonNullDefault = true;
    } else if (!isNonNullType(type) && rng.chance(0.2)) {
      declared = new GraphQLNonNull(type);
    } else if (!isNonNullType(type) && rng.chance(0.3)) {
      defaultValue = this.value(type, hint, { constant: true });
    }
    const name = rng.chance(0.05) ? `${rng.pick(NAME_WORDS)}${this.d.variable++}` : `${hint}${this.d.variable++}`;
    const required = isNonNullType(declared) && defaultValue === undefined;
    let value;
    if (required || rng.chance(0.6)) value = this.json(declared, hint, { neverNull: nonNullDefault });
    this.o.vars.set(name, { name, type: declared, defaultValue, value, hint });
    return A.variable(name);
  }

  /** A JSON value of input type `type`, as a client would send it. */
  json(type, hint, { neverNull = false } = {}) {
    const rng = this.rng;
    if (!isNonNullType(type) && !neverNull && rng.chance(0.1)) return null;
    const t = getNullableType(type);
    if (isListType(t)) {
      if (rng.chance(0.2)) return this.json(t.ofType, hint, { neverNull: true });
      return Array.from({ length: rng.int(0, 3) }, () => this.json(t.ofType, hint));
    }
    if (isInputObjectType(t)) {
      const out = {};
      for (const f of Object.values(t.getFields())) {
        const required = isNonNullType(f.type) && f.defaultValue === undefined;
        if (required || rng.chance(0.5)) out[f.name] = this.json(f.type, f.name);
      }
      return out;
    }
    if (isEnumType(t)) return rng.pick(t.getValues()).name;
    if (isScalarType(t)) {
      switch (t.name) {
        case 'Int':
          return smallInt(rng, hint);
        case 'Boolean':
          return rng.chance(0.5);
        case 'ID':
          return rng.chance(0.3) ? rng.int(1, 999) : `id_${rng.int(1, 999)}`;
        case 'String':
          return rng.pick(STRINGS);
        case 'DateTime':
          return rng.pick(DATETIMES);
        default:
          throw new Error(`no JSON for scalar ${t.name}`);
      }
    }
    throw new Error(`no JSON for ${String(type)}`);
  }
}

/** How often a field is drawn: more when it takes arguments, most when they take input objects or lists. */
function weightOf(field) {
  if (!field.args.length) return 1;
  const rich = field.args.some((a) => {
    const t = getNullableType(a.type);
    return isListType(t) || isInputObjectType(t);
  });
  return rich ? 6 : 3;
}

/** Page sizes stay small (they multiply the cost); other Ints too. */
function smallInt(rng, hint) {
  return hint === 'first' ? rng.int(1, 3) : rng.int(0, 5);
}

/**
 * A custom scalar (DateTime) takes any value in graphql-js's client schema,
 * so a variable of one could not be judged: its positions get literals (valid
 * ones), and variables stay of built-in scalars, enums, lists and input objects.
 */
function isCustomScalarPosition(type) {
  const named = getNamedType(type);
  return isScalarType(named) && !['Int', 'Float', 'String', 'Boolean', 'ID'].includes(named.name);
}
