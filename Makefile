# Warren — `make help` lists the targets.
GO        ?= go
DEMO_URL  ?= amqp://guest:guest@127.0.0.1:5672/
DEMO_FLAGS ?=
UNIT_PKGS := ./actors/... ./registry/... ./supervisor/... ./federation/... ./cmd/... ./internal/...
FUZZTIME  ?= 20s
# package:target of every fuzz target; `make unit` runs each on its seed corpus.
FUZZ_TARGETS := ./internal/redact:FuzzParseURI ./internal/redact:FuzzText ./actors:FuzzBrokerID \
	./supervisor:FuzzLoadINI ./actors/kazoo:FuzzEnvelope ./actors/kazoo:FuzzRoutingKey ./actors/kazoo:FuzzJSONPath ./actors/kazoo:FuzzGunzip

.PHONY: help demo test unit integration faults scale bench bench-go vet deps build screenshots fuzz

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

deps: ## install RabbitMQ, amqp-tools and Chromium when missing (apt, as root)
	@bash .ci/install-deps

demo: deps ## start the supervision tree against the local broker and show it live
	@exec bash .ci/demo "$(DEMO_URL)" $(DEMO_FLAGS)

test: deps vet unit integration ## everything CI runs: vet, unit tests with -race, integration tests on throw-away RabbitMQ nodes

build: ## build the warren command into bin/warren
	$(GO) build -buildvcs=auto -o bin/warren ./cmd/warren

vet: ## go vet
	$(GO) vet ./...

unit: ## unit tests with -race (no broker needed), the fuzz targets on their seed corpus
	$(GO) test -race -count=1 $(UNIT_PKGS)

fuzz: ## each fuzz target for FUZZTIME (20s) past its seeds: URIs and redaction, broker ids, config.ini, Kazoo envelope, routing keys, kz.json paths, gzip bodies
	@set -e; for t in $(FUZZ_TARGETS); do \
		echo "== $${t##*:} ($${t%%:*}), $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$${t##*:}\$$" -fuzztime $(FUZZTIME) $${t%%:*}; \
	done

integration: deps ## integration tests against real RabbitMQ nodes the tests start themselves (the fault and scale suites apart)
	$(GO) test -race -count=1 -timeout 13m -skip '^TestFault_|^TestScale_' ./integration/...
	@# A Kamailio-style peer Warren did not write (rabbitmq-c) answered with traceparent on Warren's messages
	WARREN_TEST_TRACING=1 $(GO) test -race -count=1 -timeout 3m -run '^TestRPC_AnswersAmqpToolsRequest$$' ./integration/

screenshots: deps ## redraw docs/ui-*.png: the observer (/ui) in headless Chromium against a real tree
	WARREN_UI_SCREENSHOTS=1 $(GO) test -count=1 -run '^TestUI_' ./integration/

faults: deps ## the fault suite: toxiproxy and broker faults under load, then its table
	@table=$$(mktemp); \
	WARREN_FAULT_TABLE=$$table $(GO) test -race -count=1 -timeout 25m -run '^TestFault_' ./integration/; rc=$$?; \
	cat $$table; rm -f $$table; exit $$rc

scale: deps ## the scale suite, without -race: 20,000 listeners consuming on one broker, time and memory per listener
	$(GO) test -count=1 -timeout 15m -v -run '^TestScale_' ./integration/

bench: deps ## warren bench: Warren next to raw amqp091-go on a node of its own; redraws docs/benchmarks.svg
	$(GO) run ./cmd/warren bench --svg docs/benchmarks.svg

bench-sink: ## warren bench --sink: the publish scenarios against the null broker (cmd/nullbroker) in a child process: the client's own CPU per message
	$(GO) build -o bin/nullbroker ./cmd/nullbroker
	$(GO) build -o bin/warren ./cmd/warren
	bin/warren bench --sink --sink-cmd bin/nullbroker --rounds 5

bench-go: deps ## the go test benchmarks of integration/ (recovery, 1,000 listeners, cross-zone latency)
	$(GO) test -run '^$$' -bench . -benchtime 2s -timeout 20m ./integration/...
