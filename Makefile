# polysock developer entry points. `make test` is what CI runs (.ci/run).
#
#   make demo [ARGS=...]   run the demo server (go run ./demo $(ARGS)), no services needed
#   make demo-cluster      three demo nodes on Redis behind a round-robin proxy on :8080
#   make deps              install npm and Debian dependencies (scripts/deps.sh)
#   make test              every check, fail-fast, in order (see TEST_STEPS)
#   make test-capacity     19,000 sessions in one server process, memory per session
#   make bundle            rebuild the browser client into js/dist (commit the result)
#   make check-bundle      fail if js/dist differs from a fresh build of js/src
#   make bench             benchmarks against the field (bench/cmd/benchrun), Go benchmarks,
#                          HTTP transports, memory per session (BENCH_QUICK=1: benchrun -quick only)
#   make fuzz [FUZZTIME=]  every Go fuzz target for FUZZTIME each (default 10s; 13 targets)
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
TEST_STEPS := test-go-vet check-bundle test-go test-ts-typecheck test-js-unit test-sockjs test-browser test-chat test-capacity

.PHONY: demo demo-cluster deps test $(TEST_STEPS) bundle bench fuzz clean

demo:
	$(GO) run ./demo $(ARGS)

# Three demo nodes (n1-n3 on 127.0.0.1:8081-8083) sharing a redis-server (started on
# 127.0.0.1:$(REDIS_PORT) unless one answers there), behind a round-robin proxy without
# stickiness on 127.0.0.1:8080 (scripts/demo-cluster.sh, docs/SCALING.md).
REDIS_PORT ?= 6379
demo-cluster:
	GO=$(GO) REDIS_PORT=$(REDIS_PORT) scripts/demo-cluster.sh

deps:
	@scripts/deps.sh

# Recursive make keeps the steps strictly ordered and fail-fast even under `make -j`.
test: deps
	@for step in $(TEST_STEPS); do $(MAKE) --no-print-directory $$step; done

# bench/ is a module of its own (bench/go.mod), so that the benchmarks' dependencies
# (centrifuge, hdrhistogram-go) stay out of the library's go.mod; go.work joins the two
# modules, and ./bench/... names its packages (./... stops at a module boundary).
test-go-vet:
	$(GO) vet ./... ./bench/...

# POLYSOCK_REQUIRE_REDIS=1: the Redis broker and cluster tests (broker/redis, e2e/cluster)
# fail rather than skip when redis-server is missing (make deps installs it).
test-go:
	POLYSOCK_REQUIRE_REDIS=1 $(GO) test -race -count=1 -timeout 10m ./... ./bench/...

test-ts-typecheck:
	$(NPX) tsc --noEmit -p tsconfig.json

# Compiles js/test and js/src with tsconfig.test.json into build/js-test and runs them with
# Node's test runner (the "test" script of package.json): unit tests, and the client
# against the real Go server (js/test/server) on each transport Node can run.
test-js-unit:
	npm test --silent

# Interop with the real sockjs-client@1.6.1 (node_modules): in Node and in headless
# Chromium, against cmd/sockjs-testserver (e2e/sockjs, docs/SOCKJS.md).
test-sockjs:
	node --test e2e/sockjs/

# The drop-in client (js/dist/polysock.js as the server serves it) in headless Chromium
# against js/test/server: XHR and EventSource streams, polling over XHR without fetch, the
# browser's WebSocket, the fallback after a killed upgrade and the polyfill switch
# (e2e/browser). Screenshots go to artifacts/browser/.
test-browser:
	node --test e2e/browser/

# The demo chat in headless Chromium behind a hostile proxy (e2e/chat/proxy: WebSocket
# refused, killed after 200 ms, buffered responses): two users chatting on every path, an
# image byte for byte, a close code set by the server. Prints the time from page load to
# the first delivered message; screenshots go to artifacts/chat/. Also the demo as a
# cluster (e2e/chat/cluster.test.mjs): three nodes on a real redis-server behind the
# round-robin proxy, users on websocket, stream and poll chatting across them.
test-chat:
	node --test e2e/chat/

