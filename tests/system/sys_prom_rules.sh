#!/bin/sh
# contrib/prometheus: the alert rules load (`promtool check rules`), the
# example configuration is valid (`promtool check config`), and every
# alert fires where it should and stays silent where it should not
# (`promtool test rules alerts_test.yml`: hand-made series, one case per
# alert and a neighbour that must not fire).
set -u
command -v promtool >/dev/null 2>&1 || {
	echo "SKIP: promtool missing (Debian package prometheus;" \
		"contrib/install-deps)" >&2
	exit 77
}
D=${top_srcdir:-../..}/contrib/prometheus
T=$(mktemp -d /tmp/mrd-rules.XXXXXX)
trap 'rm -rf "$T"' EXIT
# promtool resolves rule_files next to the file it reads
cp "$D/alerts.yml" "$D/alerts_test.yml" "$D/prometheus.yml" "$T/" || exit 1
cd "$T" || exit 1
promtool check rules alerts.yml || { echo "FAIL: check rules" >&2; exit 1; }
promtool check config prometheus.yml ||
	{ echo "FAIL: check config" >&2; exit 1; }
out=$(promtool test rules alerts_test.yml 2>&1)
echo "$out"
echo "$out" | grep -q SUCCESS || { echo "FAIL: test rules" >&2; exit 1; }
n=$(grep -c '^      - alert:' alerts.yml)
t=$(grep -o 'alertname: [A-Za-z]*' alerts_test.yml | sort -u | wc -l)
[ "$n" = "$t" ] || { echo "FAIL: $n alerts, $t of them tested" >&2; exit 1; }
echo "PASS: $n alert rules checked and unit-tested"
