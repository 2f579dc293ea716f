#!/usr/bin/env bash
# bench/collateral.sh [quick|full] - what a protection does to the innocent.
#
# A spoofed flood carries somebody else's address. Here the victim's /24
# (127.0.1.0/24) holds two real recursive resolvers, whose queries to the
# server leave from inside it: BIND's named (sends DNS cookies) at
# 127.0.1.53 and Unbound (does not) at 127.0.1.54. While floodsim floods
# the server from the victim 127.0.1.1, resolverprobe asks each resolver
# 10 lookups a second for random names under a wildcard the attack never
# touches (wild2.example.org), and every fifth lookup named is also asked
# the very name and type the attack floods (big.example.org TXT); floodsim's
# own legitimate client asks from outside the prefix. The resolvers cache
# nothing, so every lookup reaches the server.
#
# Servers: floodguard as BIND is usually set (rps 5, slip 2), the same with
# queries-per-second 100 200, floodguard as README recommends for the
# internet, and BIND 9 at rps 5 slip 2.
# Attacks, 2000 q/s: the classic mix (". NS", "example.org ANY", a big TXT
# with EDNS 4096); the mix plus random names under *.wild and random
# NXDOMAIN names; the mix with a random client cookie in every query.
#
# Everything runs in a network namespace of its own (unshare -rn): the
# resolvers cannot reach anything but loopback, whatever they try.
# Results: bench/results/collateral/ (collateral.md is the table).
set -euo pipefail

mode=${1:-full}
case $mode in
full) attack_s=26 probe_s=20 ;;
quick) attack_s=12 probe_s=8 ;;
*)
	echo "usage: $0 [quick|full]" >&2
	exit 2
	;;
esac

root=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "${FLOODGUARD_NETNS:-}" ]; then
	# Into a network namespace of our own, where only loopback exists.
	exec env FLOODGUARD_NETNS=1 unshare -rn bash "$0" "$@"
fi
ip link set lo up

res=$root/bench/results/collateral
work=$root/bench/work/collateral
rm -rf "$res" "$work"
mkdir -p "$res" "$work"
log() { printf '[collateral %s] %s\n' "$(date +%T)" "$*" >&2; }

named=$(command -v named || echo /usr/sbin/named)
unbound=$(command -v unbound || echo /usr/sbin/unbound)
for tool in "$named" "$unbound"; do
	[ -x "$tool" ] || {
		echo "$tool is missing: apt-get install bind9 unbound" >&2
		exit 1
	}
done
(cd "$root" && timeout 600 make coredns >&2)
timeout 300 go build -C "$root" -o "$work/floodsim" ./cmd/floodsim
timeout 300 go build -C "$root" -o "$work/resolverprobe" ./cmd/resolverprobe
cp "$root/testdata/example.org.zone" "$work/"

auth=5320 auth_metrics=9320 named_port=5401 unbound_port=5402 nowhere=5399
victim=127.0.1.1 named_src=127.0.1.53 unbound_src=127.0.1.54

pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	pids=()
}
trap cleanup EXIT

# Corefiles: the bench's own, on the collateral ports.
for c in rrl5 qps recommended; do
	sed -e "s/:5303/:$auth/; s/127.0.0.1:9303/127.0.0.1:$auth_metrics/" "$root/bench/Corefile.$c" >"$work/Corefile.$c"
done

# BIND as the authoritative server, at BIND's usual rate limit.
mkdir -p "$work/auth"
cp "$root/testdata/example.org.zone" "$work/auth/"
cat >"$work/auth/named.conf" <<EOF
options {
    directory "$work/auth";
    pid-file "$work/auth/named.pid";
    session-keyfile "$work/auth/session.key";
    managed-keys-directory "$work/auth";
    listen-on port $auth { 127.0.0.1; };
    listen-on-v6 { none; };
    recursion no;
    notify no;
    allow-transfer { none; };
    dnssec-validation no;
    minimal-any yes;
    rate-limit { responses-per-second 5; slip 2; window 15; };
};
controls { };
zone "example.org" { type primary; file "example.org.zone"; };
EOF

# The resolvers: forward example.org to the server, everything else to a
# loopback port where nothing listens; cache nothing.
mkdir -p "$work/resolver"
cat >"$work/resolver/named.conf" <<EOF
options {
    directory "$work/resolver";
    pid-file "$work/resolver/named.pid";
    session-keyfile "$work/resolver/session.key";
    managed-keys-directory "$work/resolver";
    listen-on port $named_port { 127.0.0.1; };
    listen-on-v6 { none; };
    query-source address $named_src;
    recursion yes;
    allow-query { 127.0.0.0/8; };
    dnssec-validation no;
    notify no;
    max-cache-ttl 0;
    max-ncache-ttl 0;
    forward only;
    forwarders { 127.0.0.1 port $nowhere; };
};
controls { };
zone "example.org" { type forward; forward only; forwarders { 127.0.0.1 port $auth; }; };
EOF
cat >"$work/resolver/unbound.conf" <<EOF
server:
    interface: 127.0.0.1@$unbound_port
    port: $unbound_port
    do-ip6: no
    outgoing-interface: $unbound_src
    do-not-query-localhost: no
    module-config: "iterator"
    username: ""
    chroot: ""
    directory: "$work/resolver"
    pidfile: "$work/resolver/unbound.pid"
    use-syslog: no
    verbosity: 0
    access-control: 127.0.0.0/8 allow
    cache-max-ttl: 0
    cache-max-negative-ttl: 0
    qname-minimisation: no
