# The two set-up commands of README.md, and the pieces they are made of.
#   make run    install what is missing, build Release, write ./var/sluice.toml if absent, run sluiced
#   make test   install, build (plus an ASan/UBSan build), run the whole suite through ctest
#   make bench  the benchmarks in bench/ (not part of make test)
.PHONY: run test deps build build-asan build-fuzz bench clean

BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
JOBS       ?= $(shell nproc)
CONFIG     ?= var/sluice.toml

# ccache: paths relative to the checkout and no working-directory hash, so a fresh clone
# elsewhere (CI) and the three build directories share cached objects.
export CCACHE_BASEDIR   := $(CURDIR)
export CCACHE_NOHASHDIR := true

deps:
	@scripts/install-deps

build: deps
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build $(BUILD) -j $(JOBS)

build-asan: deps
	cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DSLUICE_SANITIZE=ON >/dev/null
	cmake --build $(ASAN_BUILD) -j $(JOBS)

# libFuzzer needs clang; only the fuzz targets (parsers, no Asio) are built with it.
build-fuzz: deps
	cmake -S . -B $(FUZZ_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DSLUICE_FUZZ=ON \
	  -DCMAKE_CXX_COMPILER=clang++ >/dev/null
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fuzzers

$(CONFIG): | build
	@mkdir -p $(dir $(CONFIG))
	$(BUILD)/sluiced --write-default-config $(CONFIG)

run: build $(CONFIG)
	$(BUILD)/sluiced --config $(CONFIG)

# The sanitizer build runs the unit tests and the integration tests that drive sessions.
test: build build-asan build-fuzz
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)
	cd $(FUZZ_BUILD) && ctest --output-on-failure -j $(JOBS) -L fuzz
	cd $(ASAN_BUILD) && ctest --output-on-failure -j $(JOBS) -L 'unit|integration' -LE slow

bench: build
	bench/run

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
