# The README's commands. `make up` and `make test` both run the setup script
# first, so a new machine needs nothing else.
BUILD ?= build
JOBS ?= $(shell nproc)
CTEST_ARGS ?=

.PHONY: setup build test up down unit clean format bench

setup:
	@bash scripts/setup.sh

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: setup $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) --timeout 600 $(CTEST_ARGS)

up: build
	@$(BUILD)/podnet up --nodes 3 --data-dir $(CURDIR)/data --manifests $(CURDIR)/examples

down:
	@$(BUILD)/podnet down --data-dir $(CURDIR)/data

bench: build
	@bash scripts/setup_bench.sh && bash bench/run.sh $(BUILD)

format:
	clang-format -i $$(git ls-files '*.cpp' '*.h')

clean:
	rm -rf $(BUILD)
