#!/usr/bin/env bash
# bench/api.sh [quick|full] - what the view and control API costs, and
# whether /top stays right, under load.
#
# 1. A million distinct sources: floodsim spoofs 1,000,000 addresses of
#    127/8 (each its own /32 prefix here, the worst case for the summary)
#    while two heavy sources send 500 and 200 q/s. /top is polled every
#    100 ms throughout, and must name the two heavy ones first, in order.
#    The same flood is run against the same server without `api` as the
#    control: the difference in RSS is what the API's memory costs.
#    /top, /limited and /bans are timed under the flood.
# 2. dnsperf, polled vs not: bench/Corefile.floodguard's limits with `api`, 10 pairs of
#    runs (ABBA order), /top polled every 100 ms during one run of each
#    pair; the median q/s ratio must stay >= 0.97.
#
# Everything runs in a network namespace of its own (unshare -rn), on
# loopback. Results: bench/results/api/ (api.md is the summary).
set -euo pipefail

mode=${1:-full}
case $mode in
full) flood_s=70 flood_rate=15000 pairs=10 perf_s=10 ;;
quick) flood_s=20 flood_rate=10000 pairs=4 perf_s=5 ;;
*)
	echo "usage: $0 [quick|full]" >&2
	exit 2
	;;
esac
sources=1000000

root=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "${FLOODGUARD_NETNS:-}" ]; then
	exec env FLOODGUARD_NETNS=1 unshare -rn bash "$0" "$@"
fi
ip link set lo up

res=$root/bench/results/api
work=$root/bench/work/api
rm -rf "$res" "$work"
mkdir -p "$res" "$work"
log() { printf '[api %s] %s\n' "$(date +%T)" "$*" >&2; }
for tool in dnsperf curl jq; do
	command -v $tool >/dev/null || {
		echo "$tool is missing: apt-get install dnsperf curl jq" >&2
		exit 1
	}
done
(cd "$root" && timeout 600 make coredns >&2)
timeout 300 go build -C "$root" -o "$work/floodsim" ./cmd/floodsim

dns_port=1353 api_port=9354 metrics_port=9353
corefile() { # corefile API(yes|no) PREFIX_BITS LIMITS
	local api=''
	[ "$1" = yes ] && api="api 127.0.0.1:$api_port"
	cat <<EOF
example.org:$dns_port {
    bind 127.0.0.1
    floodguard {
        ipv4-prefix-length $2
        $3
        $api
    }
    prometheus 127.0.0.1:$metrics_port
    file $root/testdata/example.org.zone
}
EOF
}

srv_pid=''
stop_server() {
	[ -n "$srv_pid" ] || return 0
	kill -TERM "$srv_pid" 2>/dev/null || true
	while kill -0 "$srv_pid" 2>/dev/null; do sleep 0.1; done
	srv_pid=''
}
trap stop_server EXIT

start_server() { # start_server COREFILE LOG: srv_pid is CoreDNS's own PID
	rm -f "$work/coredns.pid"
	GOMAXPROCS=2 timeout 900 "$root/coredns" -conf "$1" -pidfile "$work/coredns.pid" >"$2" 2>&1 &
	local i
	for ((i = 0; i < 40; i++)); do
		[ -s "$work/coredns.pid" ] && break
		sleep 0.25
	done
	srv_pid=$(cat "$work/coredns.pid")
	printf 'www.example.org A\n' >"$work/one.txt"
	for ((i = 0; i < 40; i++)); do
		if timeout 5 dnsperf -s 127.0.0.1 -p $dns_port -d "$work/one.txt" -n 1 -t 1 2>/dev/null |
			grep -q 'Queries completed: *1 '; then
			return 0
		fi
		sleep 0.25
	done
	echo "CoreDNS did not answer" >&2
	return 1
}
rss_kb() { awk '$1 == "VmRSS:" { print $2 }' "/proc/$1/status"; }

# --- 1. a million sources -----------------------------------------------------

# million API(yes|no): the flood, with RSS sampled every second (rss-API.txt)
# and, with the API, /top polled every 100 ms (top-yes.txt: seconds since
# the start, then the first three prefixes).
million() {
	local api=$1
	corefile "$api" 32 "responses-per-second 10" >"$work/Corefile.million-$api"
	start_server "$work/Corefile.million-$api" "$work/coredns-million-$api.log"
	sleep 1
	echo "idle $(rss_kb $srv_pid)" >"$res/rss-$api.txt"
	local t0 heavy medium attack sampler poller=''

	t0=$(date +%s.%N)
	"$work/floodsim" -server 127.0.0.1:$dns_port -sources $sources -source-base 127.1.0.1 \
		-rate $flood_rate -duration ${flood_s}s -mix a -legit '' >"$work/floodsim-million-$api.txt" 2>&1 &
	attack=$!
	"$work/floodsim" -server 127.0.0.1:$dns_port -sources 1 -source-base 127.0.99.1 \
		-rate 500 -duration ${flood_s}s -mix a -legit '' >/dev/null 2>&1 &
	heavy=$!
	"$work/floodsim" -server 127.0.0.1:$dns_port -sources 1 -source-base 127.0.98.1 \
		-rate 200 -duration ${flood_s}s -mix a -legit '' >/dev/null 2>&1 &
	medium=$!
	(
		while kill -0 $attack 2>/dev/null; do
			echo "$(rss_kb $srv_pid)" >>"$res/rss-$api.txt"
			sleep 1
		done
	) &
	sampler=$!
	if [ "$api" = yes ]; then
		while kill -0 $attack 2>/dev/null; do
			top=$(curl -s --max-time 2 "http://127.0.0.1:$api_port/top?n=3" | jq -r '[.top[].prefix] | join(" ")' || true)
			echo "$(awk -v a="$(date +%s.%N)" -v b="$t0" 'BEGIN { printf "%.2f", a - b }') $top" >>"$res/top-yes.txt"
			sleep 0.1
		done &
		poller=$!
		sleep $((flood_s / 2))
		for ep in top limited bans; do
			for i in 1 2 3 4 5; do
				curl -s -o /dev/null -w "$ep %{time_total} %{size_download}\n" "http://127.0.0.1:$api_port/$ep" >>"$res/latency.txt"
			done
		done
	fi
	wait $attack $heavy $medium $sampler $poller || true
	echo "end $(rss_kb $srv_pid)" >>"$res/rss-$api.txt"
	curl -s "http://127.0.0.1:$metrics_port/metrics" | grep '^coredns_floodguard_\(table\|responses_total\)' >"$res/metrics-million-$api.txt" || true
	stop_server
}

