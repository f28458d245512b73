#!/usr/bin/env bash
# Reruns every benchmark behind BENCHMARKS.md and writes the raw outputs and
# tables. The full run takes about an hour and a half on a 2-core machine;
# QUICK=1 runs every step briefly (about 15 minutes: numbers for a smoke
# check, not for the tables).
#
#   scripts/bench.sh [OUTDIR]          # default OUTDIR: bench-results/
#   QUICK=1 scripts/bench.sh /tmp/b    # every step, briefly
#   ONLY="rss peers" scripts/bench.sh  # some steps only
#
# Steps (ONLY selects among them; SKIP_<STEP>=1 skips one, e.g. SKIP_ETCD=1):
#   machine   machine.txt: nproc, CPU, memory, go version, commit, load average
#             (peers, httpload and etcdkvbench each measure the disk's fsync
#             rate before their runs and print it under their tables)
#   root      bench.txt: `go test -bench .` of the root package in the default
#             (lean) profile, COUNT runs; benchstat.txt and benchstat-impl.txt
#             (vkv and raw Badger side by side, -col /impl). With BENCH_1M=1
#             the preloaded Put and CompareAndSwap also run at 1M keys.
#   profiles  bench-profiles.txt: the preloaded Put and CompareAndSwap and the
#             durable CAS benchmarks, alternating the lean and the throughput
#             profile (VKV_BENCH_PROFILE=throughput) COUNT times each from one
#             test binary; benchstat-profiles.txt compares them (the write
#             throughput the lean default costs)
#   rss       rss.txt: benchmarks/cmd/rss, a process that only embeds vkv,
#             loading 100k keys, alternating the two profiles RSS_COUNT times,
#             then once more with GOMEMLIMIT=32MiB; rss-bench.txt: the root
#             BenchmarkRSS with its three settings of BENCHMARKS.md "Memory"
#   peers     peers.md, peers.json, peers.log: benchmarks/cmd/peers (vkv in
#             both profiles, raw Badger, bbolt, Pebble, embedded etcd)
#   http      http.md, http.log: benchmarks/cmd/httpload at 100k keys at random;
#             http-hot.md, http-hot.log: the hot-cache variant (-hot)
#   etcd      etcdkvbench.md (fsync) and etcdkvbench-nosync.md:
#             benchmarks/cmd/etcdkvbench (etcdkv against raw clientv3)
#   auth      auth.txt: the authorization check (authfile BenchmarkAuthorize)
#
# Environment:
#   COUNT=5              -count of the root benchmarks, and alternations of the
#                        profiles step
#   BENCHTIME=           -benchtime of the root benchmarks (default: go test's 1s)
#   BENCH_1M=1           also the 1M-key preloaded benchmarks (loading takes
#                        tens of seconds per store, once per run)
#   RSS_COUNT=3          runs of cmd/rss per profile
#   PEERS_FLAGS=         flags for peers (default "-count 3")
#   HTTP_FLAGS=          flags for httpload (default "-count 3")
#   ETCD_FLAGS=          flags for etcdkvbench (default "-count 5")
#   PROFILE_DIR=         also write CPU profiles of every peers cell, every
#                        httpload server and every etcdkvbench cell under it
#   QUICK=1              COUNT=1 BENCHTIME=100ms RSS_COUNT=1, peers -quick,
#                        httpload and etcdkvbench with 1 s cells, count 1
#
# Works from a clean clone with Go and the module proxy: benchstat and every
# peer store come from the proxy. The benchmarks share the machine: run them
# on a quiet one (machine.txt has the load average; peers and httpload mark
# cells measured while other processes were busy) and rerun what looks off.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-bench-results}
mkdir -p "$out"
out=$(cd "$out" && pwd)
if [ "${QUICK:-}" = 1 ]; then
	COUNT=${COUNT:-1}
	BENCHTIME=${BENCHTIME:-100ms}
	RSS_COUNT=${RSS_COUNT:-1}
	PEERS_FLAGS=${PEERS_FLAGS:--quick -settle 0}
	HTTP_FLAGS=${HTTP_FLAGS:--duration 1s -warmup 200ms -reruns 0}
	ETCD_FLAGS=${ETCD_FLAGS:--count 1 -duration 1s -warmup 200ms}
