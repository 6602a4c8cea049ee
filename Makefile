# Thin wrapper around CMake for the commands people type. See README.md.
BUILD ?= build
JOBS ?= 2
DB ?= conway.db
LISTEN ?= 127.0.0.1:7700
PREFIX ?= /usr/local
# DESTDIR (for packaging) is passed on through the environment

.PHONY: all deps deps-run install build demo demo-run test test-unit test-api test-sanitize fuzz bench clean

all: build

deps:
	./scripts/deps.sh

# only what building and running conway needs (no servers, browser, test tools)
deps-run:
	./scripts/deps.sh --run

# the binary, man page, bash/zsh completion, systemd unit (docs/operations.md)
install: build
	cmake --install $(BUILD) --prefix $(PREFIX)

build:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build $(BUILD) -j$(JOBS)

demo: deps build
	./scripts/demo.sh $(BUILD)/conway $(DB) $(LISTEN)

# the demo without installing anything: needs no root (README, first run)
demo-run: build
	./scripts/demo.sh $(BUILD)/conway $(DB) $(LISTEN)

test: deps build
	./scripts/test.sh

test-unit: build
	cd $(BUILD) && ctest --output-on-failure -L unit

test-api: build
	CONWAY_BIN=$(abspath $(BUILD))/conway node --test tests/api/

fuzz:
	./scripts/fuzz.sh $${FUZZ_SECONDS:-60}

bench: build
	./bench/run.sh

clean:
	rm -rf $(BUILD) build-*
