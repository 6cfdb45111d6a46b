# fabsync — the targets CI and newcomers use. `make run` and `make test` are the two that matter.
GO      ?= go
export PATH := $(PATH):/usr/local/go/bin

# golangci-lint: the one on PATH or in .bin/ when it is this version, else installed into .bin/.
GOLANGCI_LINT_VERSION := v2.15.0
LOCALBIN              := $(CURDIR)/.bin

.PHONY: run test testdeps test-short test-faults fmt vet lint golden bench bench-scale build fuzz clean helm-check

## run: dev mode — the whole system in one process (embedded Redis, demo fabric) at http://127.0.0.1:8080
run:
	$(GO) run ./cmd/dev

## test: installs what the tests need when it can (scripts/testdeps.sh), then formatting, vet and every test with the race detector
test: testdeps fmt vet
	$(GO) test -race -count=1 -timeout 20m ./...

## test-faults: only the fault tests (real worker processes killed mid-push, Redis restarts, git outages); `make test` runs them too
test-faults: testdeps
	$(GO) test -race -count=1 -timeout 15m -run 'Fault' -v ./internal/e2e

## test-short: the fast tests only (no Redis, git or Chromium needed)
test-short:
	$(GO) test -short -count=1 ./...

## testdeps: check for redis-server, git, chromium (and fonts), gcc and make; install what is missing when root or passwordless sudo
testdeps:
	@bash scripts/testdeps.sh

fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

## lint: golangci-lint with the rules in .golangci.yml (installs golangci-lint $(GOLANGCI_LINT_VERSION) into .bin/ when it is not on PATH)
lint:
	@want='version $(GOLANGCI_LINT_VERSION:v%=%) '; \
	lint=$$(command -v golangci-lint 2>/dev/null || true); \
	if [ -z "$$lint" ] || ! "$$lint" version 2>/dev/null | grep -qF "$$want"; then \
	  lint='$(LOCALBIN)/golangci-lint'; \
	  if [ ! -x "$$lint" ] || ! "$$lint" version 2>/dev/null | grep -qF "$$want"; then \
	    echo "lint: installing golangci-lint $(GOLANGCI_LINT_VERSION) into .bin/"; \
	    GOBIN='$(LOCALBIN)' $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION) || exit 1; \
	  fi; \
	fi; \
	echo "golangci-lint run ./..."; \
	"$$lint" run ./...

## helm-check: lint, render and validate the Helm chart offline (deploy/helm/fabsync), compare the golden render; UPDATE=1 rewrites it (installs helm and kubectl-validate into .bin/)
helm-check:
	@UPDATE='$(UPDATE)' bash scripts/helmcheck.sh

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
	$(GO) test -run '^$$' -fuzz '^FuzzStreamSplitter$$' -fuzztime 1m ./internal/ingest
	$(GO) test -run '^$$' -fuzz '^FuzzQuickParse$$' -fuzztime 2m ./internal/ingest

build:
	mkdir -p bin
	$(GO) build -o bin/ ./cmd/...

clean:
	rm -rf bin .data .bin
