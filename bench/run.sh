#!/usr/bin/env bash
# bench/run.sh [quick|full] - floodguard's benchmark harness (issue 4).
#
# Four parts, every one bounded in time, all traffic on 127.0.0.0/8:
#   1. Go microbenchmarks of the decision and of the in-process chain.
#   2. Throughput A/B with dnsperf: ./coredns without and with floodguard
#      (limits never reached), alternating A B B A ..., median of pair ratios.
#   3. Reflection attacks with cmd/floodsim against ./coredns (floodguard,
#      responses-per-second 5, slip 2) and against BIND 9 at the same settings.
#   4. Flood cost: CoreDNS CPU per query when floodguard answers every query
#      and when it drops them before the chain.
#   5. Collateral (bench/collateral.sh): real BIND and Unbound resolvers inside
#      the spoofed prefix, answered share and latency beside amplification.
# Results go to bench/results/ (summary.md is the digest); scratch files to
# bench/work/. full takes about 9 minutes, quick about 3.
set -euo pipefail

mode=${1:-full}
case $mode in
full) count=10 pairs=20 perf_s=3 prof_s=6 attack_s=20 short_s=10 cost_s=6 cost_rounds=2 ;;
quick) count=3 pairs=4 perf_s=2 prof_s=3 attack_s=5 short_s=5 cost_s=4 cost_rounds=1 ;;
*)
	echo "usage: $0 [quick|full]" >&2
	exit 2
	;;
esac

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
res=$root/bench/results
work=$root/bench/work
rm -rf "$res" "$work"
mkdir -p "$res" "$work"
started=$(date +%s)
# The machine is shared: the load average before and after tells a reader
# how much else was running.
cut -d' ' -f1-3 /proc/loadavg >"$res/load-start.txt"

# Fixed loopback ports. 5301 and 5304 are the A/B servers (plain and
# floodguard), 5302 BIND, 5303 CoreDNS under attack; 93xx are their
# metrics, 63xx pprof.
ab_port=5301 ab_pprof=6301
fg_port=5304 fg_metrics=9304 fg_pprof=6304
bind_port=5302
rrl_port=5303 rrl_metrics=9303

log() { printf '[%4ds] %s\n' $(($(date +%s) - started)) "$*" >&2; }

# --- tools ------------------------------------------------------------------

apt_updated=
apt_install() {
	[ -n "$apt_updated" ] || { apt-get update -qq && apt_updated=1; }
	# Debian's bind9 package starts a system-wide named (port 53, recursive
	# defaults) unless policy-rc.d forbids it; we only want the binary. In a
	# container without one, forbid service starts for this install only.
	local policy=/usr/sbin/policy-rc.d made=
	if [ ! -e $policy ]; then
		printf '#!/bin/sh\nexit 101\n' >$policy && chmod +x $policy && made=1
	fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2 || { [ -z "$made" ] || rm -f $policy; return 1; }
	[ -z "$made" ] || rm -f $policy
}

command -v dnsperf >/dev/null || apt_install dnsperf
# named is in /usr/sbin, which a non-login PATH may lack.
named=$(command -v named || echo /usr/sbin/named)
[ -x "$named" ] || { apt_install bind9 && named=/usr/sbin/named; }
checkconf=$(command -v named-checkconf || echo /usr/sbin/named-checkconf)
command -v jq >/dev/null || apt_install jq
command -v curl >/dev/null || apt_install curl

gobin=$(go env GOBIN)
gobin=${gobin:-$(go env GOPATH)/bin}
benchstat=$(command -v benchstat || echo "$gobin/benchstat")
if [ ! -x "$benchstat" ]; then
	log "installing benchstat into $gobin"
	GOBIN=$gobin timeout 300 go install golang.org/x/perf/cmd/benchstat@latest || benchstat=
fi

log "building ./coredns and floodsim"
timeout 600 make coredns >&2
timeout 300 go build -o "$res/floodsim" ./cmd/floodsim
cp testdata/example.org.zone "$work/"

# --- servers ----------------------------------------------------------------
# One server at a time, started and stopped by PID. Each runs under timeout
# as a safety net, so even a killed harness leaves nothing running for long.