fi
COUNT=${COUNT:-5}
BENCHTIME=${BENCHTIME:-}
RSS_COUNT=${RSS_COUNT:-3}
PEERS_FLAGS=${PEERS_FLAGS:--count 3}
HTTP_FLAGS=${HTTP_FLAGS:--count 3}
ETCD_FLAGS=${ETCD_FLAGS:--count 5}
ONLY=${ONLY:-machine root profiles rss peers http etcd auth}
benchstat=golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da

step() { printf '\n== %s\n' "$*" >&2; }
# want STEP: whether STEP is in ONLY and not skipped with SKIP_STEP=1.
want() {
	local skip
	skip="SKIP_$(echo "$1" | tr '[:lower:]' '[:upper:]')"
	[ "${!skip:-}" != 1 ] && [[ " $ONLY " == *" $1 "* ]]
}
load() { cut -d' ' -f1-3 /proc/loadavg; }

bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
# -mod=mod: the root module may have gained requirements since
# benchmarks/go.mod was last tidied (the replace directive builds the tree).
build() { (cd "$root/benchmarks" && go build -mod=mod -o "$bin/$1" "./cmd/$1"); }
profflag() {
	if [ -n "${PROFILE_DIR:-}" ]; then
		mkdir -p "$PROFILE_DIR/$1"
		echo "-profile-dir $PROFILE_DIR/$1"
	fi
}

if want machine; then
	step "machine"
	{
		echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
		echo "nproc: $(nproc)"
		echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
		echo "memory: $(free -h | awk '/^Mem:/ {print $2}')"
		echo "go: $(go version)"
		echo "commit: $(git -C "$root" rev-parse HEAD 2>/dev/null || echo unknown)$(git -C "$root" diff --quiet HEAD 2>/dev/null || echo ' (with uncommitted changes)')"
		echo "load average: $(load)"
		echo "flags: QUICK=${QUICK:-} COUNT=$COUNT BENCHTIME=$BENCHTIME BENCH_1M=${BENCH_1M:-} RSS_COUNT=$RSS_COUNT PEERS_FLAGS=$PEERS_FLAGS HTTP_FLAGS=$HTTP_FLAGS ETCD_FLAGS=$ETCD_FLAGS"
	} | tee "$out/machine.txt" >&2
fi


if want root; then
	step "root benchmarks: go test -run '^\$' -bench . -count $COUNT -benchmem ${BENCHTIME:+-benchtime $BENCHTIME} . (load $(load))"
	(cd "$root" && VKV_BENCH_1M=${BENCH_1M:-} go test -run '^$' -bench . -count "$COUNT" -benchmem ${BENCHTIME:+-benchtime "$BENCHTIME"} -timeout 180m .) |
		tee "$out/bench.txt"
	step "benchstat"
	go run "$benchstat" "$out/bench.txt" > "$out/benchstat.txt"
	go run "$benchstat" -col /impl "$out/bench.txt" > "$out/benchstat-impl.txt"
	cat "$out/benchstat-impl.txt"
fi

if want profiles; then
	step "profiles: lean (default) against throughput, $COUNT alternations (load $(load))"
	(cd "$root" && go test -c -o "$bin/vkv.test" .)
	: > "$out/bench-profiles.txt"
	for ((i = 1; i <= COUNT; i++)); do
		for p in lean throughput; do
			echo "profile: $p" >> "$out/bench-profiles.txt"
			# One test binary, one benchmark name per figure: the "profile:"
			# line makes benchstat keep the runs apart (-col profile).
			(cd "$root" && VKV_BENCH_PROFILE=$p VKV_BENCH_1M=${BENCH_1M:-} "$bin/vkv.test" -test.run '^$' \
				-test.bench '^(BenchmarkPut|BenchmarkCompareAndSwap|BenchmarkDurableCAS|BenchmarkCompareAndSwapBestCase)$' \
				-test.benchmem ${BENCHTIME:+-test.benchtime "$BENCHTIME"} -test.timeout 120m) |
				grep -v '^profile:' | tee -a "$out/bench-profiles.txt"
		done
	done
	go run "$benchstat" -col profile "$out/bench-profiles.txt" > "$out/benchstat-profiles.txt"
	cat "$out/benchstat-profiles.txt"
