# timdesk — the Makefile is the CI contract (see README.md).
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

BIN      := $(CURDIR)/bin
DATA     := $(CURDIR)/.data
TEMPORAL := $(BIN)/temporal
TEMPORAL_CLI_VERSION := v1.5.1
NPM_DIR  := $(BIN)/npm
TLS_SIG_NODE := $(NPM_DIR)/node_modules/tls-sig-api-v2/package.json
TLS_SIG_NODE_VERSION := 1.0.2
WORKFLOWCHECK := $(BIN)/workflowcheck
WORKFLOWCHECK_VERSION := v0.6.0
GOLANGCI := $(BIN)/golangci-lint
GOLANGCI_VERSION := v2.15.0
# The Temporal server and its schema tool for the production topology (`make cluster`, `make
# test-cluster`): the release inside CLI $(TEMPORAL_CLI_VERSION), so most packages are already built.
TEMPORAL_SERVER_VERSION := v1.29.1
TEMPORAL_SERVER := $(BIN)/temporal-server
TEMPORAL_SQL_TOOL := $(BIN)/temporal-sql-tool

GO_TEST_FLAGS ?= -race -count=1 -timeout 12m
# package:FuzzTarget:budget triples run by `make fuzz` (part of `make test`). Budgets are execution
# counts (about 10 s each on 2 cores), not durations: a duration -fuzztime races Go's fuzz
# coordinator at the deadline and fails with a bare "context deadline exceeded" on a loaded box
# (golang/go#75804, fixed in Go 1.27). FUZZ_TIME=1000000x overrides every budget for a longer local
# run (a count too; a duration hits the same race).
FUZZ_TIME ?=
FUZZ_TARGETS := ./tim:FuzzVerify:150000x ./tim:FuzzDecodeCallback:150000x ./api:FuzzCallback:15000x ./workflows:FuzzEncodeUserID:40000x

# The customer chat page (chat/): its npm packages (esbuild, the Tencent Web SDK, playwright-core)
# live in chat/node_modules; the browser tests drive Debian's Chromium, never a downloaded one.
CHAT_DEPS := $(CURDIR)/chat/node_modules/.package-lock.json
CHROMIUM  ?= /usr/bin/chromium
SUDO      := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

export TIMDESK_TEMPORAL_CLI := $(TEMPORAL)
export TIMDESK_CHROMIUM := $(CHROMIUM)
export TIMDESK_NODE_MODULES := $(NPM_DIR)/node_modules
export TIMDESK_TEMPORAL_SERVER := $(TEMPORAL_SERVER)
export TIMDESK_TEMPORAL_SQL_TOOL := $(TEMPORAL_SQL_TOOL)

.PHONY: help
help: ## list the targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

## ---- tools (installed into ./bin, reused on re-runs) ----
$(TEMPORAL):
	@mkdir -p $(BIN)
	@echo "installing Temporal CLI $(TEMPORAL_CLI_VERSION) into ./bin (first time: ~5 min on 2 cores)"
	GOBIN=$(BIN) go install github.com/temporalio/cli/cmd/temporal@$(TEMPORAL_CLI_VERSION)

# go install names the binaries server and sql: install into a scratch dir, then rename.
$(TEMPORAL_SERVER):
	@mkdir -p $(BIN)/.temporal-server
	@echo "building Temporal server $(TEMPORAL_SERVER_VERSION) into ./bin (first time: several minutes on 2 cores)"
	GOBIN=$(BIN)/.temporal-server go install go.temporal.io/server/cmd/server@$(TEMPORAL_SERVER_VERSION)
	mv $(BIN)/.temporal-server/server $@

$(TEMPORAL_SQL_TOOL):
	@mkdir -p $(BIN)/.temporal-server
	GOBIN=$(BIN)/.temporal-server go install go.temporal.io/server/cmd/tools/sql@$(TEMPORAL_SERVER_VERSION)
	mv $(BIN)/.temporal-server/sql $@

.PHONY: temporal-server
temporal-server: $(TEMPORAL_SERVER) $(TEMPORAL_SQL_TOOL) ## build the Temporal server and its SQL schema tool into ./bin

$(TLS_SIG_NODE):
	@if command -v npm >/dev/null; then \
		mkdir -p $(NPM_DIR) && npm install --prefix $(NPM_DIR) --no-audit --no-fund --silent tls-sig-api-v2@$(TLS_SIG_NODE_VERSION); \
	else echo "npm not found: the Node cross-check tests will skip"; fi

$(WORKFLOWCHECK):
	GOBIN=$(BIN) go install go.temporal.io/sdk/contrib/tools/workflowcheck@$(WORKFLOWCHECK_VERSION)

$(GOLANGCI):
	GOBIN=$(BIN) go install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_VERSION)

$(CHAT_DEPS): chat/package-lock.json
	npm ci --prefix chat --no-audit --no-fund --silent

$(CHROMIUM):
	@echo "installing Debian's chromium for the browser tests"
	$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium

.PHONY: chat-deps
chat-deps: $(CHAT_DEPS) $(CHROMIUM) ## install the chat page's npm packages and Debian's Chromium (browser tests)

.PHONY: tools
tools: $(TEMPORAL) $(TLS_SIG_NODE) $(WORKFLOWCHECK) ## install the Temporal CLI and the official Node UserSig package