srv_pid='' srv_wrap=''
plain_pid=''
cleanup() {
	stop_server
	[ -z "$plain_pid" ] || kill -TERM "$plain_pid" 2>/dev/null || true
}
trap cleanup EXIT

# port_busy PORT: is anything bound to UDP PORT? CoreDNS uses SO_REUSEPORT,
# so a leftover server would silently take half the traffic.
port_busy() {
	local hex
	hex=$(printf ':%04X' "$1")
	awk -v p="$hex" 'NR > 1 && substr($2, length($2) - 4) == p { f = 1 } END { exit !f }' /proc/net/udp
}

# wait_answer PORT: poll with single queries until the server answers (10 s).
wait_answer() {
	local i
	printf 'www.example.org A\n' >"$work/one.txt"
	for ((i = 0; i < 40; i++)); do
		if timeout 5 dnsperf -s 127.0.0.1 -p "$1" -d "$work/one.txt" -n 1 -t 1 2>/dev/null |
			grep -q 'Queries completed: *1 '; then
			return 0
		fi
		sleep 0.25
	done
	echo "server on port $1 did not answer" >&2
	return 1
}

# start_coredns COREFILE PORT LIFETIME_S LOG: CoreDNS on 2 cores, run from
# bench/work so that the Corefile's relative zone path resolves.
start_coredns() {
	local conf=$1 port=$2 life=$3 out=$4
	port_busy "$port" && { echo "port $port is already in use" >&2; return 1; }
	rm -f "$work/coredns.pid"
	(cd "$work" && exec env GOMAXPROCS=2 timeout "$life" "$root/coredns" -conf "$conf" \
		-pidfile "$work/coredns.pid") >"$out" 2>&1 &
	srv_wrap=$!
	wait_pidfile "$work/coredns.pid"
	wait_answer "$port"
}

# start_bind CONF LIFETIME_S LOG: named in the foreground (-g) with 2 worker
# threads (-n 2), on one of the configs written in part 3.
start_bind() {
	local conf=$1 life=$2 out=$3
	port_busy $bind_port && { echo "port $bind_port is already in use" >&2; return 1; }
	rm -f "$work/named/named.pid"
	timeout "$life" "$named" -g -n 2 -c "$conf" >"$out" 2>&1 &
	srv_wrap=$!
	wait_pidfile "$work/named/named.pid"
	wait_answer $bind_port
}

wait_pidfile() {
	local i
	for ((i = 0; i < 100; i++)); do
		if [ -s "$1" ]; then
			srv_pid=$(cat "$1")
			return 0
		fi
		kill -0 "$srv_wrap" 2>/dev/null || break
		sleep 0.1
	done
	echo "server did not start (no $1)" >&2
	return 1
}

stop_server() {
	[ -n "$srv_wrap" ] || return 0
	[ -z "$srv_pid" ] || kill -TERM "$srv_pid" 2>/dev/null || true
	local i
	for ((i = 0; i < 50; i++)); do
		kill -0 "$srv_wrap" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$srv_wrap" 2>/dev/null; then
		[ -z "$srv_pid" ] || kill -KILL "$srv_pid" 2>/dev/null || true
	fi
	wait "$srv_wrap" 2>/dev/null || true
	srv_pid='' srv_wrap=''
}

# cpu_ticks PID: utime+stime in clock ticks (fields 14 and 15 of
# /proc/PID/stat, counted after the ")" that ends the command name).
cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }
rss_kb() { awk '$1 == "VmRSS:" { print $2 }' "/proc/$1/status"; }

# metric URL NAME [LABEL_FILTER]: sum of a Prometheus counter's samples.
metric() {
	curl -s --max-time 5 "$1" | awk -v n="$2" -v f="${3:-}" \
		'index($0, n) == 1 && (f == "" || index($0, f)) { s += $NF } END { printf "%d\n", s }'
}

# --- 1. Go microbenchmarks ----------------------------------------------------

