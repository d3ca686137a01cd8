#!/bin/bash
# sys_podman.sh: memreclaim in real containers, as issue 12 asks.
#
# The image from contrib/image/build-image (mmdebstrap + make install,
# imported with podman; Debian's redis-server added), cached by content
# under /var/tmp so only the first run pays for mmdebstrap.  Two podman
# containers from it:
#   mrd    memreclaimd with the host's pid and cgroup namespaces and cgroup
#          filesystem (what the DaemonSet gives it), its socket directory
#          a host directory;
#   redis  redis-server with libmemreclaim preloaded, copied out of the
#          image as contrib/k8s/app.yaml's init container does, started
#          with --memory, the socket directory mounted.
# redis is filled, half of it deleted (the allocator keeps that memory:
# its own scavenger is told to wait an hour and to keep any amount free, so
# what is released was asked for by the daemon), then a process in the redis
# container maps enough that it fits under the limit only if redis gives
# memory back.  The test asserts, from the daemon and from the kernel: redis
# registered, memreclaimd sent it trims that released memory (the daemon's
# record of TRIM_DONE) and its RSS fell, the pressure process got all it
# asked for, no OOM kill in the container's memory cgroup, and redis still
# holds every kept key.
#
# First, the library alone in a container with --memory and no daemon: its
# soft limit is the container's.
# Exits 77 with the reason when podman cannot run containers here, or when
# the image cannot be built within MR_IMAGE_BUDGET seconds (default 240:
# mmdebstrap downloads about 40 MB the first time).  Removes its containers
# and files on every exit; the image stays cached.
set -u

top_builddir=${top_builddir:-../..}
top_srcdir=${top_srcdir:-$(dirname "$0")/../..}
B=$(cd "$top_builddir" && pwd)
S=$(cd "$top_srcdir" && pwd)
PRESSURE=$B/tests/system/pressure
IMAGE=localhost/memreclaim-test:redis
BUDGET=${MR_IMAGE_BUDGET:-240}

# sizes in MiB: redis holds about 2 x HALF, frees one half, and PRESSURE
# more must fit under LIMIT
LIMIT_MIB=384
KEYS=100000
PRESSURE_MIB=250
BURST_MIB=120	# at once, as a process starting up; the rest at 30 MiB/s

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; diagnose; exit 1; }
log() { echo "podman: $*"; }

[ "$(id -u)" = 0 ] || skip "needs root (rootful podman, the host's cgroups)"
command -v podman >/dev/null ||
	skip "podman is not installed (Debian package podman)"
command -v mmdebstrap >/dev/null ||
	skip "mmdebstrap is not installed (Debian package mmdebstrap): no image"
grep -q '^#define MR_SANITIZED' "$B/config.h" 2>/dev/null &&
	skip "sanitizer build: the preload library is not usable"
[ -x "$B/daemon/memreclaimd" ] || skip "built with --disable-daemon"
[ -x "$PRESSURE" ] || fail "$PRESSURE not built"

# What these machines need (HACKING, DESIGN): crun refuses hybrid cgroups,
# so runc where it is installed; cgroupfs (no systemd to talk to); the
# default ulimits cannot be raised without CAP_SYS_RESOURCE.
OPTS=(--cgroup-manager cgroupfs --ulimit nofile=1024:1024
	--ulimit nproc=1024:1024 --network none)
command -v runc >/dev/null && OPTS+=(--runtime runc)
podman info >/dev/null 2>&1 ||
	skip "podman info fails: $(podman info 2>&1 | tail -n 1)"

T=$(mktemp -d /tmp/mr-podman.XXXXXX)
chmod 755 "$T"
mkdir "$T/run"
MRD=mrd-test-$$
RED=redis-test-$$
cleanup() {
	trap - EXIT INT TERM
	# one at a time: podman 4.3 removes neither when one is missing
	podman rm -f -i -t 2 "$RED" >/dev/null 2>&1
	podman rm -f -i -t 2 "$MRD" >/dev/null 2>&1
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

diagnose() {
	log "--- diagnostics"
	podman logs "$MRD" 2>&1 | grep -v -e "connection from" | tail -n 30 |
		sed 's/^/memreclaimd: /'
	podman logs "$RED" 2>&1 | tail -n 10 | sed 's/^/redis: /'
	[ -f "$T/pressure.out" ] && sed 's/^/pressure: /' "$T/pressure.out"
	[ -n "${MEMCG:-}" ] && [ -f "$MEMCG/memory.oom_control" ] &&
		log "oom_control: $(tr '\n' ' ' < "$MEMCG/memory.oom_control")"
}

# Can podman run a container here at all?  Asked before spending minutes
# on the image: a root filesystem of /bin/true and the libraries it links.
mkdir "$T/probe"
for f in /bin/true $(ldd /bin/true | awk '{ for (i = 1; i <= NF; i++)
    if ($i ~ /^\//) print $i }'); do
	cp --parents -L "$f" "$T/probe/" || fail "cannot copy $f"
done
if ! podman run --rm "${OPTS[@]}" --rootfs "$T/probe" /bin/true \
    > "$T/try" 2>&1; then
	skip "podman cannot run a container here: $(tail -n 1 "$T/try")"
fi

# ---- the image, bounded ----
start=$SECONDS
rc=0
"$S/contrib/image/build-image" -q -b "$B" -p redis-server -t "$IMAGE" \
	-T "$BUDGET" > "$T/build.out" 2> "$T/build.err" || rc=$?
case $rc in
0) ;;
3) skip "the image was not built within MR_IMAGE_BUDGET=$BUDGET s" \
	"(mmdebstrap; a slow mirror?)" ;;
4) skip "$(tail -n 1 "$T/build.err")" ;;
*) cat "$T/build.err"; fail "build-image failed ($rc)" ;;
esac
log "image $IMAGE ready in $((SECONDS - start)) s"

