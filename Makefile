# Flotilla — the two commands: `make run` and `make test`.
# Everything is built with CMake + Ninja into build/ (Release).

SHELL := /bin/bash
BUILD ?= build
JOBS ?= $(shell nproc)
PYTHON := /usr/bin/python3
DATA ?= data
CONFIG ?= config/server.properties

# The Debian 12 packages (the one list): what the server's build needs
# (`make build`, `make run`), and what only the tests and benchmarks need
# (installed by `make test`, `make bench`: independent clients and tools).
DEB_PACKAGES := libre2-dev g++ cmake ninja-build make pkg-config \
  libasio-dev libspdlog-dev libfmt-dev libcli11-dev nlohmann-json3-dev libcpp-httplib-dev \
  zlib1g-dev libsnappy-dev liblz4-dev libzstd-dev libssl-dev openssl
DEB_TEST_PACKAGES := libgtest-dev libgmock-dev libbenchmark-dev \
  python3 python3-pytest python3-confluent-kafka python3-kafka python3-jwt python3-cryptography kcat iperf3 \
  golang-go golang-github-shopify-sarama-dev golang-github-segmentio-kafka-go-dev \
  golang-github-confluentinc-confluent-kafka-go-dev librdkafka-dev burrow tshark \
  prometheus chromium chromium-driver python3-selenium python3-jsonschema python3-yaml wrk curl \
  iproute2 nftables iptables

# Fuzzing only (`make fuzz`): clang with libFuzzer and the sanitizers' runtimes.
DEB_FUZZ_PACKAGES := clang libclang-rt-14-dev libfuzzer-14-dev

.PHONY: all deps test-deps fuzz-deps js-deps build build-all check-deps check-headers run test unit integration bench clean format-data \
  chaos chaos-smoke \
  fuzz fuzz-smoke fuzz-build fuzz-seeds

all: build

deps: PACKAGES = $(DEB_PACKAGES)
test-deps: PACKAGES = $(DEB_PACKAGES) $(DEB_TEST_PACKAGES)
fuzz-deps: PACKAGES = $(DEB_PACKAGES) $(DEB_FUZZ_PACKAGES)
deps test-deps fuzz-deps:
	@missing=$$(for p in $(PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "Installing missing Debian packages:" $$missing; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi

# npm packages for the JavaScript test clients (KafkaJS, @platformatic/kafka), pinned by package-lock.json.
js-deps:
	@if command -v npm >/dev/null 2>&1; then \
	  { [ -d tests/integration/js/node_modules/kafkajs ] && [ -d tests/integration/js/node_modules/@platformatic/kafka ]; } || \
	    (cd tests/integration/js && npm ci --no-audit --no-fund --loglevel=error); \
	else echo "npm not found: the JavaScript client tests will be skipped"; fi

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release

# `make build` (and so `make run`) builds only the server binary; the tests build
# with `make build-all`, which `make test` and `make bench` use; the benchmarks
# (target `benches`) only with `make bench`.
build: deps $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS) --target flotilla

# Configured again: the test packages may have come after the first `make build`.
build-all: test-deps $(BUILD)/build.ninja
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build $(BUILD) -j $(JOBS)

# Module dependencies point one way (docs/ARCHITECTURE.md).
check-deps:
	$(PYTHON) scripts/check_deps.py

# Every header compiles on its own (not in `make test`: about 3 minutes).
check-headers: build
	scripts/check_headers.sh $(BUILD)

# Format ./data once (a fresh cluster id), then run a combined broker+controller
# on 127.0.0.1:9092 (controller listener 127.0.0.1:9093) in the foreground.
format-data: build
	@if [ ! -f $(DATA)/meta.properties ]; then \
	  id=$$($(BUILD)/flotilla storage random-uuid); \
	  $(BUILD)/flotilla storage format --config $(CONFIG) --cluster-id $$id --ignore-formatted; \
	fi

run: format-data
	exec $(BUILD)/flotilla server $(CONFIG)

unit: build-all
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) --timeout 600

integration: build test-deps js-deps
	FLOTILLA_BIN=$(abspath $(BUILD)/flotilla) $(PYTHON) -m pytest -q --durations=20 tests/integration

test: build-all
	$(MAKE) check-deps
	$(MAKE) unit
	$(MAKE) integration
	$(MAKE) chaos-smoke

# Chaos (issue 19): 3 controllers + 3 brokers, each in its own network namespace,
# under a seeded random schedule of kill -9, SIGSTOP, partitions, latency and loss,
# with workloads checked after the faults heal (tests/chaos, docs/ARCHITECTURE.md
# "How we test"). Needs root. `make chaos RUNS=N SEED=S`: N runs of 30-60 s of
# faults, seeds S..S+N-1 (SEED unset: a random first seed); a failing run prints
# its seed, its fault timeline and the command that replays it.
# `make chaos-smoke` (part of `make test`): the checkers' own tests and two
# 20 s runs (seeds 1 and 2).
RUNS ?= 5
SEED ?=
chaos: build test-deps
	FLOTILLA_BIN=$(abspath $(BUILD)/flotilla) $(PYTHON) tests/chaos/chaos.py --runs $(RUNS) $(if $(SEED),--seed $(SEED))

chaos-smoke: build test-deps
	FLOTILLA_BIN=$(abspath $(BUILD)/flotilla) $(PYTHON) -m pytest -q --durations=5 tests/chaos