log "part 1: Go benchmarks, $count rounds"
# One test binary, run $count times with -test.count 1 rather than once with
# -count $count: on a noisy machine a slow spell then hits every benchmark
# alike instead of all runs of one, and each round's 1-core and 2-core runs
# of the parallel benchmark sit side by side for the speed-up ratio.
timeout 600 go test -c -o "$work/floodguard.test" .
: >"$res/micro.txt"
: >"$res/micro-parallel.txt"
# Half-second benchmarks: ten rounds of every one fit in about 90 s.
for ((i = 1; i <= count; i++)); do
	timeout 300 "$work/floodguard.test" -test.run '^$' -test.bench . -test.benchmem \
		-test.benchtime 500ms -test.count 1 >>"$res/micro.txt"
	timeout 120 "$work/floodguard.test" -test.run '^$' -test.bench 'DecideAllowParallel(Disjoint)?$' \
		-test.benchmem -test.benchtime 500ms -test.count 1 -test.cpu 1,2 >>"$res/micro-parallel.txt"
done
if [ -n "$benchstat" ]; then
	(
		cd "$res" # short file names in benchstat's column headers
		"$benchstat" micro.txt
		echo
		"$benchstat" micro-parallel.txt
	) >"$res/micro-benchstat.txt" 2>&1
else
	echo "benchstat could not be installed: raw numbers in micro.txt and micro-parallel.txt" \
		>"$res/micro-benchstat.txt"
fi
# An in-process CPU profile of the chain benchmark: where floodguard's
# nanoseconds go, without CoreDNS's server or the kernel in the way.
timeout 120 "$work/floodguard.test" -test.run '^$' -test.bench 'ChainFloodguard$' \
	-test.benchtime 3s -test.cpuprofile "$work/chain.prof" >/dev/null
go tool pprof -top -nodecount 30 "$work/floodguard.test" "$work/chain.prof" \
	>"$res/profile-chain.txt" 2>/dev/null || true

# medians FILE: "name ns/op B/op allocs/op" medians per benchmark; names keep
# their -N GOMAXPROCS suffix (none at 1 core).
medians() {
	awk '/^Benchmark/ { for (i = 3; i < NF; i++) v[$1, $(i + 1)] = v[$1, $(i + 1)] " " $i; n[$1] = 1 }
	function med(s,   a, k, i, j, t) {
		k = split(s, a, " ")
		for (i = 2; i <= k; i++) for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
		return k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
	}
	END { for (b in n) printf "%s %s %s %s\n", b, med(v[b, "ns/op"]), med(v[b, "B/op"]), med(v[b, "allocs/op"]) }' "$1" | sort
}
medians "$res/micro.txt" >"$res/micro-medians.txt"
medians "$res/micro-parallel.txt" >"$res/micro-parallel-medians.txt"

# --- 2. throughput A/B ----------------------------------------------------------

# Both servers run side by side for the whole A/B, idle but for the run at
# hand, and the runs alternate A B B A ... a few seconds apart: the shared
# machine's speed drifts over tens of seconds, so the closer in time the two
# runs of a pair, the less of that drift is in their ratio.
# ab_run PAIR VARIANT: one dnsperf run: 4 clients (source ports of
# 127.0.0.1), one thread, at most 100 queries outstanding (closed loop, so it
# measures the most the pair of cores gives). Appends a line to ab.txt:
# pair variant qps completed lost server_cpu_ticks.
ab_run() {
	local pair=$1 variant=$2 t0 t1 pid port out=$work/dnsperf-$1-$2.txt
	if [ "$variant" = plain ]; then pid=$plain_pid port=$ab_port; else pid=$fg_pid port=$fg_port; fi
	t0=$(cpu_ticks "$pid")
	timeout $((perf_s + 20)) dnsperf -s 127.0.0.1 -p "$port" -d bench/queries.txt \
		-l "$perf_s" -c 4 -T 1 -q 100 -t 2 >"$out" 2>&1
	t1=$(cpu_ticks "$pid")
	awk -v p="$pair" -v v="$variant" -v c=$((t1 - t0)) '
		/Queries completed:/ { done = $3 } /Queries lost:/ { lost = $3 }
		/Queries per second:/ { qps = $4 }
		END { printf "%s %s %.0f %d %d %d\n", p, v, qps, done, lost, c }' "$out" >>"$res/ab.txt"
	tail -1 "$res/ab.txt" | sed 's/^/  /' >&2
}

