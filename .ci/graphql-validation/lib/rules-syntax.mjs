// Documents that do not parse (spec section 2, Language): graphql-js's
// `parse` refuses them, and the server must answer GRAPHQL_PARSE_FAILED.
// Most are edits of the printed text; a marker node stands where the text is
// to be broken.

import * as A from './ast.mjs';

const MARK = 'BREAK_HERE_MARKER';

/** Puts a marker field into a selection set (the mutation then edits the text around it). */
function markSet(m) {
  const set = m.pick(m.sites.sets, (s) => s.node.selections.length > 0);
  if (!set) return false;
  set.node.selections.push(A.field(MARK));
  return true;
}

export const syntax = {
  id: '2',
  title: 'Document syntax (parse)',
  kind: 'syntax',
  variants: [
    {
      name: 'a fragment named "on"',
      apply(m) {
        const f = m.ensureFragment();
        if (!f) return null;
        for (const s of m.spreadsOf(f.node.name.value)) s.node.name = A.name('on');
        f.node.name = A.name('on');
        return `fragment on on ${f.type.name}`;
      },
    },
    {
      name: 'an unclosed selection set',
      apply(m) {
        m.textEdit = (t) => t.replace(/\}\s*$/, '');
        return 'last } removed';
      },
    },
    {
      name: 'a variable in a default value',
      apply(m) {
        const name = m.fresh('d');
        m.op.variableDefinitions = [...(m.op.variableDefinitions ?? []), A.variableDefinition(name, 'Int', A.variable('other'))];
        return `$${name}: Int = $other`;
      },
    },
    {
      name: 'an empty selection set',
      apply(m) {
        const site = m.pick(m.sites.fields, (f) => f.node.selectionSet);
        if (!site) return null;
        site.node.selectionSet.selections = [A.field(MARK)];
        m.textEdit = (t) => t.replace(new RegExp(`\\{\\s*${MARK}\\s*\\}`), '{ }');
        return site.node.name.value;
      },
    },
    {
      name: 'an argument without a value',
      apply(m) {
        const site = m.pick(m.sites.args);
        if (!site) return null;
        site.node.value = A.enumValue(MARK);
        m.textEdit = (t) => t.replace(`: ${MARK}`, ':');
        return site.node.name.value;
      },
    },
    {
      name: 'an unterminated string',
      apply(m) {
        if (!markSet(m)) return null;
        m.textEdit = (t) => t.replace(MARK, 'a(b: "unterminated');
        return 'unterminated';
      },
    },
    {
      name: 'a stray character or brace',
      apply(m) {
        const stray = m.rng.pick(['}', '?', ')', '{', '&', '...', '$']);
        if (!markSet(m)) return null;
        m.textEdit = (t) => t.replace(MARK, stray);
        return stray;
      },
    },
    {
      name: 'a misspelled keyword',
      apply(m) {
        if (!markSet(m)) return null;
        const broken = m.rng.pick(['fragmnet F on Query { __typename }', 'qeury Q { __typename }', 'query Q($: Int) { __typename }']);
        m.textEdit = (t) => `${t.replace(MARK, '__typename')}\n${broken}`;
        return broken;
      },
    },
  ],
  fixed: [
    { name: 'fragment on on Query', query: 'fragment on on Query { __typename } { ...on }' },
    { name: 'argument without a value', query: '{ workroom(id: ) { id } }' },
    { name: 'variable in a default value', query: 'query($a: Int = $b) { __typename }' },
    { name: 'empty selection set', query: '{ plans { } }' },
  ],
};
