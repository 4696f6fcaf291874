# vpngw: `make help` lists the targets.
SHELL := /bin/bash
GO ?= go
FUNCTIONS := provision reconcile
DIST := dist
BIN := $(CURDIR)/.bin
STATICCHECK_VERSION := v0.8.2
BENCHSTAT_VERSION := v0.0.0-20260908200009-22c9c6c9d4da
# Reproducible, static, stripped: no paths, no VCS stamp, no build id.
BUILD_FLAGS := -trimpath -buildvcs=false -ldflags='-s -w -buildid='

.PHONY: help run test test-unit lint build package deploy bench fuzz clean vpcsim tools

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

run: ## the local stack: emulator, embedded NATS, SQLite, HTTP intake, reconcile ticker
	$(GO) run ./deploy/local

vpcsim: ## the VPC API emulator alone, on 127.0.0.1:9300
	$(GO) run ./internal/vpcsim/cmd/vpcsim

test: ## vet and every test (outside servers only where their VPNGW_TEST_* URLs are set)
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 15m ./...

build: ## static linux/amd64 binaries under dist/<function>/
	@for f in $(FUNCTIONS); do \
		CGO_ENABLED=0 GOOS=linux GOARCH=amd64 $(GO) build $(BUILD_FLAGS) -o $(DIST)/$$f/$$f ./functions/$$f || exit 1; \
	done

package: build ## one zip per function under dist/, holding the binary its handler names
	@for f in $(FUNCTIONS); do \
		$(GO) run ./internal/tools/pkgzip -o $(DIST)/$$f.zip $(DIST)/$$f/$$f || exit 1; \
		ls -l $(DIST)/$$f.zip; \
	done

deploy: package ## deploy with Serverless Devs (s deploy), using s.yaml
	s deploy -y

lint: tools ## gofmt, go vet, staticcheck
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(BIN)/staticcheck ./...

tools: ## install staticcheck and benchstat into .bin/
	@test -x $(BIN)/staticcheck || GOBIN=$(BIN) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	@test -x $(BIN)/benchstat || GOBIN=$(BIN) $(GO) install golang.org/x/perf/cmd/benchstat@$(BENCHSTAT_VERSION)

fuzz: ## run each fuzz target briefly (FUZZTIME, default 10s)
	@for t in $$(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u); do \
		for f in $$(grep -h '^func Fuzz' $$t/*_test.go | sed 's/func \(Fuzz[A-Za-z0-9_]*\).*/\1/'); do \
			echo "== $$t $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $${FUZZTIME:-10s} $$t || exit 1; \
		done; \
	done

bench: tools ## benchmarks, -count 6, summarised by benchstat
	$(GO) test -run '^$$' -bench . -benchmem -count $${COUNT:-6} ./... | tee bench.txt
	$(BIN)/benchstat bench.txt

clean: ## remove build output and the local stack's state
	rm -rf $(DIST) .vpngw bench.txt
