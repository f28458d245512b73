#!/usr/bin/env bash
# Reruns every benchmark of vkv and regenerates the tables.
#
#   scripts/bench.sh [OUTDIR]        # default OUTDIR: bench-results/
#
# Writes to OUTDIR:
#   machine.txt          nproc, CPU, memory, go version, commit, load average
#   bench.txt            raw `go test -bench` output of the root package
#   benchstat.txt        benchstat of bench.txt
#   benchstat-impl.txt   benchstat with vkv and raw Badger side by side (-col /impl)
#   peers.md             the peers table (benchmarks/cmd/peers): vkv, raw Badger,
#                        bbolt, Pebble and embedded etcd at equal durability
#   peers.json           every peers run's raw figures
#   peers.log            the peers program's progress and checks
#   http.md              the HTTP table (benchmarks/cmd/httpload): vkv's server
#                        against a bare handler, a raw-Badger CAS handler and
#                        etcd's JSON gateway, 64 keep-alive connections
#   http.log             httpload's progress and checks
#
# Environment:
#   COUNT=5              -count of the root benchmarks
#   BENCHTIME=           -benchtime of the root benchmarks (default: go test's 1s)
#   PEERS_FLAGS=         extra flags for peers, e.g. "-quick" or "-count 3 -duration 5s"
#   HTTP_FLAGS=          extra flags for httpload, e.g. "-count 3"
#   SKIP_ROOT=1          skip the root benchmarks; SKIP_PEERS=1 skips peers,
#                        SKIP_HTTP=1 the HTTP table
#
# Works from a clean clone with Go and the module proxy: benchstat and every
# peer store come from the proxy. The benchmarks share the machine: run them
# on a quiet one (see the load average in machine.txt) and rerun what looks off.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-bench-results}
mkdir -p "$out"
out=$(cd "$out" && pwd)
COUNT=${COUNT:-5}
BENCHTIME=${BENCHTIME:-}
PEERS_FLAGS=${PEERS_FLAGS:-}
HTTP_FLAGS=${HTTP_FLAGS:-}
benchstat=golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da

step() { printf '\n== %s\n' "$*" >&2; }

step "machine"
{
	echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "nproc: $(nproc)"
	echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
	echo "memory: $(free -h | awk '/^Mem:/ {print $2}')"
	echo "go: $(go version)"
	echo "commit: $(git -C "$root" rev-parse HEAD 2>/dev/null || echo unknown)$(git -C "$root" diff --quiet HEAD 2>/dev/null || echo ' (with uncommitted changes)')"
	echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$out/machine.txt" >&2

if [ "${SKIP_ROOT:-}" != 1 ]; then
	step "root benchmarks: go test -run '^\$' -bench . -count $COUNT -benchmem ${BENCHTIME:+-benchtime $BENCHTIME} ."
	(cd "$root" && go test -run '^$' -bench . -count "$COUNT" -benchmem ${BENCHTIME:+-benchtime "$BENCHTIME"} -timeout 120m .) |
		tee "$out/bench.txt"
	step "benchstat"
	go run "$benchstat" "$out/bench.txt" > "$out/benchstat.txt"
	go run "$benchstat" -col /impl "$out/bench.txt" > "$out/benchstat-impl.txt"
	cat "$out/benchstat-impl.txt"
fi

if [ "${SKIP_PEERS:-}" != 1 ]; then
	step "peers ${PEERS_FLAGS}"
	bin=$(mktemp -d)
	trap 'rm -rf "$bin"' EXIT
	# -mod=mod: the root module may have gained requirements since benchmarks/go.mod
	# was last tidied (the replace directive builds the working tree).
	(cd "$root/benchmarks" && go build -mod=mod -o "$bin/peers" ./cmd/peers)
	# shellcheck disable=SC2086 # PEERS_FLAGS is a list of flags
	"$bin/peers" -json "$out/peers.json" $PEERS_FLAGS 2>&1 > "$out/peers.md" | tee "$out/peers.log" >&2
	cat "$out/peers.md"
fi
if [ "${SKIP_HTTP:-}" != 1 ]; then
	step "http ${HTTP_FLAGS:-}"
	hbin=$(mktemp -d)
	(cd "$root/benchmarks" && go build -mod=mod -o "$hbin/httpload" ./cmd/httpload)
	# shellcheck disable=SC2086 # HTTP_FLAGS is a list of flags
	"$hbin/httpload" ${HTTP_FLAGS:-} 2>&1 > "$out/http.md" | tee "$out/http.log" >&2
	rm -rf "$hbin"
	cat "$out/http.md"
fi
step "results in $out"