podman run --rm "${OPTS[@]}" --entrypoint true "$IMAGE" > "$T/try" 2>&1 ||
	fail "podman cannot run the image: $(tail -n 1 "$T/try")"

# ---- the library alone (no socket mounted, no daemon): its soft limit is
# the container's memory limit, read from its cgroup ----
lib_limit() {	# MEMORY-OPTION...: the limit the library reports at exit
	# ("..., limit 200.0 MiB (cgroup), goal ...": the figure and where it
	# came from)
	podman run --rm "${OPTS[@]}" "$@" --entrypoint env "$IMAGE" \
		LD_PRELOAD=/usr/local/lib/libmemreclaim.so MEMRECLAIM_STATS=1 \
		/bin/true 2>&1 |
		sed -n 's/.*, limit \([0-9.]*\) MiB (\([a-z]*\)).*/\1 \2/p'
}
alone=$(lib_limit --memory 200m)
unlimited=$(lib_limit)
log "library without the daemon: limit ${alone:-?} MiB with --memory 200m," \
	"${unlimited:-?} MiB without"
[ "$alone" = "200.0 cgroup" ] ||
	fail "the library alone took limit '$alone' MiB under --memory 200m"
# (without --memory only a limit above the container, if any, applies)
case $unlimited in
"200.0 "* | "") fail "the library reports limit '$unlimited'" \
	"with no container limit" ;;
esac

# ---- memreclaimd ----
cat > "$T/mrd.conf" <<CONF
[memreclaimd]
socket = /run/memreclaim/memreclaimd.sock
socket_mode = 0666
metrics =
CONF
podman run -d --name "$MRD" "${OPTS[@]}" --pid host --cgroupns host \
	-v /sys/fs/cgroup:/sys/fs/cgroup -v "$T/run:/run/memreclaim" \
	-v "$T/mrd.conf:/etc/memreclaim/memreclaim.conf:ro" \
	"$IMAGE" -v -t 180 -f /etc/memreclaim/memreclaim.conf > /dev/null ||
	fail "podman run memreclaimd"
mctl() { podman exec "$MRD" memreclaimctl "$@"; }
for _ in $(seq 100); do
	mctl status > /dev/null 2>&1 && break
	sleep 0.1
done
mctl status > /dev/null 2>&1 ||
	fail "memreclaimd in its container did not start"
log "memreclaimd: $(podman logs "$MRD" 2>&1 |
	grep -o 'memory cgroups at.*' | head -n 1)"

