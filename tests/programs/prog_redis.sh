#!/bin/sh
# redis-server with and without memreclaim: redis-benchmark on loopback
# (bounded request count), then a fixed set of commands through redis-cli
# whose output must be the same in both runs.  The server listens on
# 127.0.0.1 only, keeps no files, and is shut down (or killed by the EXIT
# trap) at the end of each run.
. "${srcdir:-$(dirname "$0")}/prog_common.sh"
prog_need redis-server redis-cli redis-benchmark

REDIS_PID=
redis_stop() {
	if [ -n "$REDIS_PID" ]; then
		kill "$REDIS_PID" 2>/dev/null
		# Bounded wait, then force.
		i=0
		while kill -0 "$REDIS_PID" 2>/dev/null && [ $i -lt 50 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		kill -9 "$REDIS_PID" 2>/dev/null
		wait "$REDIS_PID" 2>/dev/null
		REDIS_PID=
	fi
}
prog_at_exit redis_stop

# The deterministic command set: strings, counters, lists, sets, sorted
# sets, hashes read field by field (hash iteration order is seeded
# randomly per process), big values, deletes.
gen_commands() {
	i=0
	while [ $i -lt 400 ]; do
		echo "SET str:$i value-$i-$(printf '%*s' $((i % 50)) '' | tr ' ' v)"
		echo "INCRBY ctr:$((i % 7)) $i"
		echo "RPUSH list:$((i % 5)) item-$i"
		echo "SADD set:$((i % 3)) member-$((i * 7 % 101))"
		echo "ZADD zset $((i * 37 % 1000)) m$i"
		echo "HSET hash:$((i % 4)) f$i $((i * i))"
		i=$((i + 1))
	done
	echo "SET big:1 $(head -c 300000 /dev/zero | tr '\0' B)"
	echo "APPEND big:1 tail"
	echo "STRLEN big:1"
	echo "GETRANGE big:1 299990 300010"
	echo "SETRANGE big:2 1000000 end"
	echo "STRLEN big:2"
	i=0
	while [ $i -lt 400 ]; do
		echo "GET str:$i"
		echo "HGET hash:$((i % 4)) f$i"
		i=$((i + 17))
	done
	for k in 0 1 2 3 4 5 6; do echo "GET ctr:$k"; done
	for l in 0 1 2 3 4; do
		echo "LLEN list:$l"
		echo "LRANGE list:$l 0 -1"
		echo "LRANGE list:$l 10 30"
	done
	echo "SORT set:0 ALPHA"
	echo "SINTERCARD 2 set:0 set:1"
	echo "SCARD set:2"
	echo "ZRANGE zset 0 -1 WITHSCORES"
	echo "ZRANGEBYSCORE zset 100 200"
	echo "ZRANK zset m77"
	echo "HLEN hash:0"
	i=0
	while [ $i -lt 400 ]; do
		echo "DEL str:$i"
		i=$((i + 3))
	done
	echo "LTRIM list:1 5 20"
	echo "LRANGE list:1 0 -1"
	echo "DBSIZE"
}

# redis_session TAG PRELOAD: start a server, benchmark it, run the commands.
redis_session() {
	tag=$1
	pre=$2
	port=
	for try in 1 2 3 4 5 6 7 8 9 10; do
		p=$(( (($$ + try * 7919) % 20000) + 30000 ))
		if [ -n "$pre" ]; then
			timeout -k 5 "$PROG_TIMEOUT" env LD_PRELOAD="$pre" \
				LD_DEBUG=bindings LD_DEBUG_OUTPUT="$PROG_TMP/$tag.ld" \
				redis-server \
				--port "$p" --bind 127.0.0.1 --save '' \
				--appendonly no --daemonize no --dir "$PROG_TMP" \
				--loglevel warning --protected-mode yes \
				>"$PROG_TMP/$tag.server.log" 2>&1 &
		else
			env -u LD_PRELOAD timeout -k 5 "$PROG_TIMEOUT" redis-server \
				--port "$p" --bind 127.0.0.1 --save '' \
				--appendonly no --daemonize no --dir "$PROG_TMP" \
				--loglevel warning --protected-mode yes \
				>"$PROG_TMP/$tag.server.log" 2>&1 &
		fi
		REDIS_PID=$!
		i=0
		while [ $i -lt 100 ]; do
			if [ "$(redis-cli -h 127.0.0.1 -p "$p" PING 2>/dev/null)" = PONG ]; then
				port=$p
				break 2
			fi
			kill -0 "$REDIS_PID" 2>/dev/null || break
			sleep 0.1
			i=$((i + 1))
		done
		redis_stop	# port taken or slow start: try another
	done
	if [ -z "$port" ]; then
		prog_fail "$tag: redis-server did not start"
		prog_show "$PROG_TMP/$tag.server.log"
		return 1
	fi
	if [ -n "$pre" ]; then
		# The server really runs on memreclaim.
		srv=$(redis-cli -h 127.0.0.1 -p "$port" INFO server |
			tr -d '\r' | sed -n 's/^process_id://p')
		if ! grep -q "$(basename "$MR_LIB")" "/proc/$srv/maps" 2>/dev/null; then
			prog_fail "$tag: $(basename "$MR_LIB") is not mapped in" \
				"redis-server (pid '$srv')"
		fi
	fi
	if ! timeout -k 5 "$PROG_TIMEOUT" redis-benchmark -h 127.0.0.1 -p "$port" \
		-q -n 20000 -c 20 -P 4 -d 200 \
		-t set,get,incr,lpush,rpush,lpop,sadd,hset,zadd,lrange_100,mset \
		>"$PROG_TMP/$tag.bench" 2>&1 </dev/null; then
		prog_fail "$tag: redis-benchmark failed"
		prog_show "$PROG_TMP/$tag.bench"
	fi
	if ! grep -q "requests per second" "$PROG_TMP/$tag.bench"; then
		prog_fail "$tag: redis-benchmark reported no results"
		prog_show "$PROG_TMP/$tag.bench"
	fi
	sed 's/^/    /' "$PROG_TMP/$tag.bench" | tr '\r' '\n' | grep 'per second' | head -20
	redis-cli -h 127.0.0.1 -p "$port" FLUSHALL >/dev/null
	gen_commands >"$PROG_TMP/commands"
	timeout -k 5 "$PROG_TIMEOUT" redis-cli -h 127.0.0.1 -p "$port" \
		<"$PROG_TMP/commands" >"$PROG_TMP/$tag.out" 2>&1
	rc=$?
	if [ $rc -ne 0 ]; then
		prog_fail "$tag: redis-cli exit $rc"
	fi
	if ! redis-cli -h 127.0.0.1 -p "$port" SHUTDOWN NOSAVE >/dev/null 2>&1; then
		:	# SHUTDOWN closes the connection: no reply expected
	fi
	i=0
	while kill -0 "$REDIS_PID" 2>/dev/null && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	if kill -0 "$REDIS_PID" 2>/dev/null; then
		prog_fail "$tag: redis-server did not shut down"
	else
		wait "$REDIS_PID"
		src=$?
		REDIS_PID=
		if [ "$src" -ne 0 ]; then
			prog_fail "$tag: redis-server exited with status $src"
			prog_show "$PROG_TMP/$tag.server.log"
		fi
	fi
	redis_stop
	if grep -q "memreclaim: fatal" "$PROG_TMP/$tag.server.log"; then
		prog_fail "$tag: memreclaim reported corruption"
		prog_show "$PROG_TMP/$tag.server.log"
	fi
	return 0
}

redis_session redis.default ""
redis_session redis.mr "$MR_LIB"
prog_check_binds redis.mr
if [ -s "$PROG_TMP/redis.default.out" ] &&
   cmp -s "$PROG_TMP/redis.default.out" "$PROG_TMP/redis.mr.out"; then
	echo "ok: redis: same replies ($(wc -l <"$PROG_TMP/redis.mr.out") lines)" \
		"with and without memreclaim"
else
	prog_fail "redis: replies differ under memreclaim (or are empty)"
	diff "$PROG_TMP/redis.default.out" "$PROG_TMP/redis.mr.out" >"$PROG_TMP/d"
	prog_show "$PROG_TMP/d"
fi
prog_finish