forward-zone:
    name: "example.org"
    forward-addr: 127.0.0.1@$auth
forward-zone:
    name: "."
    forward-addr: 127.0.0.1@$nowhere
EOF

# answers PORT: is anything answering www.example.org there (10 s)?
answers() {
	local i
	for ((i = 0; i < 40; i++)); do
		if dig +short +tries=1 +time=1 -p "$1" @127.0.0.1 www.example.org A >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.25
	done
	echo "nothing answers on port $1" >&2
	return 1
}

start_auth() {
	case $1 in
	bind) timeout $((attack_s + 60)) "$named" -g -n 2 -c "$work/auth/named.conf" >"$work/auth-$1.log" 2>&1 & ;;
	*) (cd "$work" && exec env GOMAXPROCS=2 timeout $((attack_s + 60)) "$root/coredns" -conf "$work/Corefile.${1#floodguard-}") >"$work/auth-$1.log" 2>&1 & ;;
	esac
	pids+=($!)
	answers $auth
}

start_resolvers() {
	rm -f "$work/resolver/named.pid" "$work/resolver/unbound.pid"
	timeout $((attack_s + 60)) "$named" -g -n 2 -c "$work/resolver/named.conf" >"$work/resolver-named.log" 2>&1 &
	pids+=($!)
	timeout $((attack_s + 60)) "$unbound" -d -c "$work/resolver/unbound.conf" >"$work/resolver-unbound.log" 2>&1 &
	pids+=($!)
	answers $named_port
	answers $unbound_port
}

# run SERVER ATTACK FLOODSIM_ARGS...: one attack, both resolvers probed.
run() {
	local server=$1 attack=$2 base=$res/$1-$2
	shift 2
	log "$server, $attack"
	start_auth "$server"
	timeout $((attack_s + 30)) "$work/floodsim" -server 127.0.0.1:$auth -duration "${attack_s}s" -rate 2000 \
		-sources 1 -source-base $victim -legit 127.0.99.2 -legit-rate 10 \
		-legit-names "www.example.org.,example.org.,mail.example.org.,ns1.example.org." \
		-zone example.org. -txt-name big.example.org. "$@" -json "$base-attack.json" >"$base-attack.txt" &
	local flood=$!
	sleep 2 # the flood in full swing, bans and all
	# The resolvers start now: their first contact with the server, and the
	# DNS cookie BIND's learns, happen under the flood.
	start_resolvers
	timeout $((probe_s + 30)) "$work/resolverprobe" -resolver 127.0.0.1:$named_port -from 127.0.0.3 \
		-suffix wild2.example.org -also big.example.org/TXT -every 5 -rate 10 -duration "${probe_s}s" \
		-json "$base-named.json" >"$base-named.txt" &
	local probe1=$!
	timeout $((probe_s + 30)) "$work/resolverprobe" -resolver 127.0.0.1:$unbound_port -from 127.0.0.4 \
		-suffix wild2.example.org -rate 10 -duration "${probe_s}s" \
		-json "$base-unbound.json" >"$base-unbound.txt"
	wait $probe1 $flood
	cleanup
	sed 's/^/    named:   /' "$base-named.txt" >&2
	sed 's/^/    unbound: /' "$base-unbound.txt" >&2
}

attacks=(classic random cookies)
attack_args() {
	case $1 in
	classic) echo "-mix root,any,txt" ;;
	random) echo "-mix root,any,txt,wild,nx -wild wild.example.org." ;;
	cookies) echo "-mix root,any,txt -cookies" ;;
	esac
}
servers=(floodguard-rrl5 floodguard-qps floodguard-recommended bind)
for server in "${servers[@]}"; do
	for attack in "${attacks[@]}"; do
		# shellcheck disable=SC2046 # the arguments are words
		run "$server" "$attack" $(attack_args "$attack")
	done
done

# The table.
{
	echo "| server | attack | amplification | legit outside | BIND resolver (cookies): answered, p50 | of which the attacked name | Unbound (no cookies): answered, p50 |"
	echo "|---|---|---:|---:|---:|---:|---:|"
	for server in "${servers[@]}"; do
		for attack in "${attacks[@]}"; do
			b=$res/$server-$attack
			amp=$(jq -r '.amplification' "$b-attack.json")
			legit=$(jq -r '"\(.legit_answered)/\(.legit_queries)"' "$b-attack.json")
			nm=$(jq -r '"\(.answered)/\(.lookups) (\(.answered_share*100|floor) %), \(.latency_p50_ms|floor) ms"' "$b-named.json")
			also=$(jq -r '"\(.also_answered)/\(.also_lookups)"' "$b-named.json")
			ub=$(jq -r '"\(.answered)/\(.lookups) (\(.answered_share*100|floor) %), \(.latency_p50_ms|floor) ms"' "$b-unbound.json")
			printf '| %s | %s | %.4f | %s | %s | %s | %s |\n' "$server" "$attack" "$amp" "$legit" "$nm" "$also" "$ub"
		done
	done
} >"$res/collateral.md"
cat "$res/collateral.md"
