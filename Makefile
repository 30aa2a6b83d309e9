# plumb: one non-recursive Makefile. `make help` lists the targets.
#
# CFLAGS is yours (default -O2 -g); the flags plumb needs live in REQ_CFLAGS.
# SAN=address,undefined builds everything with those sanitizers into
# build/san/ (`make test SAN=address,undefined`).

SHELL := /bin/bash
CC ?= cc
CFLAGS ?= -O2 -g
LDFLAGS ?=

# Reproducible numerics: no FMA contraction, no fast-math, IEEE semantics.
REQ_CFLAGS := -std=c11 -D_DEFAULT_SOURCE -ffp-contract=off -fno-fast-math \
              -fno-strict-aliasing -pthread -Iengine -Iengine/kernels -Iharness -Itools
WARN := -Wall -Wextra -Wshadow -Wconversion -Wno-sign-conversion \
        -Wstrict-prototypes -Wmissing-prototypes -Wpointer-arith -Wvla

ifdef SAN
BUILD := build/san
SAN_FLAGS := -fsanitize=$(SAN) -fno-sanitize-recover=all -fno-omit-frame-pointer
else
BUILD := build
SAN_FLAGS :=
endif

PKGS := yaml-0.1 zlib
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CRIT_CFLAGS = $(shell pkg-config --cflags criterion 2>/dev/null)
CRIT_LIBS = $(shell pkg-config --libs criterion 2>/dev/null)

ALL_CFLAGS = $(REQ_CFLAGS) $(WARN) $(SAN_FLAGS) $(PKG_CFLAGS) $(CFLAGS)
ALL_LDFLAGS = $(SAN_FLAGS) -pthread $(LDFLAGS)

