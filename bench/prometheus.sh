#!/usr/bin/env bash
# bench/prometheus.sh - floodguard's alerts and dashboard against a real
# Prometheus server (Debian's prometheus package) scraping a real CoreDNS
# with floodguard, while floodsim plays the single-victim flood.
#
#  1. Quiet: 40 s of a legitimate client alone; no alert may fire.
#  2. Attack: the classic mix (". NS", "example.org ANY", a big TXT) at
#     2,000 q/s from one spoofed /24, for 150 s, with the legitimate client
#     alongside. FloodguardLimiting, FloodguardLimitingCritical and
#     FloodguardBansActive must fire within 2 minutes of the attack's start;
#     FloodguardAbsent, FloodguardTableEvictions, FloodguardBanSurge,
#     FloodguardAmplificationHigh and FloodguardRefusalSpike (which compares
#     with the last hour, and this Prometheus is minutes old) must stay quiet.
#     Every dashboard panel's query must return data.
#  3. After: the alerts that fired must resolve (within 8 minutes: the rules
#     look at 5-minute rates).
# The rules are a copy of deploy/monitoring/floodguard-rules.yaml with every
# `for:` shortened to 30s; the expressions are never changed. A PNG of the
# key series goes to bench/results/prometheus/prometheus.png.
#
# Everything runs in a network namespace of its own (unshare -rn), on
# loopback; about 11 minutes. make monitoring-check runs it. The Corefile
# allows recursion to the legitimate client alone: by default all of
# 127.0.0.0/8 may recurse, and the spoofed ". NS" would not be refused.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "${FLOODGUARD_NETNS:-}" ]; then
	exec env FLOODGUARD_NETNS=1 unshare -rn bash "$0" "$@"
fi
ip link set lo up

res=$root/bench/results/prometheus
work=$root/bench/work/prometheus
rm -rf "$res" "$work"
mkdir -p "$res" "$work"
log() { printf '[prometheus %s] %s\n' "$(date +%T)" "$*" >&2; }
prometheus=$(command -v prometheus || echo /usr/bin/prometheus)
[ -x "$prometheus" ] || {
	echo "prometheus is missing: apt-get install prometheus (with a policy-rc.d that keeps its service from starting)" >&2
	exit 1
}
(cd "$root" && timeout 600 make coredns >&2)
timeout 300 go build -C "$root" -o "$work/floodsim" ./cmd/floodsim
timeout 300 go build -C "$root" -o "$work/promcheck" ./cmd/promcheck

dns_port=1453 metrics_port=9453 prom_port=9490
cat >"$work/Corefile" <<EOF
.:$dns_port {
    bind 127.0.0.1
    floodguard {
        authoritative example.org
        recursion 127.0.99.2/32
        responses-per-second 10
        any-per-minute 4
        ban 100 1s 1m
    }
    prometheus 127.0.0.1:$metrics_port
    file $root/testdata/example.org.zone example.org
}
EOF
sed -E 's/^( +for: ).*/\130s/' "$root/deploy/monitoring/floodguard-rules.yaml" >"$work/rules.yaml"
if ! diff <(grep -v 'for:' "$root/deploy/monitoring/floodguard-rules.yaml") <(grep -v 'for:' "$work/rules.yaml") >/dev/null; then
	echo "the rules copy changed more than for:" >&2
	exit 1
fi
cat >"$work/prometheus.yml" <<EOF
global:
  scrape_interval: 5s
  evaluation_interval: 5s
rule_files:
  - $work/rules.yaml
scrape_configs:
  - job_name: coredns
    static_configs:
      - targets: ['127.0.0.1:$metrics_port']
EOF

pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
}
trap cleanup EXIT
GOMAXPROCS=2 timeout 1200 "$root/coredns" -conf "$work/Corefile" >"$work/coredns.log" 2>&1 &
pids+=($!)
timeout 1200 "$prometheus" --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
	--web.listen-address=127.0.0.1:$prom_port >"$work/prometheus.log" 2>&1 &
pids+=($!)
url=http://127.0.0.1:$prom_port
for ((i = 0; i < 60; i++)); do
	curl -sf "$url/-/ready" >/dev/null && break
	sleep 0.5
done

firing=FloodguardLimiting,FloodguardLimitingCritical,FloodguardBansActive
quiet=FloodguardAbsent,FloodguardTableEvictions,FloodguardBanSurge,FloodguardAmplificationHigh,FloodguardRefusalSpike

log "1. quiet: a legitimate client alone for 40s"
"$work/floodsim" -server 127.0.0.1:$dns_port -rate 1 -duration 40s -legit 127.0.99.2 -legit-rate 10 \
	-source-base 127.0.98.1 >"$work/floodsim-quiet.txt" 2>&1
"$work/promcheck" alerts -url "$url" -quiet "$firing,$quiet" -within 1s | tee "$res/alerts.txt"

log "2. attack: 2,000 q/s from 127.0.1.0/24 for 150s"
"$work/floodsim" -server 127.0.0.1:$dns_port -rate 2000 -duration 150s -sources 1 -source-base 127.0.1.1 \
	-legit 127.0.99.2 -legit-rate 10 >"$work/floodsim-attack.txt" 2>&1 &
attack=$!
pids+=($attack)
"$work/promcheck" alerts -url "$url" -firing "$firing" -quiet "$quiet" -within 2m | tee -a "$res/alerts.txt"
"$work/promcheck" dashboard -url "$url" -dashboard "$root/deploy/monitoring/floodguard-dashboard.json" | tee "$res/dashboard.txt"
wait "$attack" || true
"$work/promcheck" alerts -url "$url" -quiet "$quiet" -within 1s >/dev/null

log "3. after: the alerts must resolve"
"$work/floodsim" -server 127.0.0.1:$dns_port -rate 1 -duration 8m -legit 127.0.99.2 -legit-rate 10 \
	-source-base 127.0.98.1 >"$work/floodsim-after.txt" 2>&1 &
pids+=($!)
"$work/promcheck" resolved -url "$url" -alerts "$firing" -within 8m | tee -a "$res/alerts.txt"
"$work/promcheck" plot -url "$url" -since 12m -png "$res/prometheus.png" >/dev/null
log "done: $res/alerts.txt, $res/dashboard.txt, $res/prometheus.png"
