# polysock developer entry points. `make test` is what CI runs (.ci/run).
#
#   make demo [ARGS=...]   run the demo server (go run ./demo $(ARGS))
#   make deps              install npm and Debian dependencies (scripts/deps.sh)
#   make test              every check, fail-fast, in order (see TEST_STEPS)
#   make bench             Go benchmarks, echo vs raw gorilla, memory per session
#   make fuzz [FUZZTIME=]  every Go fuzz target for FUZZTIME each (default 10s)
#   make clean             remove build output

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := test

GO       ?= go
NPX      ?= npx --no-install
ARGS     ?=
FUZZTIME ?= 10s

# The steps of `make test`, run in this order, each only after the previous one passed.
# Add a check by writing a test-<name> target and appending it here.
TEST_STEPS := test-go-vet test-go test-ts-typecheck test-js-unit

.PHONY: demo deps test $(TEST_STEPS) bench fuzz clean

demo:
	$(GO) run ./demo $(ARGS)

deps:
	@scripts/deps.sh

# Recursive make keeps the steps strictly ordered and fail-fast even under `make -j`.
test: deps
	@for step in $(TEST_STEPS); do $(MAKE) --no-print-directory $$step; done

test-go-vet:
	$(GO) vet ./...

test-go:
	$(GO) test -race -count=1 -timeout 10m ./...

test-ts-typecheck:
	$(NPX) tsc --noEmit -p tsconfig.json

# Compiles js/test and js/src with tsconfig.test.json into build/js-test and runs them with
# Node's test runner (the "test" script of package.json).
test-js-unit:
	npm test --silent

# The Go benchmarks of every package, then the WebSocket echo comparison with raw gorilla
# (interleaved rounds) and the memory per idle session; see docs/BENCHMARKS.md.
bench:
	$(GO) test -run='^$$' -bench=. -benchmem ./...
	GO=$(GO) $(GO) run ./bench/cmd/echocompare
	GO=$(GO) $(GO) run ./bench/cmd/memdriver

# Lists the fuzz targets of every package and runs each alone (go test -fuzz accepts one
# target per package per run).
fuzz:
	@for pkg in $$($(GO) list ./...); do \
		list=$$($(GO) test -list '^Fuzz' "$$pkg"); \
		for target in $$(grep '^Fuzz' <<<"$$list" || true); do \
			echo "fuzz: $$pkg $$target ($(FUZZTIME))"; \
			$(GO) test -run='^$$' -fuzz="^$$target$$" -fuzztime=$(FUZZTIME) "$$pkg"; \
		done; \
	done

clean:
	rm -rf build artifacts
