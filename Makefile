# whistlegrid: the two commands are `make run` and `make test`.
SHELL := /bin/bash
GO ?= go
BIN := bin/whistlegrid
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo dev)
STATICCHECK := $(shell command -v staticcheck 2>/dev/null || echo $$($(GO) env GOPATH)/bin/staticcheck)

.PHONY: run test check build frontend setup setup-test lint bench fuzz clean db-stop failover-drill

## run: install what is missing, build, and serve the 延庆区 demo
run: setup build
	$(BIN) serve --demo

## test: install what is missing, build, lint, and run every test (database and browser)
test: setup-test build lint
	$(GO) test -count=1 -timeout 30m ./...

## check: the fast tier for working on the code: lint and every test not marked slow
## (-short skips the year of history, the Beijing-scale set and the browser tests)
check: setup-test build lint
	$(GO) test -short -count=1 -timeout 10m ./...

## bench: run the benchmarks; each prints a table beside a baseline measured in the same run
BENCHES ?= place clues live hotspots work
bench: setup build
	@for b in $(BENCHES); do echo "== whistlegrid bench $$b"; $(BIN) bench $$b || exit 1; done

## fuzz: search with each fuzzer of the file readers for FUZZTIME (make test runs their seeds only)
FUZZTIME ?= 20s
FUZZERS ?= FuzzCSV FuzzXLSX FuzzParseRoster FuzzNormalizeAddress
fuzz:
	@for f in $(FUZZERS); do echo "== $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) ./ingest/ || exit 1; done

## failover-drill: first a base backup with WAL archiving is restored into a new folder; then a
## Patroni cluster (primary + synchronous standby), HAProxy and two instances on this machine lose
## the primary to kill -9 under load; prints a table and, last, a JSON line (README "Running it
## for real"). Not part of `make test`: it takes about four minutes.
failover-drill: setup build
	@scripts/drill/backup-restore.sh
	@scripts/drill/failover.sh

build: frontend
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o $(BIN) ./cmd/whistlegrid

frontend: frontend/node_modules/.installed
	cd frontend && npm run build --silent

frontend/node_modules/.installed: frontend/package.json frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund --loglevel=error
	# keep node_modules out of ./... : a go.mod makes it another module
	echo "module ignore_node_modules" > frontend/node_modules/go.mod
	touch $@

setup:
	@scripts/setup.sh

setup-test:
	@scripts/setup.sh --test

lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './frontend/node_modules/*')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) mod tidy -diff
	$(GO) vet ./...
	$(STATICCHECK) ./...

db-stop:
	$(GO) run ./cmd/whistlegrid db stop

clean:
	rm -rf bin frontend/dist/assets frontend/dist/index.html frontend/dist/index.html.br frontend/dist/index.html.gz