fi

if want rss; then
	step "rss: 100k keys, lean and throughput alternating, $RSS_COUNT runs each (load $(load))"
	build rss
	{
		for ((i = 1; i <= RSS_COUNT; i++)); do
			for p in default throughput; do
				echo "-- run $i, load $(load)"
				"$bin/rss" -profile "$p" -settle 20s
			done
		done
		echo "-- GOMEMLIMIT=32MiB, load $(load)"
		GOMEMLIMIT=32MiB "$bin/rss" -profile default -settle 20s
	} | tee "$out/rss.txt"
	step "rss: root BenchmarkRSS (16 writers, 15-byte keys), defaults / 4 MiB memtables and 512 KiB tables / GOMEMLIMIT=40MiB"
	{
		for env in "X=" "VKV_RSS_MEMTABLE_MB=4 VKV_RSS_BASETABLE_KB=512" "GOMEMLIMIT=40MiB"; do
			echo "-- $env"
			# shellcheck disable=SC2086 # env is a list of assignments
			(cd "$root" && env $env go test -run '^$' -bench '^BenchmarkRSS$' -benchtime 1x -v .) | grep -E 'MiB|bench_test|store_test|Benchmark'
		done
	} | tee "$out/rss-bench.txt"
fi

if want peers; then
	step "peers $PEERS_FLAGS (load $(load))"
	build peers
	# shellcheck disable=SC2086,SC2046 # PEERS_FLAGS is a list of flags
	"$bin/peers" -json "$out/peers.json" $PEERS_FLAGS $(profflag peers) 2>&1 > "$out/peers.md" | tee "$out/peers.log" >&2
	cat "$out/peers.md"
fi

if want http; then
	step "http $HTTP_FLAGS (load $(load))"
	build httpload
	(cd "$root" && go build -o "$bin/vkv" ./cmd/vkv)
	# shellcheck disable=SC2086,SC2046 # HTTP_FLAGS is a list of flags
	"$bin/httpload" -vkv "$bin/vkv" $HTTP_FLAGS $(profflag http) 2>&1 > "$out/http.md" | tee "$out/http.log" >&2
	cat "$out/http.md"
	step "http -hot $HTTP_FLAGS (load $(load))"
	# shellcheck disable=SC2086,SC2046 # HTTP_FLAGS is a list of flags
	"$bin/httpload" -hot -vkv "$bin/vkv" $HTTP_FLAGS $(profflag http-hot) 2>&1 > "$out/http-hot.md" | tee "$out/http-hot.log" >&2
	cat "$out/http-hot.md"
fi

if want etcd; then
	step "etcdkvbench $ETCD_FLAGS, fsync, then -nosync (load $(load))"
	build etcdkvbench
	# shellcheck disable=SC2086,SC2046 # ETCD_FLAGS is a list of flags
	"$bin/etcdkvbench" $ETCD_FLAGS $(profflag etcd) 2>&1 > "$out/etcdkvbench.md" | tee "$out/etcdkvbench.log" >&2
	# shellcheck disable=SC2086,SC2046 # ETCD_FLAGS is a list of flags
	"$bin/etcdkvbench" -nosync $ETCD_FLAGS $(profflag etcd-nosync) 2>&1 > "$out/etcdkvbench-nosync.md" | tee "$out/etcdkvbench-nosync.log" >&2
	cat "$out/etcdkvbench.md" "$out/etcdkvbench-nosync.md"
fi

if want auth; then
	step "authfile BenchmarkAuthorize (load $(load))"
	(cd "$root" && go test ./authfile -run '^$' -bench BenchmarkAuthorize -benchmem -count "$COUNT") | tee "$out/auth.txt"
fi

step "results in $out (load $(load))"