log "part 1: $sources sources at $flood_rate q/s for ${flood_s}s, with and without api"
million no
million yes

# --- 2. dnsperf, /top polled or not ------------------------------------------

log "part 2: dnsperf, $pairs pairs of ${perf_s}s, /top polled every 100 ms or not"
# As bench/Corefile.floodguard: limits dnsperf's one /24 never reaches, so
# every answer goes through the limiter and the top talkers, and is sent.
corefile yes 24 "responses-per-second 1000
        nodata-per-second 1000
        nxdomains-per-second 1000
        referrals-per-second 1000
        errors-per-second 1000" >"$work/Corefile.perf"
start_server "$work/Corefile.perf" "$work/coredns-perf.log"
perf_run() { # perf_run PAIR polled|quiet
	local poller='' out=$work/dnsperf-$1-$2.txt
	if [ "$2" = polled ]; then
		curl -s --rate 10/s "http://127.0.0.1:$api_port/top?n=10&k=[1-$((perf_s * 10 + 20))]" >/dev/null &
		poller=$!
	fi
	timeout $((perf_s + 20)) dnsperf -s 127.0.0.1 -p $dns_port -d "$root/bench/queries.txt" \
		-l "$perf_s" -c 4 -T 1 -q 100 -t 2 >"$out" 2>&1
	[ -z "$poller" ] || kill "$poller" 2>/dev/null || true
	awk -v p="$1" -v v="$2" '/Queries per second:/ { printf "%s %s %.0f\n", p, v, $4 }' "$out" >>"$res/perf.txt"
	tail -1 "$res/perf.txt" | sed 's/^/  /' >&2
}
for ((p = 1; p <= pairs; p++)); do
	if ((p % 2)); then
		perf_run $p quiet
		perf_run $p polled
	else
		perf_run $p polled
		perf_run $p quiet
	fi
done
stop_server

# --- summary -------------------------------------------------------------------

{
	echo "# The view and control API under load ($mode, $(date -u +%F))"
	echo
	echo "## 1. $sources distinct sources, each its own /32, at $flood_rate q/s for ${flood_s}s"
	echo
	for api in no yes; do
		awk -v a=$api '$1 == "idle" { idle = $2 } $1 == "end" { end = $2 } NF == 1 && $1 > peak { peak = $1 }
			END { printf "- api %s: RSS idle %.1f MiB, peak %.1f MiB, at the end %.1f MiB\n", a, idle / 1024, peak / 1024, end / 1024 }' "$res/rss-$api.txt"
	done
	awk 'FNR == 1 { f++ } f == 1 && NF == 1 && $1 > p1 { p1 = $1 } f == 2 && NF == 1 && $1 > p2 { p2 = $1 }
		END { printf "- peak RSS with the API minus without: %.1f MiB\n", (p2 - p1) / 1024 }' "$res/rss-no.txt" "$res/rss-yes.txt"
	awk '{ n++ } $2 == "127.0.99.1/32" && $3 == "127.0.98.1/32" { ok++; if (!first) first = $1 }
		END { printf "- /top polls: %d; the two heavy sources first, in order: %d (first after %.1f s)\n", n, ok, first }' "$res/top-yes.txt"
	grep -h 'sent' "$work/floodsim-million-yes.txt" | head -3 | sed 's/^/  /' || true
	echo
	echo "Listing latency under the flood (5 requests each): endpoint, median seconds, bytes"
	echo
	sort -k1,1 -k2,2n "$res/latency.txt" | awk '{ v[$1] = v[$1] " " $2; b[$1] = $3 } END { for (e in v) { n = split(v[e], a, " "); printf "- %s: %s s (%d bytes)\n", e, a[int((n + 1) / 2)], b[e] } }'
	echo
	echo "## 2. dnsperf q/s, /top polled every 100 ms vs not ($pairs pairs of ${perf_s}s)"
	echo
	awk '{ q[$1, $2] = $3; pairs[$1] = 1 } END { for (p in pairs) print q[p, "polled"] / q[p, "quiet"] }' "$res/perf.txt" | sort -n |
		awk '{ r[NR] = $1 } END { m = NR % 2 ? r[(NR + 1) / 2] : (r[NR / 2] + r[NR / 2 + 1]) / 2; printf "- median ratio polled/quiet: %.3f (min %.3f, max %.3f, %d pairs)\n", m, r[1], r[NR], NR }'
} >"$res/api.md"
cat "$res/api.md"
