#!/usr/bin/env bash
# Fetches the vendored assets again from npm at their pinned versions and
# checks them against the SHA-256 sums in README.md.
set -euo pipefail
cd "$(dirname "$0")"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent graphiql@3.8.3 react@18.3.1 react-dom@18.3.1 graphql-ws@5.16.2 >/dev/null)
for tarball in "$work"/*.tgz; do
  mkdir -p "${tarball%.tgz}" && tar xzf "$tarball" -C "${tarball%.tgz}"
done
cp "$work"/graphiql-3.8.3/package/graphiql.min.{js,css} .
cp "$work"/react-18.3.1/package/umd/react.production.min.js .
cp "$work"/react-dom-18.3.1/package/umd/react-dom.production.min.js .
cp "$work"/graphql-ws-5.16.2/package/umd/graphql-ws.min.js .
sed -i 's|//# sourceMappingURL=.*||' graphiql.min.js graphiql.min.css
sed -n '/^```$/,/^```$/p' README.md | grep -v '```' | sha256sum --check
