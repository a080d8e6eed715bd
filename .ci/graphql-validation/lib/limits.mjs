// The server's own document limits (README "Configuration": ATELYA_MAX_DEPTH,
// _ALIASES, _DIRECTIVES, _COMPLEXITY, _TOKENS), measured the way the server
// measures them, so generated documents stay well inside: a document over a
// limit is refused with GRAPHQL_VALIDATION_FAILED on purpose, whatever
// graphql-js says, and would prove nothing here.

import { Kind, Lexer, Source, TokenKind, getNamedType, isListType, getNullableType, isLeafType } from 'graphql';

/** The server's defaults (README "Configuration"). */
export const SERVER_LIMITS = { depth: 12, aliases: 30, directives: 5, complexity: 2000, tokens: 10000 };

/** What generated (valid) documents stay under, leaving room for what a mutation adds. */
export const BUDGET = { depth: 10, aliases: 24, directives: 3, complexity: 1000, tokens: 4000 };

const CONNECTION_PAGE = { default: 20, max: 100 };
const EVENTS_PAGE = { default: 100, max: 1000 };

export function countTokens(text) {
  const lexer = new Lexer(new Source(text));
  let n = 0;
  while (lexer.advance().kind !== TokenKind.EOF) n++;
  return n;
}

/** Aliases (each `__typename` counted) and directives, as written (a fragment once). */
export function countWritten(doc) {
  let aliases = 0;
  let directives = 0;
  const walk = (node) => {
    if (!node || typeof node !== 'object') return;
    if (Array.isArray(node)) return node.forEach(walk);
    if (node.kind === Kind.FIELD && (node.alias || node.name.value === '__typename')) aliases++;
    if (node.kind === Kind.DIRECTIVE) directives++;
    for (const [key, value] of Object.entries(node)) if (key !== 'loc') walk(value);
  };
  walk(doc);
  return { aliases, directives };
}

function fragmentsOf(doc) {
  const map = new Map();
  for (const d of doc.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) map.set(d.name.value, d);
  return map;
}

/** Deepest field nesting of any operation, through fragments (a cycle stops). */
export function depthOf(doc) {
  const fragments = fragmentsOf(doc);
  const depth = (set, visiting) => {
    let max = 0;
    for (const s of set?.selections ?? []) {
      let d = 0;
      if (s.kind === Kind.FIELD) d = 1 + depth(s.selectionSet, visiting);
      else if (s.kind === Kind.INLINE_FRAGMENT) d = depth(s.selectionSet, visiting);
      else {
        const f = fragments.get(s.name.value);
        if (f && !visiting.has(s.name.value)) {
          visiting.add(s.name.value);
          d = depth(f.selectionSet, visiting);
          visiting.delete(s.name.value);
        }
      }
      max = Math.max(max, d);
    }
    return max;
  };
  let max = 0;
  for (const d of doc.definitions) {
    if (d.kind === Kind.OPERATION_DEFINITION) max = Math.max(max, depth(d.selectionSet, new Set()));
  }
  return max;
}

/**
 * An upper bound of the server's cost: a list costs 1 plus its selection, a
 * field taking `first` its page size times that; fields written twice are
 * counted twice (the server merges them, so it counts less).
 */
export function costOf(schema, doc, variables = {}) {
  const fragments = fragmentsOf(doc);
  let max = 0;
  for (const op of doc.definitions) {
    if (op.kind !== Kind.OPERATION_DEFINITION) continue;
    const root = schema.getRootType(op.operation);
    const defaults = new Map();
    for (const v of op.variableDefinitions ?? []) {
      if (v.defaultValue?.kind === Kind.INT) defaults.set(v.variable.name.value, Number(v.defaultValue.value));
    }
    const firstOf = (node) => {
      if (!node) return undefined;
      if (node.kind === Kind.INT) return Number(node.value);
      if (node.kind === Kind.VARIABLE) {
        const v = variables[node.name.value];
        return Number.isInteger(v) ? v : defaults.get(node.name.value);
      }
      return undefined;
    };
    const selection = (type, set, visiting) => {
      let total = 0;
      for (const s of set?.selections ?? []) {
        if (s.kind === Kind.INLINE_FRAGMENT) {
          const t = s.typeCondition ? schema.getType(s.typeCondition.name.value) : type;
          total += selection(t, s.selectionSet, visiting);
        } else if (s.kind === Kind.FRAGMENT_SPREAD) {
          const f = fragments.get(s.name.value);
          if (f && !visiting.has(s.name.value)) {
            visiting.add(s.name.value);
            total += selection(schema.getType(f.typeCondition.name.value), f.selectionSet, visiting);
            visiting.delete(s.name.value);
          }
        } else {
          total += field(type, s, visiting);
        }
      }
      return total;
    };
    const field = (parent, node, visiting) => {
      const def = parent?.getFields?.()[node.name.value];
      if (!def) return 0;
      const named = getNamedType(def.type);
      if (isLeafType(named)) return 0;
      const inner = selection(named, node.selectionSet, visiting);
      const paged = def.args.some((a) => a.name === 'first');
      if (!paged && !isListType(getNullableType(def.type))) return inner;
      if (!paged) return 1 + inner;
      const page = named.name.endsWith('Connection') ? CONNECTION_PAGE : EVENTS_PAGE;
      const arg = node.arguments?.find((a) => a.name.value === 'first');
      const first = firstOf(arg?.value) ?? page.default;
      return (1 + inner) * Math.min(Math.max(first, 1), page.max);
    };
    max = Math.max(max, selection(root, op.selectionSet, new Set()));
  }
  return max;
}

/** The measures of a document, and whether they are within `budget`. */
export function measure(schema, doc, text, variables, budget = BUDGET) {
  const m = {
    depth: depthOf(doc),
    ...countWritten(doc),
    complexity: costOf(schema, doc, variables),
    tokens: countTokens(text),
  };
  m.within = Object.keys(budget).every((k) => m[k] <= budget[k]);
  return m;
}
