#!/usr/bin/env bash
# fgreplay's figures (BENCHMARKS.md section 8):
#  1. speed: a 1,000,000-query capture (written by the test
#     TestMakeBenchCapture: a single-victim reflection flood, a
#     random-source flood and a real client, 100 s of capture time, with
#     the responses plain CoreDNS gave) replayed through the issue's
#     Corefile, timed, with fgreplay's peak RSS (GNU time);
#  2. agreement: the test TestAgreementWithLiveTraffic, which captures
#     floodsim's single-victim attack with tcpdump on loopback against
#     plain CoreDNS and against floodguard, and compares the replay with
#     the live run; its figures are logged.
# It sends nothing: the replay never does, and the live runs of the test
# stay on 127.0.0.1. Results go to bench/results/replay-*.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
out="$root/bench/results"
mkdir -p "$out"
command -v /usr/bin/time >/dev/null || { echo "bench/replay.sh needs GNU time (apt-get install time)"; exit 1; }

(cd "$root/cmd/fgreplay" && go build -o "$work/fgreplay" .)
(cd "$root/cmd/fgreplay" && FGREPLAY_BENCH_CAPTURE="$work/bench1m.pcap" go test -count=1 -run '^TestMakeBenchCapture$' . >/dev/null)
sed -e 's/PORT/5300/' -e "s|ZONEFILE|$root/testdata/example.org.zone|" \
	"$root/cmd/fgreplay/testdata/agreement.Corefile" >"$work/Corefile"
echo "capture: $(du -h "$work/bench1m.pcap" | cut -f1), 1,000,000 queries and their responses"
for run in 1 2 3; do
	/usr/bin/time -f "%e s elapsed, %M KiB peak RSS" -o "$work/time.txt" \
		"$work/fgreplay" -json -conf "$work/Corefile" -legit 127.77.0.0/24 "$work/bench1m.pcap" >"$work/report.json"
	printf 'run %d: %s; replay %s\n' "$run" "$(cat "$work/time.txt")" \
		"$(jq -r '"\(.replay.queries_per_second | floor) q/s, amplification \(.amplification * 1000 | round / 1000) (captured \(.captured_amplification * 100 | round / 100)), top \(.top[0].prefix), table peak \(.table.peak_entries) of \(.table.size)"' "$work/report.json")"
done | tee "$out/replay-speed.txt"
cp "$work/report.json" "$out/replay-1m.json"
"$work/fgreplay" -conf "$work/Corefile" -legit 127.77.0.0/24 -plot "$root/bench/plots/replay-1m.png" "$work/bench1m.pcap" >"$out/replay-1m.txt"

(cd "$root/cmd/fgreplay" && go test -count=1 -v -run '^TestAgreementWithLiveTraffic$' . 2>&1) | grep -E 'agreement_test|--- ' | tee "$out/replay-agreement.txt"
