#!/bin/bash
# sys_install_systemd.sh: what `make install` gives a systemd host.
#   - the unit lands in configure's systemdsystemunitdir (systemd.pc's);
#   - the config path memreclaimd reads (its --help) is where make install
#     put the example, the unit's comment names that same path, and for
#     the system prefixes (/usr, /usr/local) with no --sysconfdir it is
#     /etc/memreclaim.conf, as the README says;
#   - `systemd-analyze verify` accepts the installed unit (its binaries and
#     man pages resolved inside the staging tree);
#   - `systemd-analyze security` rates it at most 3.0 ("OK"; the old unit
#     was 2.8; systemd-oomd's unit is 2.0 with systemd 252).
# Installs into a temporary DESTDIR, never onto the host.  Exits 77 when
# systemd-analyze is missing (after the path checks) or with
# --with-systemdsystemunitdir=no.
set -u
top_builddir=${top_builddir:-../..}
B=$(cd "$top_builddir" && pwd)
T=$(mktemp -d /tmp/mr-install.XXXXXX)
trap 'rm -rf "$T"' EXIT
trap 'exit 1' INT TERM HUP
fail() { echo "FAIL: $*"; exit 1; }
skip() { echo "SKIP: $*"; exit 77; }

# makevar NAME: a variable of the build's top Makefile, expanded
# Under `make check` the parent's MAKEFLAGS (-w, the jobserver) would
# reach the makes below and put "Entering directory" into their output.
unset MAKEFLAGS MFLAGS MAKELEVEL
# shellcheck disable=SC2016 # $(NAME) is for make, not the shell
makevar() {
	printf 'mrprint:\n\t@echo $(%s)\n' "$1" |
		make -s --no-print-directory -C "$B" -f Makefile -f - mrprint
}
[ -x "$B/daemon/memreclaimd" ] || skip "built with --disable-daemon"
unitdir=$(makevar systemdsystemunitdir)
[ "$unitdir" != no ] || skip "configured with --with-systemdsystemunitdir=no"
prefix=$(makevar prefix)
sbindir=$(makevar sbindir)
sysconfdir=$(makevar sysconfdir)
mandir=$(makevar mandir)

make -s -C "$B" install DESTDIR="$T/root" > "$T/install.log" 2>&1 ||
	{ tail -n 20 "$T/install.log"; fail "make install DESTDIR=$T/root"; }
D=$T/root
unit=$D$unitdir/memreclaimd.service
[ -f "$unit" ] || fail "no unit at $unitdir/memreclaimd.service"
pcdir=$(pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null)
if [ -n "$pcdir" ] && { [ "$prefix" = /usr ] || [ "$prefix" = /usr/local ]; } &&
    ! grep -q -- '--with-systemdsystemunitdir' "$B/config.log"; then
	[ "$unitdir" = "$pcdir" ] ||
		fail "unit dir $unitdir is not systemd.pc's $pcdir"
fi
echo "unit: $unitdir/memreclaimd.service"

conf=$("$B/daemon/memreclaimd" --help | sed -n 's/.*(default \([^;]*\);.*/\1/p')
echo "memreclaimd reads $conf by default"
[ "$conf" = "$sysconfdir/memreclaim.conf" ] ||
	fail "--help says $conf, sysconfdir is $sysconfdir"
[ -f "$D$conf" ] || fail "make install put no example at $conf"
if ! grep -q -- '--sysconfdir' "$B/config.log" &&
    { [ "$prefix" = /usr ] || [ "$prefix" = /usr/local ]; }; then
	[ "$conf" = /etc/memreclaim.conf ] ||
		fail "prefix $prefix: the config is read from $conf, not /etc/memreclaim.conf"
fi
grep -q "^ExecStart=$sbindir/memreclaimd -d\$" "$unit" ||
	fail "the unit does not start $sbindir/memreclaimd -d:" \
		"$(grep ^ExecStart "$unit")"
grep -q "^# The config is the build's default, $conf " "$unit" ||
	fail "the unit's comment names another config path than $conf"
grep -q '^WatchdogSec=' "$unit" || fail "the unit has no WatchdogSec"

command -v systemd-analyze >/dev/null ||
	skip "paths fine; no systemd-analyze to verify the unit"
# the binaries and man pages are in the staging tree: point the unit and
# man(1) there
sed "s|$sbindir/|$D$sbindir/|g" "$unit" > "$T/memreclaimd.service"
MANPATH=$D$mandir systemd-analyze verify "$T/memreclaimd.service" \
	> "$T/verify.out" 2>&1 ||
	{ cat "$T/verify.out"; fail "systemd-analyze verify"; }
[ -s "$T/verify.out" ] &&
	{ cat "$T/verify.out"; fail "systemd-analyze verify warned"; }
echo "systemd-analyze verify: no complaint"
if systemd-analyze security --offline=true "$T/memreclaimd.service" \
    > "$T/security.out" 2>&1; then
	tail -n 1 "$T/security.out"
	systemd-analyze security --offline=true --threshold=30 \
		"$T/memreclaimd.service" > /dev/null 2>&1 ||
		fail "exposure above 3.0: $(tail -n 1 "$T/security.out")"
else
	echo "systemd-analyze security --offline is not supported here: not rated"
fi
echo "PASS"