## ---- build ----
.PHONY: build
build: ## build the programs into ./bin
	@mkdir -p $(BIN)
	go build -o $(BIN)/timdesk-api ./api
	go build -o $(BIN)/timdesk-worker ./worker
	go build -o $(BIN)/timsim ./tim/timsim/cmd/timsim
	go build -o $(BIN)/timdesk-proxy ./deploy/proxy

.PHONY: chat
chat: $(CHAT_DEPS) ## build the chat page (chat/src → chat/dist, which is committed and embedded in the API)
	node chat/build.mjs

## ---- checks ----
.PHONY: chat-check
chat-check: $(CHAT_DEPS) ## fail when the committed chat/dist is not the build of chat/src
	node chat/build.mjs --check

.PHONY: fmt
fmt: ## gofmt every file
	gofmt -w $$(git ls-files '*.go')

.PHONY: vet
vet: ## go vet, a gofmt check and go.mod as `go mod tidy` leaves it
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	go mod tidy -diff
	go vet ./...

.PHONY: workflowcheck
workflowcheck: $(WORKFLOWCHECK) ## static determinism check of workflow code
	$(WORKFLOWCHECK) -config workflowcheck.config.yaml ./workflows/...

.PHONY: lint
lint: $(GOLANGCI) ## golangci-lint with .golangci.yml
	$(GOLANGCI) run ./...

.PHONY: unit
unit: tools chat-deps ## unit, cross-check, e2e and browser tests (the e2e ones start their own Temporal dev server)
	go test $(GO_TEST_FLAGS) ./...

.PHONY: test-cluster
test-cluster: tools temporal-server ## the e2e suite against the production topology (PostgreSQL, 2 API + 2 worker replicas, faults)
	TIMDESK_E2E_CLUSTER=1 go test -count=1 -timeout 10m ./e2e

.PHONY: fuzz
fuzz: ## run each fuzz target for its execution budget (or FUZZ_TIME)
	@set -e; for t in $(FUZZ_TARGETS); do IFS=: read -r pkg fn budget <<<"$$t"; \
		ft='$(FUZZ_TIME)'; budget=$${ft:-$$budget}; echo "fuzz $$pkg $$fn ($$budget)"; \
		go test -run='^$$' -fuzz="^$$fn$$" -fuzztime=$$budget -fuzzminimizetime=1000x $$pkg; done

.PHONY: docker-context
docker-context: ## list what `docker build` would send (no Docker needed); fails on bin/, .data/, .git/ or secrets
	go run ./deploy/dockercontext .

.PHONY: test
test: vet lint workflowcheck chat-check build docker-context unit test-cluster fuzz ## everything CI runs (unit includes the browser tests)

.PHONY: bench
bench: ## benchmarks (speed and memory goals live here, not in unit tests)
	go test -run='^$$' -bench=. -benchmem ./...

.PHONY: bench-e2e
bench-e2e: tools ## whole-stack load test (closed loop, open loop, fake LLM) on a dev server; prints one table
	TIMDESK_BENCH_E2E=1 go test -count=1 -run '^TestBenchE2E$$' -timeout 30m -v ./e2e

.PHONY: bench-e2e-cluster
bench-e2e-cluster: tools temporal-server ## make bench-e2e on the production topology (Temporal on PostgreSQL, 2 API + 2 worker replicas behind the proxy)
	TIMDESK_E2E_CLUSTER=1 TIMDESK_BENCH_E2E=1 go test -count=1 -run '^TestBenchE2E$$' -timeout 30m -v ./e2e

.PHONY: chaos
chaos: tools ## load while the worker, API and dev server are SIGKILLed and restarted; fails on any duplicate or loss
	TIMDESK_CHAOS=full go test -count=1 -run '^TestChaos$$' -timeout 30m -v ./e2e

.PHONY: bench-usersig
bench-usersig: $(TLS_SIG_NODE) ## Go UserSig signs/s next to the official Node library's
	go test -run='^$$' -bench='^BenchmarkSign$$' -benchtime=2s ./tim
	TIMDESK_BENCH_NODE=1 go test -run='^TestNodeSignRate$$' -v ./tim

## ---- run ----
.PHONY: run
run: tools build ## bring up Temporal dev server, emulator, API and worker; Ctrl-C stops all
	BIN=$(BIN) DATA=$(DATA) ./deploy/dev.sh

.PHONY: cluster
cluster: tools temporal-server build ## production topology: Temporal on PostgreSQL, 2 API + 2 worker replicas behind a proxy; Ctrl-C stops all
	BIN=$(BIN) DATA=$(DATA) ./deploy/cluster.sh

.PHONY: cluster-split
cluster-split: tools temporal-server build ## the same with one process per Temporal service
	BIN=$(BIN) DATA=$(DATA) ./deploy/cluster.sh --split

.PHONY: cluster-reset
cluster-reset: ## drop the cluster's Temporal databases (every consultation in them): the next make cluster starts empty
	BIN=$(BIN) DATA=$(DATA) ./deploy/cluster.sh reset

.PHONY: run-api
run-api: ## run only the API (configure with TIMDESK_* variables)
	go run ./api

.PHONY: run-worker
run-worker: ## run only the worker
	go run ./worker

.PHONY: docker
docker: docker-context ## build the production image (needs a Docker engine)
	docker build -f deploy/Dockerfile -t timdesk:latest .

.PHONY: clean
clean: ## remove built programs and local data (keeps the Temporal CLI)
	rm -rf $(DATA) $(BIN)/timdesk-api $(BIN)/timdesk-worker $(BIN)/timsim $(BIN)/timdesk-proxy
