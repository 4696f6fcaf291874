# vpngw: `make help` lists the targets.
SHELL := /bin/bash
GO ?= go
# Every functions/<name>/main.go is a function: build, package,
# package-lambda and coldstart all go through this list.
FUNCTIONS := $(sort $(patsubst functions/%/main.go,%,$(wildcard functions/*/main.go)))
DIST := dist
BIN := $(CURDIR)/.bin
STATICCHECK_VERSION := v0.8.2
BENCHSTAT_VERSION := v0.0.0-20260908200009-22c9c6c9d4da
# Reproducible, static, stripped: no paths, no VCS stamp, no build id.
# lambda.norpc: Lambda's provided.al2023 runtime speaks the runtime API, not
# the retired go1.x runtime's net/rpc; without it net/rpc's reflective method
# lookup keeps every exported method of every linked type (about 4 MB).
# nethttpomithttp2: the functions speak HTTP/1.1 with keep-alive to the
# VPC API (the Alibaba Cloud SDK's own transport does no more), the runtime
# API, chat replies and HTTP sinks; HTTP/2 is about 340 KB of each binary
# (139 KB of its zip) that nothing needs (docs/PERFORMANCE.md, "Zip size").
BUILD_FLAGS := -tags lambda.norpc,nethttpomithttp2 -trimpath -buildvcs=false -ldflags='-s -w -buildid='
# What Function Compute's go1 runtime runs: static (no cgo) linux/amd64 at the
# baseline instruction set, whatever GOAMD64 or GOFLAGS the shell has set.
BUILD_ENV := CGO_ENABLED=0 GOOS=linux GOARCH=amd64 GOAMD64=v1 GOFLAGS=

.PHONY: help run test skipped faults test-unit lint build ctl package package-lambda coldstart deploy bench fuzz clean vpcsim tools

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-15s %s\n", $$1, $$2}'

run: ## the local stack: emulator, embedded NATS, SQLite, HTTP intake, reconcile ticker
	@# Built, then run in make's place: under go run, Ctrl-C (the way to
	@# stop it) ended make with "Error 1".
	@$(GO) build -o $(BIN)/vpngw-local ./deploy/local && exec $(BIN)/vpngw-local

vpcsim: ## the VPC API emulator alone, on 127.0.0.1:9300 (VPCSIM_FLAGS: its flags, e.g. -vpc-seed seed.json; docs/EMULATOR.md)
	$(GO) run ./internal/vpcsim/cmd/vpcsim $(VPCSIM_FLAGS)

test: ## vet and every test (outside servers only where their VPNGW_TEST_* URLs are set); the fault suite is make faults
	$(GO) vet ./...
	@status=0; $(GO) test -count=1 -timeout 15m -skip '^TestFaultSuite$$' ./... || status=$$?; \
		$(MAKE) --no-print-directory skipped; exit $$status

# The suites that need an outside server: variable:server.
SERVER_SUITES := VPNGW_TEST_POSTGRES_URL:PostgreSQL VPNGW_TEST_MYSQL_URL:MySQL/MariaDB VPNGW_TEST_NATS_URL:NATS VPNGW_TEST_AMQP_URL:RabbitMQ VPNGW_TEST_MQTT_URL:Mosquitto

skipped: ## which suites make test skips for lack of a server URL, and how to run them
	@n=0; for s in $(SERVER_SUITES); do v=$${s%%:*}; if [ -z "$${!v}" ]; then n=$$((n+1)); \
		echo "skipped: the $${s#*:} tests ($$v is not set)"; fi; done; \
	if [ $$n -gt 0 ]; then echo "Set those URLs (docs/TESTING.md; .ci/run starts the servers) to run them."; \
	else echo "every server suite ran: $(foreach s,$(SERVER_SUITES),$(word 2,$(subst :, ,$(s))))"; fi

faults: ## the fault suite: the whole pipeline through injected failures (VPNGW_FAULT_REQUESTS, VPNGW_FAULT_DELIVERIES); docs/RELIABILITY.md
	$(GO) test -count=1 -timeout 20m -v -run '^TestFaultSuite$$' ./internal/faults

build: ## static, stripped, reproducible linux/amd64 binaries: dist/<function>/<function>
	@for f in $(FUNCTIONS); do \
		$(BUILD_ENV) $(GO) build $(BUILD_FLAGS) -o $(DIST)/$$f/$$f ./functions/$$f || exit 1; \
	done

ctl: ## vpngwctl, the operator's tool, for this machine: dist/vpngwctl (docs/VPNGWCTL.md)
	$(GO) build -trimpath -o $(DIST)/vpngwctl ./cmd/vpngwctl

# The deterministic zip writer both package targets use.
$(BIN)/pkgzip: $(wildcard internal/tools/pkgzip/*.go)
	@$(GO) build -o $@ ./internal/tools/pkgzip

package: build $(BIN)/pkgzip ## one zip per function, dist/<function>.zip, holding the binary its s.yaml handler names
	@for f in $(FUNCTIONS); do \
		$(BIN)/pkgzip -o $(DIST)/$$f.zip $(DIST)/$$f/$$f || exit 1; \
	done
	@ls -l $(foreach f,$(FUNCTIONS),$(DIST)/$(f).zip)

package-lambda: build $(BIN)/pkgzip ## the same binaries for AWS Lambda: dist/lambda/<function>.zip holding bootstrap
	@for f in $(FUNCTIONS); do \
		$(BIN)/pkgzip -o $(DIST)/lambda/$$f.zip $(DIST)/$$f/$$f=bootstrap || exit 1; \
	done
	@ls -l $(foreach f,$(FUNCTIONS),$(DIST)/lambda/$(f).zip)

coldstart: package ## package sizes, start-to-first-answer times (N runs, 20) and peak memory, beside the runtime's floor
	@$(BUILD_ENV) $(GO) build $(BUILD_FLAGS) -o $(DIST)/floor/floor ./internal/tools/coldstart/floor
	@[ -n "$$VPNGW_TEST_POSTGRES_URL" ] || { echo "make coldstart: set VPNGW_TEST_POSTGRES_URL (a PostgreSQL server; each run gets a schema of its own): the functions link no SQLite"; exit 1; }
	$(GO) run ./internal/tools/coldstart -dist $(DIST) -n $${N:-20} -store "$$VPNGW_TEST_POSTGRES_URL" -floor $(DIST)/floor/floor $(FUNCTIONS)

deploy: ## deploy to Function Compute with Serverless Devs (s.yaml runs make package first)
	@command -v s >/dev/null || { echo "Serverless Devs (s) is not installed: npm install -g @serverless-devs/s, then s config add"; exit 1; }
	s deploy -y -t s.yaml

lint: tools ## gofmt, go vet, staticcheck
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(BIN)/staticcheck ./...

tools: ## install staticcheck and benchstat into .bin/
	@test -x $(BIN)/staticcheck || GOBIN=$(BIN) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	@test -x $(BIN)/benchstat || GOBIN=$(BIN) $(GO) install golang.org/x/perf/cmd/benchstat@$(BENCHSTAT_VERSION)

fuzz: ## run each fuzz target briefly (FUZZTIME: executions per target, default 20000x)
	@for t in $$(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u); do \
		for f in $$(grep -h '^func Fuzz' $$t/*_test.go | sed 's/func \(Fuzz[A-Za-z0-9_]*\).*/\1/'); do \
			echo "== $$t $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $${FUZZTIME:-20000x} $$t || exit 1; \
		done; \
	done

bench: tools ## benchmarks against the alternatives (internal/bench), -count 6, summarised by benchstat; see docs/PERFORMANCE.md
	$(GO) test -run '^$$' -bench $${BENCH:-.} -count $${COUNT:-6} -timeout 60m ./internal/bench | tee bench.txt
	$(BIN)/benchstat bench.txt

clean: ## remove build output and the local stack's state
	rm -rf $(DIST) .vpngw bench.txt
