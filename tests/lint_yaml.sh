#!/bin/sh
# lint_yaml.sh: every YAML file under contrib/ (the Kubernetes manifests,
# Prometheus rules, ...) passes yamllint's default rules, warnings
# included (--strict): what `kubectl apply` and promtool get is well formed
# and reads the same in every tool.  Skips (77) without yamllint (Debian
# package yamllint).
set -u
top_srcdir=${top_srcdir:-$(dirname "$0")/..}
command -v yamllint >/dev/null 2>&1 ||
	{ echo "SKIP: yamllint is not installed (Debian package yamllint)"; exit 77; }
files=$(find "$top_srcdir/contrib" -name '*.yaml' -o -name '*.yml' | sort)
[ -n "$files" ] || { echo "FAIL: no YAML under $top_srcdir/contrib"; exit 1; }
echo "$files" | sed 's/^/yamllint: /'
# shellcheck disable=SC2086 # one word per file; no spaces in contrib/
yamllint --strict -d default $files || { echo "FAIL: yamllint"; exit 1; }
echo "PASS: $(echo "$files" | wc -l) files"
