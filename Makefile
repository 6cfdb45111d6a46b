# fabsync — the targets CI and newcomers use. `make run` and `make test` are the two that matter.
GO      ?= go
export PATH := $(PATH):/usr/local/go/bin

.PHONY: run test test-short test-faults fmt vet lint golden bench build fuzz clean

## run: dev mode — the whole system in one process (embedded Redis, demo fabric) at http://127.0.0.1:8080
run:
	$(GO) run ./cmd/dev

## test: formatting, vet, then every test with the race detector (needs redis-server and git)
test: fmt vet
	$(GO) test -race -count=1 -timeout 20m ./...

## test-faults: only the fault tests (real worker processes killed mid-push, Redis restarts, git outages); `make test` runs them too
test-faults:
	$(GO) test -race -count=1 -timeout 15m -run 'Fault' -v ./internal/e2e

## test-short: the fast tests only (no Redis, git or Chromium needed)
test-short:
	$(GO) test -short -count=1 ./...

fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

## lint: golangci-lint with the rules in .golangci.yml (install golangci-lint first)
lint:
	@command -v golangci-lint >/dev/null || { echo "golangci-lint is not installed: https://golangci-lint.run/welcome/install/"; exit 1; }
	golangci-lint run ./...

## golden: rewrite the ingest golden files (review the diff like code)
golden:
	$(GO) test ./internal/ingest -update

## bench: every benchmark, 5 runs each; results go into BENCHMARKS.md by hand
bench:
	$(GO) test -run '^$$' -bench . -benchmem -count 5 -timeout 60m ./internal/...

## fuzz: a few minutes of each ingest fuzz target
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzNormalize$$' -fuzztime 3m ./internal/ingest
	$(GO) test -run '^$$' -fuzz '^FuzzIngest$$' -fuzztime 3m ./internal/ingest

build:
	mkdir -p bin
	$(GO) build -o bin/ ./cmd/...

clean:
	rm -rf bin .data
