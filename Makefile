# The two commands a newcomer needs: `make demo` and `make test`.
GO       ?= go
BIN      := bin/ledger
BENCH    ?= .
BENCHTIME ?= 1s

.PHONY: all build demo test test-short bench lint lint-api fmt clean screenshots

all: build

build:
	$(GO) build -buildvcs=auto -o $(BIN) ./cmd/ledger

# The main job on the embedded default, in a fresh ./demo-data (never the
# default data directory of real use): a generated national history of
# about 700 CPTS submitted, decided and reported on. `demo --fresh` removes
# the previous demo itself, and refuses while a process (a serve) holds the
# directory: no rm -rf under a running server.
DEMO_DATA ?= ./demo-data
demo: build
	./$(BIN) --data $(DEMO_DATA) demo --fresh

# vet, then every test with the race detector (what CI runs).
test:
	$(GO) vet ./...
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || [ -n "$$LEDGER_CHROMIUM" ] || \
		echo "note: no Chromium here: the console's browser test (console/browser_test.go) will be SKIPPED (apt-get install chromium, or LEDGER_CHROMIUM=/path)"
	$(GO) test -race -count=1 ./...

# The same without the race detector and the crash test: quick feedback.
test-short:
	$(GO) test -short ./...

# The README's screenshots, taken by the browser test in headless Chromium
# over a national history (and checked there for clipped labels).
screenshots:
	LEDGER_SCREENSHOTS=$(CURDIR)/docs/screenshots $(GO) test -count=1 -run TestConsoleInABrowser ./console/

# Benchmarks; see docs/benchmarks.md for the recorded figures.
bench:
	$(GO) test -run '^$$' -bench '$(BENCH)' -benchmem -benchtime $(BENCHTIME) ./...

# gofmt, go vet and staticcheck (pinned in go.mod's tool directive): what
# reviewers check, run by CI before the tests.
lint:
	@unformatted=$$(gofmt -l .); if [ -n "$$unformatted" ]; then echo "gofmt would change:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) tool staticcheck ./...

# The API's description linted by Redocly and Spectral (rules: redocly.yaml,
# .redocly.lint-ignore.yaml, .spectral.yaml). npm fetches both once; the
# versions are pinned. Not part of make test: it needs npm.
lint-api:
	npx --yes @redocly/cli@2.77.0 lint --max-problems 50 docs/openapi.yaml
	npx --yes @stoplight/spectral-cli@6.16.3 lint --fail-severity=hint docs/openapi.yaml

fmt:
	gofmt -w .

clean: build
	./$(BIN) --data $(DEMO_DATA) demo --remove
	rm -rf bin
