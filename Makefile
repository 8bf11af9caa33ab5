# The ledger's Makefile: thin, offline, standard tools only.
GO        ?= go
DATA      ?= ./data
LISTEN    ?= 127.0.0.1:8080
BENCHTIME ?= 1s
KILLS     ?= 500
FUZZTIME  ?= 60s

.PHONY: run test bench build vet fmt-check tidy-check soak fuzz test-kurrentdb

## run: the server on the embedded store with the demo city, printing its URL and tokens.
run:
	$(GO) run ./cmd/ledger serve --demo --data $(DATA) --listen $(LISTEN)

## test: every test (what CI runs).
test: vet fmt-check
	$(GO) test -count=1 -timeout 15m ./...

## bench: every benchmark, the raw engine beside ours in the same run.
bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) -timeout 60m ./...

build:
	$(GO) build -o bin/ledger ./cmd/ledger

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

tidy-check:
	$(GO) mod tidy -diff

## soak: the crash test for as long as asked (KILLS=500).
soak:
	$(GO) test -count=1 -timeout 0 -run TestCrashRecovery ./eventstore/jetstream -soak.kills=$(KILLS) -v

## fuzz: each fuzz target for FUZZTIME.
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

## test-kurrentdb: the conformance suite against a KurrentDB server at KURRENTDB_URL.
test-kurrentdb:
	@test -n "$$KURRENTDB_URL" || { echo "set KURRENTDB_URL, e.g. esdb://127.0.0.1:2113?tls=false"; exit 2; }
	$(GO) test -count=1 -v ./eventstore/kurrentdb