bench: build-all
	cmake --build $(BUILD) -j $(JOBS) --target benches
	$(BUILD)/bench/flotilla_bench --benchmark_min_time=0.2
	$(BUILD)/bench/raft_bench --writers 1,100 --seconds 3
	$(BUILD)/bench/snapshot_load_bench --partitions 100000 --topics 1000 --brokers 3 --rf 3 --tail-records 1000
	$(BUILD)/bench/snapshot_load_bench --partitions 1000 --topics 100 --tail-records 0 --acls 100000
	$(BUILD)/bench/authorizer_bench --benchmark_min_time=0.2
	$(BUILD)/bench/produce_authz_bench --benchmark_min_time=0.2
	$(PYTHON) bench/startup_bench.py --bin $(BUILD)/flotilla --runs 10 --topics 100 --out $(BUILD)/bench-results/startup.json
	$(PYTHON) bench/quorum_bench.py --bin $(BUILD)/flotilla --runs 10 --creates 300 --out $(BUILD)/bench-results/quorum.json
	$(PYTHON) bench/e2e_bench.py --bin $(BUILD)/flotilla --out $(BUILD)/bench-results/e2e.json
	$(PYTHON) bench/broker_failover_bench.py --bin $(BUILD)/flotilla --partitions 3000 --session-timeouts 9000,3000 --out $(BUILD)/bench-results/broker-failover.json
	$(PYTHON) bench/replication_throughput.py --bin $(BUILD)/flotilla --out $(BUILD)/bench-results/replication-throughput.json
	$(PYTHON) bench/group_rebalance_bench.py --bin $(BUILD)/flotilla --members 10 --partitions 100 --runs 5 --heartbeat-ms 100,3000 --out $(BUILD)/bench-results/group-rebalance.json
	$(PYTHON) bench/txn_bench.py --bin $(BUILD)/flotilla --txns 500 --records 100 --partitions 4 --out $(BUILD)/bench-results/txn.json
	$(PYTHON) bench/security_bench.py --bin $(BUILD)/flotilla --out $(BUILD)/bench-results/security.json
	cmake -S . -B $(BUILD)-nometrics -G Ninja -DCMAKE_BUILD_TYPE=Release -DFLOTILLA_METRICS=OFF -DFLOTILLA_TESTS=OFF -DFLOTILLA_BENCH=OFF >/dev/null
	cmake --build $(BUILD)-nometrics -j $(JOBS) --target flotilla
	$(PYTHON) bench/http_bench.py --bin $(BUILD)/flotilla --bin-nometrics $(BUILD)-nometrics/flotilla --out $(BUILD)/bench-results/http.json
	$(PYTHON) bench/authz_bench.py --bin $(BUILD)/flotilla --out $(BUILD)/bench-results/authz.json
	$(BUILD)/bench/delta_apply_bench --iters 1000
	$(PYTHON) bench/metadata_scale_bench.py --bin $(BUILD)/flotilla --tool $(BUILD)/bench/metadata_scale --partitions 200000 --out $(BUILD)/bench-results/metadata-scale.json
	$(PYTHON) bench/partitions_scale_bench.py --bin $(BUILD)/flotilla --partitions 20000 --per-topic 1000 --data-gb 1 --out $(BUILD)/bench-results/partitions-scale.json

clean:
	rm -rf $(BUILD)

# Fuzzing (issue 19): the libFuzzer targets of tests/fuzz in their own build
# (clang, ASan + UBSan), each run FUZZ_SECONDS over its committed corpus
# (tests/fuzz/corpus/<target>) plus what earlier runs found ($(FUZZ_BUILD)/corpus/<target>).
# A crash stops the run and leaves its input in $(FUZZ_BUILD)/crashes/<target>/: fix it,
# then copy the input into tests/fuzz/corpus/<target>/ (make test replays it for good).
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 600
FUZZ_TARGETS := request records metadata_records startup_files sasl config http tls
fuzz-build: fuzz-deps
	cmake -S . -B $(FUZZ_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
	  -DFLOTILLA_FUZZ=ON -DFLOTILLA_TESTS=OFF -DFLOTILLA_BENCH=OFF >/dev/null
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target $(addprefix fuzz_,$(FUZZ_TARGETS))

fuzz: fuzz-build
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(FUZZ_BUILD)/corpus/$$t $(FUZZ_BUILD)/crashes/$$t; \
	  echo "== fuzz_$$t for $(FUZZ_SECONDS) s"; \
	  $(FUZZ_BUILD)/tests/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 -print_final_stats=1 \
	    -artifact_prefix=$(FUZZ_BUILD)/crashes/$$t/ $(FUZZ_BUILD)/corpus/$$t tests/fuzz/corpus/$$t 2>&1 | \
	    grep -E "^(#[0-9]+ +DONE|stat::number_of_executed_units|stat::peak_rss_mb|==[0-9]+==ERROR|SUMMARY|Done)" ; \
	  test $${PIPESTATUS[0]} -eq 0 || exit 1; \
	done

# Each target for 60 s.
fuzz-smoke:
	$(MAKE) fuzz FUZZ_SECONDS=60

# The seed corpora again, from Flotilla's own encoders (tests/fuzz/seed_corpus.cc).
fuzz-seeds: build-all
	$(BUILD)/tests/fuzz/seed_corpus tests/fuzz/corpus