# Capacity (issue 9): 19,000 sessions at once in one server process (bench/cmd/memserver),
# opened by bench/cmd/memdriver in another process (each stays under the 20,000 open files
# a process may have here): idle WebSocket sessions, then sessions holding a stream, then
# sessions holding a poll. Any session that fails to open or is not held fails the step.
# Prints the memory per session of each (docs/BENCHMARKS.md); about 20 s, bounded by
# -timeout.
test-capacity:
	$(GO) run ./bench/cmd/memdriver -n 19000 -modes polysock,stream,poll -timeout 150s

# Rebuilds the browser client: the bundles with esbuild's Go API (js/build), then the
# declarations with tsc (js/tsconfig.dts.json). BUNDLE_OUT redirects the output.
BUNDLE_OUT ?= js/dist
bundle:
	$(GO) run ./js/build -out $(BUNDLE_OUT)
	rm -rf build/dts
	$(NPX) tsc -p js/tsconfig.dts.json --outDir build/dts
	cp build/dts/polysock.d.ts $(BUNDLE_OUT)/polysock.d.ts

# Builds the client into a temporary directory and fails if the committed js/dist differs.
check-bundle:
	@tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	$(MAKE) --no-print-directory bundle BUNDLE_OUT="$$tmp" >/dev/null; \
	if ! diff -r js/dist "$$tmp" >/dev/null; then \
		echo "check-bundle: js/dist differs from a fresh build of js/src (run make bundle):" >&2; \
		diff -rq js/dist "$$tmp" >&2 || true; \
		exit 1; \
	fi

# First the comparison against the field (bench/cmd/benchrun: raw gorilla, polysock on
# each transport, sockjs-go, socket.io on Node, centrifuge; 3 interleaved rounds, 6–7
# minutes; it refuses to run when the 1-minute load average exceeds the CPUs unless
# BENCH_ARGS=-ignore-load or POLYSOCK_BENCH_IGNORE_LOAD=1), which prints the ratio tables.
# Then, unless BENCH_QUICK=1 (benchrun -quick alone, 1–3 minutes), the Go benchmarks of
# every package once each (cluster publish latency and throughput on a real redis-server in
# broker/redis among them), the HTTP transports beside hello-world (httpcompare), and the
# memory per idle WebSocket session and per held stream or poll (memdriver);
# see docs/BENCHMARKS.md. socket.io comes from node_modules (make deps, or npm ci).
BENCH_ARGS  ?=
BENCH_QUICK ?=
bench:
	@if [ "$(BENCH_QUICK)" = 1 ]; then \
		GO=$(GO) $(GO) run ./bench/cmd/benchrun -quick $(BENCH_ARGS); \
	else \
		GO=$(GO) $(GO) run ./bench/cmd/benchrun $(BENCH_ARGS) && \
		$(GO) test -run='^$$' -bench=. -benchtime=200ms -benchmem ./... ./bench/... && \
		GO=$(GO) $(GO) run ./bench/cmd/httpcompare -rounds 1 && \
		GO=$(GO) $(GO) run ./bench/cmd/memdriver && \
		GO=$(GO) $(GO) run ./bench/cmd/memdriver -modes stream,poll; \
	fi

# Lists the fuzz targets of every package and runs each alone (go test -fuzz accepts one
# target per package per run): every decoder of internal/wire, the client's frame reader,
# and the server's request parsers (query parameters, POST bodies end to end, SockJS send
# bodies and WebSocket frames). The run is bounded: FUZZTIME per target, 13 targets, plus
# building; a target that finds a panicking or failing input stops the run.
fuzz:
	@for pkg in $$($(GO) list ./... ./bench/...); do \
		list=$$($(GO) test -list '^Fuzz' "$$pkg"); \
		for target in $$(grep '^Fuzz' <<<"$$list" || true); do \
			echo "fuzz: $$pkg $$target ($(FUZZTIME))"; \
			$(GO) test -run='^$$' -fuzz="^$$target$$" -fuzztime=$(FUZZTIME) "$$pkg"; \
		done; \
	done

clean:
	rm -rf build artifacts
