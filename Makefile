# pepita + cohete: thin wrapper around meson/ninja.
#
#   make run      install deps, build, run `cohete status`
#   make build    install deps, configure (once) and build build/
#   make check    every test suite (unit, fixture, host, cross) + summary
#   make asan     address+undefined sanitizer build, unit + fixture suites
#   make bench    benchmarks (print figures, never fail)
#   make install  meson install -C build
#   make clean    remove the build directories
#
# CI=true (any value but "", "0", "false") adds --werror to meson setup.

SHELL := /bin/bash

BUILD       ?= build
BUILD_ASAN  ?= build-asan
BUILD_TSAN  ?= build-tsan
BUILD_CROSS ?= build-aarch64

MESON_SETUP_ARGS ?=
ifneq ($(filter-out 0 false False FALSE no,$(CI)),)
ifeq ($(filter --werror,$(MESON_SETUP_ARGS)),)
MESON_SETUP_ARGS += --werror
endif
endif
# cross-check.sh (run by `meson test`) configures build-aarch64 with these too.
export MESON_SETUP_ARGS

# deps.sh installs meson with pip --user where the distribution's is too old
# (Ubuntu 22.04 / L4T R36).
export PATH := $(HOME)/.local/bin:$(PATH)

TEST_SUMMARY = python3 scripts/test-summary.py

.PHONY: all run build deps deps-test setup check asan tsan bench install clean

all: build

deps:
	scripts/deps.sh

deps-test:
	scripts/deps.sh --test

# Configure once. TESTS=true also builds the test programs, the test VM
# images and the benchmarks (meson option "tests"): `make run` and `make
# build` need none of them, nor the packages that build them. An existing
# build dir is only ever switched on (tests, --werror in CI), never off.
TESTS ?= false
setup:
	@if [ ! -f $(BUILD)/build.ninja ]; then \
		echo "meson setup $(BUILD) -Dtests=$(TESTS) $(MESON_SETUP_ARGS)"; \
		meson setup $(BUILD) -Dtests=$(TESTS) $(MESON_SETUP_ARGS); \
	else \
		if [ "$(TESTS)" = true ] && ! grep -q '"name": "tests", "value": true' \
			$(BUILD)/meson-info/intro-buildoptions.json 2>/dev/null; then \
			echo "meson configure $(BUILD) -Dtests=true"; \
			meson configure $(BUILD) -Dtests=true; \
		fi; \
		if [ -n "$(filter --werror,$(MESON_SETUP_ARGS))" ]; then \
			meson configure $(BUILD) -Dwerror=true; \
		fi; \
	fi

build: deps
	$(MAKE) --no-print-directory setup
	ninja -C $(BUILD)

# The tools are not installed by `make run`: this prints where they are.
run: build
	./$(BUILD)/cli/cohete status
	@echo
	@echo "The tools are $(BUILD)/cli/cohete and $(BUILD)/cli/pepita;" \
	      "'make install' puts them on PATH (or: export PATH=\"$$PWD/$(BUILD)/cli:\$$PATH\")."

check: deps-test
	$(MAKE) --no-print-directory setup TESTS=true
	ninja -C $(BUILD)
	@rc=0; \
	meson test -C $(BUILD) --print-errorlogs --num-processes 2 || rc=$$?; \
	$(TEST_SUMMARY) $(BUILD)/meson-logs/testlog.json \
		$(BUILD_CROSS)/meson-logs/testlog.json || rc=1; \
	exit $$rc

asan: deps
	@if [ ! -f $(BUILD_ASAN)/build.ninja ]; then \
		echo "meson setup $(BUILD_ASAN) -Db_sanitize=address,undefined -Db_lundef=false $(MESON_SETUP_ARGS)"; \
		meson setup $(BUILD_ASAN) -Db_sanitize=address,undefined -Db_lundef=false $(MESON_SETUP_ARGS); \
	elif [ -n "$(filter --werror,$(MESON_SETUP_ARGS))" ]; then \
		meson configure $(BUILD_ASAN) -Dwerror=true; \
	fi
	ninja -C $(BUILD_ASAN)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	meson test -C $(BUILD_ASAN) --suite unit --suite fixture --print-errorlogs

# ThreadSanitizer: the unit suite (budgets, thermal guard, CPU detection) and the
# guard's live test, where threads really race.
tsan: deps
	@if [ ! -f $(BUILD_TSAN)/build.ninja ]; then \
		echo "meson setup $(BUILD_TSAN) -Db_sanitize=thread $(MESON_SETUP_ARGS)"; \
		meson setup $(BUILD_TSAN) -Db_sanitize=thread $(MESON_SETUP_ARGS); \
	elif [ -n "$(filter --werror,$(MESON_SETUP_ARGS))" ]; then \
		meson configure $(BUILD_TSAN) -Dwerror=true; \
	fi
	ninja -C $(BUILD_TSAN)
	TSAN_OPTIONS=halt_on_error=1 \
	meson test -C $(BUILD_TSAN) --suite unit --suite threads --print-errorlogs

# bench/quant's anchor, llama.cpp's quantizer: fetched, not packaged.
bench: deps
	$(MAKE) --no-print-directory setup TESTS=true
	ninja -C $(BUILD)
	scripts/fetch-llama.sh >/dev/null || true
	meson test -C $(BUILD) --benchmark --verbose

install: build
	meson install -C $(BUILD)

clean:
	rm -rf build build-asan build-aarch64
