#!/usr/bin/env bash
# Writes bench/queries.txt, the fixed dnsperf query file (committed; run this
# only to change it). Every line is a distinct bucket of floodguard's table,
# so that at limits of 1000/s nothing is limited (see Corefile.floodguard):
#   - the zone's own names and types: positive answers and NODATA;
#   - names under *.wild: positive A answers (wildcard), and NODATA for the
#     other types on other names (NODATA is keyed by name, any type);
#   - 1% NXDOMAIN (one bucket per zone) and 1% referrals into sub.
# Lines are interleaved, not grouped, so every second of a run has the mix.
set -euo pipefail
out="$(dirname "$0")/queries.txt"

static=(
  "example.org SOA" "example.org NS" "example.org A" "example.org MX"
  "example.org TXT" "example.org AAAA" "www.example.org A" "www.example.org AAAA"
  "www.example.org TXT" "mail.example.org A" "mail.example.org MX" "ns1.example.org A"
  "ns2.example.org A" "ns1.example.org AAAA" "alias.example.org A" "alias.example.org AAAA"
)
nodata_types=(AAAA TXT MX)
nx_types=(A AAAA MX TXT)

{
  s=0 d=0 x=0
  for ((i = 0; i < 1800; i++)); do
    printf 'w%04d.wild.example.org A\n' "$i"
    if ((i % 3 == 0)); then # 600 NODATA lines, a fresh name each
      printf 'd%04d.wild.example.org %s\n' "$d" "${nodata_types[d % 3]}"
      d=$((d + 1))
    fi
    if ((i % 72 == 36)); then # 25 NXDOMAIN and 25 referral lines
      printf 'nx%02d.example.org %s\n' "$x" "${nx_types[x % 4]}"
      printf 'h%02d.sub.example.org A\n' "$x"
      x=$((x + 1))
    fi
    if ((i % 112 == 0 && s < ${#static[@]})); then
      echo "${static[s]}"
      s=$((s + 1))
    fi
  done
} >"$out"
echo "wrote $(wc -l <"$out") queries, $(sort -u "$out" | wc -l) distinct, to $out"
