# fabsync — the targets CI and newcomers use. `make run` and `make test` are the two that matter.
GO      ?= go
export PATH := $(PATH):/usr/local/go/bin

.PHONY: run test test-short test-faults fmt vet lint golden bench bench-scale build fuzz clean

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

## bench: the benchmarks, 5 runs each (the scale benchmark has its own target); results go into BENCHMARKS.md by hand
bench:
	$(GO) test -run '^$$' -bench . -skip 'BenchmarkResyncScale' -benchmem -count 5 -timeout 90m ./internal/...

## bench-scale: periodic resync at 100, 1,000 and 5,000 fabrics, then 1 vs 2 vs 4 workers (about 25 minutes)
bench-scale:
	cd internal/e2e && FABSYNC_BENCH_FABRICS=100,1000,5000 FABSYNC_BENCH_WORKERS=2 $(GO) test -run '^$$' -bench BenchmarkResyncScale -benchtime 1x -timeout 60m .
	cd internal/e2e && FABSYNC_BENCH_FABRICS=5000 FABSYNC_BENCH_WORKERS=1,2,4 $(GO) test -run '^$$' -bench BenchmarkResyncScale -benchtime 1x -timeout 60m .

## fuzz: a few minutes of each ingest fuzz target
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzNormalize$$' -fuzztime 3m ./internal/ingest
	$(GO) test -run '^$$' -fuzz '^FuzzIngest$$' -fuzztime 3m ./internal/ingest

build:
	mkdir -p bin
	$(GO) build -o bin/ ./cmd/...

clean:
	rm -rf bin .data
