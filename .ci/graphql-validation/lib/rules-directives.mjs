// Mutations for spec section 5.7 (directives).

import {
  KnownDirectivesRule,
  UniqueDirectivesPerLocationRule,
} from 'graphql';

import * as A from './ast.mjs';
import { directivesHost } from './mutant.mjs';

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

export const directiveRules = [
  directivesAreDefined,
  directivesInValidLocations,
  directivesAreUnique,
];