# ---- redis with the library ----
# The library as contrib/k8s/app.yaml's init container gets it: copied out
# of the image (with liburing when the library links it shared), mounted
# read-only at /memreclaim, LD_PRELOAD and LD_LIBRARY_PATH pointing there.
mkdir "$T/lib"
podman run --rm "${OPTS[@]}" -v "$T/lib:/memreclaim" --entrypoint /bin/sh \
	"$IMAGE" -c 'cp -L /usr/local/lib/libmemreclaim.so.0 /memreclaim/ &&
	for l in /usr/lib/*/liburing.so.2; do
	if [ -e "$l" ]; then cp -L "$l" /memreclaim/; fi; done' ||
	fail "the init container's copy failed"
podman run -d --name "$RED" "${OPTS[@]}" --memory ${LIMIT_MIB}m \
	--memory-swap ${LIMIT_MIB}m \
	-v "$T/run:/run/memreclaim" -v "$PRESSURE:/usr/local/bin/pressure:ro" \
	-v "$T/lib:/memreclaim:ro" \
	--entrypoint env "$IMAGE" LD_PRELOAD=/memreclaim/libmemreclaim.so.0 \
	LD_LIBRARY_PATH=/memreclaim \
	MEMRECLAIM_RELEASE_DELAY_MS=3600000 MEMRECLAIM_GOAL_PERCENT=100000 \
	redis-server --bind 127.0.0.1 --save '' \
	--appendonly no --enable-debug-command yes --loglevel warning \
	> /dev/null || fail "podman run redis"
rcli() { podman exec "$RED" redis-cli "$@"; }
for _ in $(seq 100); do
	[ "$(rcli ping 2>/dev/null)" = PONG ] && break
	sleep 0.1
done
[ "$(rcli ping 2>/dev/null)" = PONG ] || fail "redis did not start"
RPID=$(podman inspect --format '{{.State.Pid}}' "$RED")
MEMCG=/sys/fs/cgroup/memory$(awk -F: '$2 ~ /(^|,)memory(,|$)/ { print $3 }' \
	"/proc/$RPID/cgroup")
[ -f "$MEMCG/memory.limit_in_bytes" ] || MEMCG=/sys/fs/cgroup$(awk -F: \
	'$1 == 0 { print $3 }' "/proc/$RPID/cgroup")
grep -q /memreclaim/libmemreclaim.so.0 "/proc/$RPID/maps" ||
	fail "libmemreclaim is not loaded in redis"
is_client() { mctl --json clients 2>/dev/null | grep -q "\"pid\":$RPID,"; }
for _ in $(seq 100); do
	is_client && break
	sleep 0.1
done
is_client || fail "redis (host pid $RPID) did not register with memreclaimd"
log "redis pid $RPID registered; its memory cgroup $MEMCG"

oom_kills() {
	if [ -f "$MEMCG/memory.oom_control" ]; then
		awk '$1 == "oom_kill" { print $2 }' "$MEMCG/memory.oom_control"
	else
		awk '$1 == "oom_kill" { print $2 }' "$MEMCG/memory.events"
	fi
}
rss_mib() { awk '/^VmRSS:/ { printf "%d", $2 / 1024 }' "/proc/$RPID/status"; }
status_field() { mctl --json status | sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p"; }
client_field() {
	mctl --json clients | sed -n "s/.*\"pid\":$RPID,[^}]*\"$1\":\([0-9]*\).*/\1/p"
}

# ---- fill, free half, press ----
rcli debug populate $KEYS keep 1000 > /dev/null
rcli debug populate $KEYS drop 1000 > /dev/null
full=$(rss_mib)
rcli eval "for i = 0, tonumber(ARGV[1]) - 1 do
	redis.call('DEL', 'drop:' .. i) end return 1" 0 $KEYS > /dev/null
sleep 1
rss0=$(rss_mib)
t0=$(status_field trims_sent)
b0=$(status_field trim_bytes_released)
log "redis RSS $full MiB full, $rss0 MiB after deleting half;" \
	"limit $LIMIT_MIB MiB"
need=$((rss0 + PRESSURE_MIB - LIMIT_MIB))
[ $need -gt 0 ] ||
	fail "the pressure fits without redis giving back (RSS $rss0 MiB)"

podman exec "$RED" sh -c 'echo 1000 > /proc/self/oom_score_adj &&
	exec timeout -s KILL 60 pressure -b '$BURST_MIB'M -r 30M -t 3 \
	'${PRESSURE_MIB}M \
	> "$T/pressure.out" 2>&1
prc=$?
sleep 0.5
rss1=$(rss_mib)
trims=$(( $(status_field trims_sent) - t0 ))
released=$(( ($(status_field trim_bytes_released) - b0) >> 20 ))
kills=$(oom_kills)
log "after ${PRESSURE_MIB} MiB of pressure: redis RSS $rss1 MiB, trims $trims" \
	"releasing $released MiB, OOM kills $kills (needed back: $need MiB)"

[ "$kills" = 0 ] || fail "the OOM killer acted in the redis container"
[ "$(podman inspect --format '{{.State.OOMKilled}}' "$RED")" = false ] ||
	fail "podman says redis was OOM-killed"
[ $prc = 0 ] || fail "pressure exited with $prc"
grep -q holding "$T/pressure.out" ||
	fail "pressure never got ${PRESSURE_MIB} MiB"
[ "$trims" -ge 1 ] || fail "memreclaimd sent no trim"
[ "$(client_field trims)" -ge 1 ] || fail "redis received no trim"
[ "$released" -ge 1 ] || fail "the trims released $released MiB"
# the kernel also takes page cache and lazily freed pages, so RSS is not
# expected to fall by all of need; it must fall
[ "$rss1" -lt "$rss0" ] || fail "redis RSS did not fall ($rss0 -> $rss1 MiB)"
[ "$(rcli dbsize)" = $KEYS ] || fail "redis lost keys: dbsize $(rcli dbsize)"
mctl clients
echo "PASS: redis in a ${LIMIT_MIB} MiB container got $trims trim(s) from" \
	"memreclaimd in another container, gave back $((rss0 - rss1)) MiB, no OOM kill"