# profile VARIANT PID PPROF_PORT DNS_PORT: a CPU profile of one server under
# the same load, in a run of its own (the profiler costs a little) that is
# not part of the A/B: the plain one shows what is CoreDNS's own cost.
profile() {
	local v=$1 pid=$2 pprof=$3 port=$4
	timeout 40 dnsperf -s 127.0.0.1 -p "$port" -d bench/queries.txt \
		-l $((prof_s + 2)) -c 4 -T 1 -q 100 -t 2 >"$work/dnsperf-prof-$v.txt" 2>&1 &
	local perf_job=$!
	sleep 1
	curl -s --max-time $((prof_s + 10)) -o "$work/coredns-$v.prof" \
		"http://127.0.0.1:$pprof/debug/pprof/profile?seconds=$prof_s" || true
	wait $perf_job || true
	{
		echo "# flat: the function itself; cum: with its callees"
		go tool pprof -top -nodecount 25 "$root/coredns" "$work/coredns-$v.prof" 2>/dev/null || true
		echo
		echo "# selected frames by cum: the per-query goroutine, its stack growth, floodguard"
		go tool pprof -top -cum -nodecount 500 "$root/coredns" "$work/coredns-$v.prof" 2>/dev/null |
			grep -E 'flat%|serveUDPPacket|newstack|copystack|floodguard|metrics.\(\*Metrics\).ServeDNS|file.File.ServeDNS|gcBgMarkWorker$' || true
	} >"$res/profile-coredns-$v.txt"
}

log "part 2: dnsperf A/B, $pairs pairs of ${perf_s}s"
ab_life=$((pairs * 2 * (perf_s + 5) + 4 * prof_s + 120))
start_coredns "$root/bench/Corefile.plain" $ab_port $ab_life "$work/coredns-ab-plain.log"
plain_pid=$srv_pid plain_wrap=$srv_wrap
start_coredns "$root/bench/Corefile.floodguard" $fg_port $ab_life "$work/coredns-ab-floodguard.log"
fg_pid=$srv_pid fg_wrap=$srv_wrap
: >"$res/ab.txt"
for ((p = 1; p <= pairs; p++)); do
	if ((p % 2)); then order="plain floodguard"; else order="floodguard plain"; fi
	for v in $order; do ab_run "$p" "$v"; done
done
# The limits were never reached: nothing dropped or slipped in the whole A/B.
m=http://127.0.0.1:$fg_metrics/metrics
echo "$(metric $m coredns_floodguard_responses_total 'action="dropped"')" \
	"$(metric $m coredns_floodguard_responses_total 'action="slipped"')" >"$res/ab-limited.txt"

log "part 2b: pprof of CoreDNS under dnsperf, plain and floodguard"
profile plain "$plain_pid" $ab_pprof $ab_port
profile floodguard "$fg_pid" $fg_pprof $fg_port
stop_server # the floodguard server, the latest started
srv_pid=$plain_pid srv_wrap=$plain_wrap plain_pid=''
stop_server

# --- 3. reflection attacks --------------------------------------------------------

# BIND 9 at the same allowance as Corefile.rrl5, authoritative only, on
# loopback only, sending nothing anywhere else: no recursion, no NOTIFY, no
# transfers, no DNSSEC trust-anchor fetches, no rndc channel.
mkdir -p "$work/named"
cp testdata/example.org.zone "$work/named/"
# write_named_conf FILE [RATE_LIMIT_EXTRA]
write_named_conf() {
	cat >"$1" <<EOF
options {
    directory "$work/named";
    pid-file "$work/named/named.pid";
    session-keyfile "$work/named/session.key";
    managed-keys-directory "$work/named";
    listen-on port $bind_port { 127.0.0.1; };
    listen-on-v6 { none; };
    recursion no;
    notify no;
    allow-transfer { none; };
    dnssec-validation no;
    minimal-any yes;
    rate-limit {
        responses-per-second 5;
        slip 2;
        window 15;${2:-}
    };
};
controls { };
zone "example.org" {
    type primary;
    file "example.org.zone";
};
EOF
	"$checkconf" -z "$1" >&2
}
write_named_conf "$work/named/named.conf"
# Each IPv4 address its own client, as Corefile.rrl5-p32.
write_named_conf "$work/named/named-p32.conf" "
        ipv4-prefix-length 32;"

