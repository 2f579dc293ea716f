GO      ?= go
PKGS     = $(shell $(GO) list ./... | grep -v /cmd/coredns)

.PHONY: all coredns fgreplay run test fmt fuzz bench bench-quick bench-replay stress monitoring-check image

all: coredns

# CoreDNS with every standard plugin and floodguard compiled in.
coredns:
	$(GO) build -o coredns ./cmd/coredns

# fgreplay: replay a capture through a Corefile (README.md, "Replay a
# capture"). cmd/fgreplay is a module of its own, so the capture reader
# never enters floodguard's go.mod.
fgreplay:
	cd cmd/fgreplay && $(GO) build -o ../../fgreplay .

# Serve testdata/Corefile: example.org on 127.0.0.1:1053, metrics on 127.0.0.1:9153.
run: coredns
	./coredns -conf testdata/Corefile

# The whole suite under the race detector. cmd/coredns links every CoreDNS
# plugin, so it is only build-checked (without -race) to keep CI quick.
test:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) test -race -count=1 $(PKGS)
	$(MAKE) --no-print-directory fuzz FUZZTIME=30000x
	$(GO) build -o /dev/null ./cmd/coredns
	cd deploy && $(GO) vet ./... && $(GO) test -count=1 ./...
	cd cmd/fgreplay && $(GO) vet ./... && $(GO) test -race -count=1 ./...

# Fuzz each target in turn (go test -fuzz takes one target at a time). A
# crasher is saved under testdata/fuzz/<target>/ and fails `go test` from
# then on, until it is fixed. FUZZTIME is a count of executions, not a
# duration: Go 1.26's fuzz coordinator can fail a duration-bounded run with
# "context deadline exceeded" and no crasher when the time runs out
# (golang/go#75804, fixed in Go 1.27); a count never hits that race.
FUZZTIME ?= 300000x
FUZZ_TARGETS = .:FuzzServeDNS .:FuzzParse .:FuzzAPI ./internal/prefixlist:FuzzParse \
	./cmd/fgreplay:FuzzDecode ./cmd/fgreplay:FuzzCapture

# A target in a nested module (cmd/fgreplay) is fuzzed from its directory.
fuzz:
	@for pt in $(FUZZ_TARGETS); do \
	  pkg=$${pt%%:*}; t=$${pt#*:}; dir=.; \
	  if [ -f $$pkg/go.mod ]; then dir=$$pkg; pkg=.; fi; \
	  echo "fuzzing $$pkg $$t for $(FUZZTIME) executions"; \
	  (cd $$dir && $(GO) test -run '^$$' -fuzz "^$$t\$$" -fuzztime $(FUZZTIME) $$pkg) || exit 1; \
	done

fmt:
	gofmt -w $$(git ls-files '*.go')

# Every limit against floods from one prefix over several sockets, on the
# real clock, with the server's goroutines on every core: 20 floods of 2 s
# each (about 5 minutes). make test runs 3 of 1.5 s.
stress:
	FLOODGUARD_FLOOD_RUNS=20 FLOODGUARD_FLOOD_SECONDS=2 $(GO) test -race -count=1 -timeout 20m -run '^TestE2ELimitsUnderConcurrency$$' -v .

# The load and reflection harness (bench/run.sh): Go benchmarks, dnsperf A/B
# and floodsim attacks against ./coredns and BIND on loopback. Installs
# dnsperf, bind9 and benchstat when missing. Results in bench/results/.
bench:
	bash bench/run.sh full

bench-quick:
	bash bench/run.sh quick

# fgreplay's speed and agreement figures (bench/replay.sh, BENCHMARKS.md
# section 8): a 1,000,000-query capture replayed, timed, with its peak RSS;
# and the agreement test's live runs, logged.
bench-replay:
	bash bench/replay.sh

# The alerting rules and the dashboard against a real Prometheus (Debian's
# prometheus package) scraping ./coredns under floodsim's single-victim
# flood: the expected alerts fire within 2 minutes and resolve after, the
# quiet ones stay quiet, every panel has data (bench/prometheus.sh, about
# 11 minutes). make test runs the rules' promtool unit tests.
monitoring-check:
	bash bench/prometheus.sh

# The container image, built without Docker: the static coredns with
# floodguard, user 65532, cap_net_bind_service, as a docker-archive tarball
# (docker load -i, podman load -i, ctr image import). deploy/ is a module
# of its own, so the image library never enters floodguard's go.mod.
IMAGE_TAG ?= dev
CERTS     ?= $(wildcard /etc/ssl/certs/ca-certificates.crt)
image:
	CGO_ENABLED=0 $(GO) build -trimpath -o build/coredns ./cmd/coredns
	cd deploy && $(GO) run ./cmd/mkimage -binary ../build/coredns -certs '$(CERTS)' \
	  -tag floodguard/coredns:$(IMAGE_TAG) -out ../floodguard-coredns.tar
