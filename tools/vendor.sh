#!/bin/sh
# Refresh the vendored front-end libraries under crm_expo/static/vendor/ from the npm registry
# (venues often have no internet, so the app serves them itself; the CSP allows only 'self').
# Usage: tools/vendor.sh            the pinned versions below
#        BOOTSTRAP=5 tools/vendor.sh  any npm version spec, e.g. the newest 5.x
# Writes crm_expo/static/vendor/VERSIONS (name, version, source, licence) from each package.json.
set -eu
BOOTSTRAP=${BOOTSTRAP:-5.3.9}
HTMX=${HTMX:-2.0.11}
TOMSELECT=${TOMSELECT:-2.6.2}
CHARTJS=${CHARTJS:-4.6.2}

root=$(cd "$(dirname "$0")/.." && pwd)
dest="$root/crm_expo/static/vendor"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# fetch NAME SPEC DIR FILE... : npm pack NAME@SPEC, copy each FILE (path inside the package)
# into $dest/DIR, with the package's licence, and add a line to VERSIONS.
fetch() {
  name=$1 spec=$2 dir=$3; shift 3
  rm -rf "$work/package" && mkdir -p "$work/$dir"
  tgz=$(cd "$work" && npm pack --silent "$name@$spec" | tail -n 1)
  tar xzf "$work/$tgz" -C "$work"
  mkdir -p "$dest/$dir"
  for f in "$@"; do cp "$work/package/$f" "$dest/$dir/"; done
  for lic in LICENSE LICENSE.md LICENSE.txt; do
    [ -f "$work/package/$lic" ] && cp "$work/package/$lic" "$dest/$dir/LICENSE" && break
  done
  node -e '
    const [pkg, tgz, ...files] = process.argv.slice(1);
    const p = require(pkg);
    console.log([p.name, p.version, "https://registry.npmjs.org/" + p.name + "/-/" + tgz, p.license,
                 files.map(f => f.split("/").pop()).join(" ")].join("\t"));
  ' "$work/package/package.json" "$tgz" "$@" >> "$work/VERSIONS"
}

rm -rf "$dest" && mkdir -p "$dest"
printf '# name\tversion\tsource\tlicence\tfiles (refreshed by tools/vendor.sh)\n' > "$work/VERSIONS"
fetch bootstrap "$BOOTSTRAP" bootstrap dist/css/bootstrap.min.css dist/js/bootstrap.bundle.min.js
fetch htmx.org "$HTMX" htmx dist/htmx.min.js
fetch tom-select "$TOMSELECT" tom-select dist/js/tom-select.complete.min.js dist/css/tom-select.bootstrap5.min.css
fetch chart.js "$CHARTJS" chartjs dist/chart.umd.min.js
# Source maps are not shipped: drop the comments that would ask for them.
find "$dest" -name '*.min.*' -exec sed -i -e 's#/\*\# sourceMappingURL=[^*]*\*/##' -e 's#//\# sourceMappingURL=.*$##' {} +
cp "$work/VERSIONS" "$dest/VERSIONS"
cat "$dest/VERSIONS"