LIB_SRC := $(wildcard engine/*.c) $(wildcard engine/kernels/*.c) $(wildcard harness/*.c)
TOOL_SRC := $(wildcard tools/*.c)
TEST_SRC := $(wildcard tests/*.c)

LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
TOOL_OBJ := $(TOOL_SRC:%.c=$(BUILD)/%.o)
TEST_OBJ := $(TEST_SRC:%.c=$(BUILD)/%.o)

LIB := $(BUILD)/libplumb.a
PLUMB := $(BUILD)/plumb
TESTS := $(BUILD)/plumb-tests

# Criterion options for `make test`: reports beside the build, jobs = cores.
TEST_JOBS ?= $(shell nproc 2>/dev/null || echo 2)
TEST_ARGS ?=

.PHONY: all deps test demo repro fixtures bench-models vocab clean help

## all: build the plumb CLI and its library (default)
all: $(PLUMB)

## deps: check build/test dependencies, installing Debian packages as root
deps:
	@sh tools/deps.sh

$(BUILD)/%.o: %.c | deps
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

# Criterion's assertion macros trip -Wconversion at every use: off for tests.
$(BUILD)/tests/%.o: tests/%.c | deps
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Wno-conversion $(CRIT_CFLAGS) -DPLUMB_BUILD_DIR='"$(BUILD)"' -MMD -MP -c $< -o $@

# SIMD files get their instruction sets one file at a time, so the binary
# still runs on CPUs without them (the code checks the CPU before calling).
TARGET_ARCH_NAME := $(shell $(CC) -dumpmachine 2>/dev/null)
ifneq ($(findstring x86_64,$(TARGET_ARCH_NAME)),)
$(BUILD)/engine/kernels/quant_avx2.o: ALL_CFLAGS += -mavx2 -mfma -mf16c
endif

# The flags a build used go into dumps' provenance.
$(BUILD)/engine/buildinfo.o: ALL_CFLAGS += -DPLUMB_BUILD_CFLAGS='"$(subst ','',$(CFLAGS) $(SAN_FLAGS))"'

$(LIB): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(PLUMB): $(TOOL_OBJ) $(LIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $(TOOL_OBJ) $(LIB) $(PKG_LIBS) -lm

$(TESTS): $(TEST_OBJ) $(LIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $(TEST_OBJ) $(LIB) $(PKG_LIBS) $(CRIT_LIBS) -lm

# llama.cpp's tokenizer test vocabularies, from the llama-cpp-python source
# package (independent reference data for the tokenizer tests; not committed).
LLAMA_CPP_PY_VERSION := 0.3.36
VOCAB_DIR := build/vocab

## vocab: fetch llama.cpp's tokenizer test vocabularies into build/vocab/
vocab: $(VOCAB_DIR)/.stamp
$(VOCAB_DIR)/.stamp: tools/fetch-vocab.sh
	sh tools/fetch-vocab.sh $(VOCAB_DIR) $(LLAMA_CPP_PY_VERSION)

## test: build and run the whole Criterion suite (TAP and JUnit XML in $(BUILD)/)
# Under sanitizers a finding fails the run even where Criterion would only
# print it (LeakSanitizer reports at process exit). Allocation stacks are cut
# to the allocating function so that the suppression of Criterion's own
# leaks (tests/lsan.supp) cannot match a leak made by a test through it.
test: $(TESTS) $(PLUMB) $(VOCAB_DIR)/.stamp
ifdef SAN
	ASAN_OPTIONS=malloc_context_size=2 \
	LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0 \
	  $(TESTS) --jobs=$(TEST_JOBS) --tap=$(BUILD)/tests.tap --xml=$(BUILD)/tests.xml $(TEST_ARGS) \
	  2>&1 | tee $(BUILD)/tests.log; test $${PIPESTATUS[0]} -eq 0
	@! grep -E 'ERROR: (Leak|Address)Sanitizer|runtime error:' $(BUILD)/tests.log \
	  || { echo 'sanitizer findings above'; exit 1; }
else
	$(TESTS) --jobs=$(TEST_JOBS) --tap=$(BUILD)/tests.tap --xml=$(BUILD)/tests.xml $(TEST_ARGS)
endif

## fixtures: generate every shipped fixture spec into $(BUILD)/fixtures/
FIXTURE_SPECS := $(filter-out fixtures/suite.yaml,$(wildcard fixtures/*.yaml))
fixtures: $(FIXTURE_SPECS:fixtures/%.yaml=$(BUILD)/fixtures/%.gguf)

$(BUILD)/fixtures/%.gguf: fixtures/%.yaml $(PLUMB)
	@mkdir -p $(dir $@)
	$(PLUMB) gen $< -o $@

## bench-models: generate the TinyLlama-shaped benchmark models (f32, f16, q8_0, q4_0, q4_k; 10 GB) into build/bench/
BENCH_SPECS := $(wildcard fixtures/bench/*.yaml)
bench-models: $(BENCH_SPECS:fixtures/bench/%.yaml=build/bench/%.gguf)

build/bench/%.gguf: fixtures/bench/%.yaml $(PLUMB)
	@mkdir -p $(dir $@)
	$(PLUMB) gen $< -o $@

## demo: generate a fixture, run the engine on it, check the suite against the goldens, write reports/
demo: $(PLUMB) $(BUILD)/fixtures/gqa.gguf
	$(PLUMB) inspect $(BUILD)/fixtures/gqa.gguf | tail -n 1
	$(PLUMB) run -m $(BUILD)/fixtures/gqa.gguf -p "The river" -n 16 --seed 1
	$(PLUMB) check --report reports
	@echo "demo: reports written to reports/ (open reports/report.html)"

## repro: gcc and clang at -O0/-O2/-O3 must all pass the suite exactly, at 1, 2 and 4 threads
REPRO_BUILDS := gcc-O0 gcc-O2 gcc-O3 clang-O0 clang-O2 clang-O3
repro:
	@sh tools/deps.sh repro
	@set -e; for b in $(REPRO_BUILDS); do \
	  cc=$${b%-*}; opt=$${b#*-}; \
	  $(MAKE) --no-print-directory CC=$$cc CFLAGS="-$$opt -g" BUILD=build/repro/$$b build/repro/$$b/plumb >/dev/null; \
	  for t in 1 2 4; do \
	    printf '%-9s %d thread(s): ' $$b $$t; \
	    build/repro/$$b/plumb check --threads $$t --cache build/repro/cache | tail -n 1; \
	  done; \
	done

## clean: remove build/ and generated reports
clean:
	rm -rf build reports/*

## help: list the targets
help:
	@grep -E '^## ' Makefile | sed 's/^## /  make /'

-include $(LIB_OBJ:.o=.d) $(TOOL_OBJ:.o=.d) $(TEST_OBJ:.o=.d)
