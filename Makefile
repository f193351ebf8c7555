# rdonboard — see README.md.
SHELL := /bin/bash
GO    ?= go
BIN   := bin
PKGS  := ./...

.PHONY: all build deps test test-short lint bench demo fuzz clean

# How release binaries are built, here and in deploy/Dockerfile (a test in
# deploy/ checks that both say the same).
GOFLAGS_BUILD := -trimpath -ldflags="-s -w"

all: build

## build: the three binaries into ./bin, static (CGO_ENABLED=0)
build:
	CGO_ENABLED=0 $(GO) build $(GOFLAGS_BUILD) -o $(BIN)/ ./cmd/worker ./cmd/enqueue ./cmd/sandbox

## deps: install what the tests need when missing (redis-server, chromium)
deps:
	@.ci/install-test-deps

## test: every test against a real redis-server (started by the tests), with -race
test: deps lint
	$(GO) test -race -count=1 -timeout 9m $(PKGS)

## lint: gofmt check and go vet
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

## bench: the benchmarks of docs/benchmarks.md
bench:
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 30m ./bench/...
	$(GO) test -run '^$$' -bench BenchmarkReconcileRun -benchtime 3x -timeout 10m ./internal/reconcile

## fuzz: a run of each fuzz target (FUZZTIME per target; their seed corpora
## also run in every `make test`)
FUZZTIME ?= 60s
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzReader -fuzztime $(FUZZTIME) ./internal/roster
	$(GO) test -run '^$$' -fuzz FuzzCodeIntake -fuzztime $(FUZZTIME) ./internal/httpapi

## demo: the whole job end to end on embedded Redis and the sandbox cloud
demo:
	$(GO) run ./cmd/demo

clean:
	rm -rf $(BIN)
