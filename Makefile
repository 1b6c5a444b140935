# SPDX-License-Identifier: Apache-2.0
# The front door: make, make run, make test, make bench, make clean.
SHELL := /bin/bash
BUILD ?= build
ASAN_BUILD ?= build-asan
# Warnings are errors in CI (CI=true) and may be forced with WERROR=ON.
WERROR ?= $(if $(CI),ON,OFF)
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=RelWithDebInfo

.PHONY: all build build-bin setup run test unit unit-asan integration spark-test bench fuzz clean

all: build

build:
	@cmake -S . -B $(BUILD) $(CMAKE_FLAGS) -DSPATE_WERROR=$(WERROR) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

# Only the binary: `make run` should not wait for the test programs.
build-bin:
	@cmake -S . -B $(BUILD) $(CMAKE_FLAGS) -DSPATE_WERROR=$(WERROR) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS) --target spate

setup:
	@scripts/setup

run: setup build-bin
	./$(BUILD)/spate run $(ARGS)

# Unit tests plain and under ASan+UBSan, then integration tests against the
# real Kafka, Spark and Cassandra that tests/integration/run starts and stops.
test: setup
	@$(MAKE) --no-print-directory build WERROR=ON
	@$(MAKE) --no-print-directory -k unit unit-asan spark-test integration

unit: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

unit-asan:
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DSPATE_ASAN=ON -DSPATE_UBSAN=ON \
	    -DSPATE_WERROR=ON >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j $(JOBS)

spark-test:
	@if [ -d tests/spark ]; then .venv/bin/python -m pytest -q tests/spark; fi

integration: build
	tests/integration/run

bench:
	@scripts/setup --bench
	@$(MAKE) --no-print-directory build
	bench/run $(ARGS)

fuzz:
	CC=clang cmake -S . -B build-fuzz -DSPATE_FUZZ=ON -DSPATE_ASAN=ON -DSPATE_UBSAN=ON >/dev/null
	cmake --build build-fuzz -j $(JOBS)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) build-fuzz

# Containers (issue 8): build every image and test the compose stack on a
# Docker engine that scripts/container-test starts and stops itself.
.PHONY: test-containers
test-containers: setup
	scripts/container-test $(ARGS)
