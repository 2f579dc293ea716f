GO      ?= go
PKGS     = $(shell $(GO) list ./... | grep -v /cmd/coredns)

.PHONY: all coredns run test fmt

all: coredns

# CoreDNS with every standard plugin and floodguard compiled in.
coredns:
	$(GO) build -o coredns ./cmd/coredns

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
	$(GO) build -o /dev/null ./cmd/coredns

fmt:
	gofmt -w $$(git ls-files '*.go')