# What every attack shares: the issue's mix (". NS", "example.org ANY", the
# big TXT with EDNS 4096) and a legitimate client asking four names at
# 10 q/s in all (2.5/s a name, under the 5/s allowance).
common=(-mix "root,any,txt" -zone example.org. -txt-name big.example.org.
	-legit-names "www.example.org.,example.org.,mail.example.org.,ns1.example.org." -legit-rate 10)

# attack SCENARIO SERVER FLOODSIM_ARGS...: one floodsim run against a fresh
# server. SERVER is coredns (Corefile.rrl5), coredns-p32 (Corefile.rrl5-p32),
# coredns-rec (Corefile.recommended) or bind. The run lasts $dur_override
# seconds if set, else $attack_s. With steady=1, a second floodsim plays a
# steady attacker (one address, 127.0.2.1, at 500 q/s) alongside, into
# SCENARIO-SERVER-steady.{json,txt}. Writes SCENARIO-SERVER.{json,png,csv,txt}
# and a line of server-side facts to attacks.txt.
attack() {
	local sc=$1 server=$2 port
	shift 2
	local dur=${dur_override:-$attack_s}
	local life=$((dur + 60)) base=$res/$sc-$server
	case $server in
	coredns) start_coredns "$root/bench/Corefile.rrl5" $rrl_port $life "$work/$sc-$server.log" ;;
	coredns-p32) start_coredns "$root/bench/Corefile.rrl5-p32" $rrl_port $life "$work/$sc-$server.log" ;;
	coredns-rec) start_coredns "$root/bench/Corefile.recommended" $rrl_port $life "$work/$sc-$server.log" ;;
	bind) start_bind "$work/named/named.conf" $life "$work/$sc-$server.log" ;;
	bind-p32) start_bind "$work/named/named-p32.conf" $life "$work/$sc-$server.log" ;;
	esac
	case $server in bind*) port=$bind_port ;; *) port=$rrl_port ;; esac
	local idle steady_job=
	idle=$(rss_kb "$srv_pid")
	if [ "${steady:-}" = 1 ]; then
		timeout $((dur + 30)) "$res/floodsim" -server 127.0.0.1:$port -duration "${dur}s" \
			-rate 500 -sources 1 -source-base 127.0.2.1 -legit '' -mix root,any,txt \
			-json "$base-steady.json" >"$base-steady.txt" &
		steady_job=$!
	fi
	timeout $((dur + 30)) "$res/floodsim" -server 127.0.0.1:$port -duration "${dur}s" \
		-pid "$srv_pid" "${common[@]}" "$@" -json "$base.json" -png "$base.png" -csv "$base.csv" >"$base.txt"
	[ -z "$steady_job" ] || wait "$steady_job"
	local entries=- evictions=- dropped=- slipped=-
	if [ "${server#bind}" = "$server" ]; then
		local m=http://127.0.0.1:$rrl_metrics/metrics
		entries=$(metric $m coredns_floodguard_table_entries)
		evictions=$(metric $m coredns_floodguard_table_evictions_total)
		dropped=$(metric $m coredns_floodguard_responses_total 'action="dropped"')
		slipped=$(metric $m coredns_floodguard_responses_total 'action="slipped"')
	fi
	stop_server
	echo "$sc $server $idle $entries $evictions $dropped $slipped" >>"$res/attacks.txt"
	sed -n 2,5p "$base.txt" | sed "s/^/  $sc $server: /" >&2
}

log "part 3: reflection attacks, ${attack_s}s each"
: >"$res/attacks.txt"
# The classic case: one victim address, 2000 q/s for 20 s; the legitimate
# client on another /24. coredns-rec is README's recommended setup, bans
# included.
for s in coredns coredns-rec bind; do
	attack single "$s" -rate 2000 -sources 1 -source-base 127.0.1.1 -legit 127.0.99.2
done
# 10,000 rotating victims (127.1.0.1 up: 40 /24s), the legitimate client
# elsewhere.
for s in coredns bind; do
	dur_override=$short_s attack rot10k "$s" -rate 2000 -sources 10000 -source-base 127.1.0.1 -legit 127.0.99.2
done
# 1,000,000 distinct victims (127.16.0.1 up), each sending once: 15,000 q/s
# for 67 s, with a steady attacker alongside that must stay limited. Both
# servers count each address as its own client (/32), so their tables are
# under pressure (floodguard's 262,144 slots, BIND's max-table-size of
# 20,000). Each source gets an answer, so CoreDNS answers every query: 15,000
# q/s is what this machine absorbs with floodsim on the same two cores (at
# 25,000 the socket buffer overflowed and in-flight goroutines swelled the
# RSS). Full mode only.
if [ "$mode" = full ]; then
	for s in coredns-p32 bind-p32; do
		steady=1 dur_override=67 attack rot1m "$s" -rate 15000 -sources 1000000 -source-base 127.16.0.1 -legit 127.0.99.2
	done
fi
# The legitimate client inside the victim's /24.
for s in coredns bind; do
	dur_override=$short_s attack sameprefix "$s" -rate 2000 -sources 1 -source-base 127.0.1.1 -legit 127.0.1.200
done

# --- 4. flood cost ------------------------------------------------------------------

# cost_run VARIANT ROUND: floodsim asks www.example.org A from 1,000
# addresses (127.2.0.1 up, four /24s) at 10,000 q/s, open loop, against
# bench/Corefile.cost-VARIANT. Appends "variant round sent replies tc
# cpu_s kernel_drops" to cost.txt.
cost_run() {
	local v=$1 round=$2 out=$res/cost-$1-$2
	start_coredns "$root/bench/Corefile.cost-$v" $rrl_port $((cost_s + 60)) "$work/cost-$v-$round.log"
	timeout $((cost_s + 30)) "$res/floodsim" -server 127.0.0.1:$rrl_port -duration "${cost_s}s" \
		-rate 10000 -sources 1000 -source-base 127.2.0.1 -mix a -legit '' -pid "$srv_pid" \
		-json "$out.json" >"$out.txt"
	stop_server
	jq -r --arg v "$v" --arg r "$round" \
		'"\($v) \($r) \(.attack_sent) \(.attack_replies) \(.attack_tc) \(.server_cpu_s) \(.server_udp_drops // 0)"' \
		"$out.json" >>"$res/cost.txt"
	tail -1 "$res/cost.txt" | sed 's/^/  /' >&2
}

log "part 4: flood cost, $cost_rounds rounds of ${cost_s}s"
: >"$res/cost.txt"
for ((r = 1; r <= cost_rounds; r++)); do
	for v in answered qps banned; do cost_run "$v" "$r"; done
done

# --- 5. collateral ------------------------------------------------------------------

# Real resolvers inside the spoofed prefix, in a network namespace of their
# own (bench/collateral.sh; about 7 minutes in full, 3 quick).
log "part 5: collateral"
[ -x "$(command -v unbound || echo /usr/sbin/unbound)" ] || apt_install unbound
command -v dig >/dev/null || apt_install bind9-dnsutils
timeout 1200 bash "$root/bench/collateral.sh" "$mode" >&2 || log "part 5 failed: see bench/results/collateral"

# The plot BENCHMARKS.md shows (committed): only a full run replaces it.
if [ "$mode" = full ]; then
	mkdir -p bench/plots
	cp "$res/single-coredns.png" bench/plots/single-victim-floodguard.png
fi

# --- summary ------------------------------------------------------------------------

cut -d' ' -f1-3 /proc/loadavg >"$res/load-end.txt"
log "writing $res/summary.md"
bash "$root/bench/summary.sh" "$mode" "$res" >"$res/summary.md"
log "done in $(($(date +%s) - started))s"
cat "$res/summary.md"
