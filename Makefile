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

# The tests, goldens and demo expect plumb's default kernel set (scalar):
# a PLUMB_KERNELS exported in the shell must not leak into them.
unexport PLUMB_KERNELS PLUMB_KERNELS_DISABLE

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

.PHONY: all deps test demo repro fixtures bench-models vocab clean help examples

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
$(BUILD)/engine/kernels/avx2.o: ALL_CFLAGS += -mavx2 -mfma -mf16c
$(BUILD)/engine/kernels/avx512.o: ALL_CFLAGS += -mavx512f -mavx512bw -mavx512vl -mavx2 -mfma -mf16c
$(BUILD)/engine/kernels/avx512_vnni.o: ALL_CFLAGS += -mavx512f -mavx512bw -mavx512vl -mavx512vnni -mavx512vbmi -mavx512bitalg -mgfni -mavx2 -mfma -mf16c
endif

# The flags a build used go into dumps' provenance.
$(BUILD)/engine/buildinfo.o: ALL_CFLAGS += -DPLUMB_BUILD_CFLAGS='"$(subst ','',$(CFLAGS) $(SAN_FLAGS))"'

$(LIB): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(PLUMB): $(TOOL_OBJ) $(LIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $(TOOL_OBJ) $(LIB) $(PKG_LIBS) -ldl -lm

$(TESTS): $(TEST_OBJ) $(LIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $(TEST_OBJ) $(LIB) $(PKG_LIBS) $(CRIT_LIBS) -ldl -lm

## examples: build the example kernel plugins (tools/examples/) into $(BUILD)/examples/
# Built as a user builds a plugin: against engine/kernels.h alone, with the
# numerics flags but no plumb library and no sanitizers.
EXAMPLE_SRC := $(wildcard tools/examples/*.c tools/examples/bad/*.c)
EXAMPLES := $(EXAMPLE_SRC:tools/examples/%.c=$(BUILD)/examples/%.so)
examples: $(EXAMPLES)

$(BUILD)/examples/%.so: tools/examples/%.c engine/kernels.h
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -ffp-contract=off -fno-fast-math $(WARN) $(CFLAGS) -shared -fPIC -Iengine -o $@ $<

# llama.cpp's tokenizer test vocabularies, from the llama-cpp-python source
# package (independent reference data for the tokenizer tests; not committed).
LLAMA_CPP_PY_VERSION := 0.3.36
VOCAB_DIR := build/vocab

## vocab: fetch llama.cpp's tokenizer test vocabularies into build/vocab/
vocab: $(VOCAB_DIR)/.stamp
$(VOCAB_DIR)/.stamp: tools/fetch-vocab.sh tools/llama-cpp-sdist.sh
	sh tools/fetch-vocab.sh $(VOCAB_DIR) $(LLAMA_CPP_PY_VERSION)

## test: build and run the whole Criterion suite (TAP and JUnit XML in $(BUILD)/)
# Under sanitizers a finding fails the run even where Criterion would only
# print it (LeakSanitizer reports at process exit). Allocation stacks are cut
# to the allocating function so that the suppression of Criterion's own
# leaks (tests/lsan.supp) cannot match a leak made by a test through it.
test: $(TESTS) $(PLUMB) $(VOCAB_DIR)/.stamp $(EXAMPLES)
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

# Timing inputs only (the generator's bytes are pinned by the tests): a new
# plumb build does not regenerate these 10 GB, a changed spec does.
build/bench/%.gguf: fixtures/bench/%.yaml | $(PLUMB)
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

# ---- fuzzing (tests/fuzz/) ----
# libFuzzer targets, built by clang with ASan and UBSan into build/fuzz/; the
# library is compiled there with the same flags by a sub-make (BUILD and
# SAN_FLAGS overridden, as repro does). tools/fuzz.sh builds the seed
# corpora, runs the targets and files minimised crashes under
# tests/fuzz/regress/, which tests/test_fuzz_regress.c replays in `make test`.
FUZZ_BUILD := build/fuzz
FUZZ_FLAGS := -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_TARGETS := gguf spec policy suite dump tokenizer
FUZZ_SECONDS ?= 60
FUZZ_JOBS ?= 1
.PHONY: fuzz fuzz-build

## fuzz-build: build the libFuzzer targets (clang, ASan+UBSan) into build/fuzz/
fuzz-build:
	@sh tools/deps.sh fuzz
	@$(MAKE) --no-print-directory CC=clang BUILD=$(FUZZ_BUILD) SAN_FLAGS='$(FUZZ_FLAGS)' \
	  $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/fuzz_%)

## fuzz: run each fuzz target FUZZ_SECONDS (60), FUZZ_JOBS (1) at a time; findings minimised into tests/fuzz/regress/
fuzz: fuzz-build fixtures $(VOCAB_DIR)/.stamp $(BUILD)/fuzz-seeds
	@FUZZ_JOBS=$(FUZZ_JOBS) FUZZ_SEEDS=$(BUILD)/fuzz-seeds sh tools/fuzz.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# Fuzz sources with every warning on (not the Criterion rule's exemption).
$(BUILD)/tests/fuzz/%.o: tests/fuzz/%.c | deps
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

.PRECIOUS: $(BUILD)/tests/fuzz/%.o
$(FUZZ_BUILD)/fuzz_%: $(FUZZ_BUILD)/tests/fuzz/fuzz_%.o $(FUZZ_BUILD)/libplumb.a
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) -ldl -lm

# The synthetic seeds and hostile cases (tests/fuzz/seeds.c): a plain program.
$(BUILD)/fuzz-seeds: $(BUILD)/tests/fuzz/seeds.o $(LIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) -ldl -lm

-include $(wildcard $(BUILD)/tests/fuzz/*.d)

# ---- cross-check against gguf-py and llama.cpp (tools/crosscheck/) ----
# The only place Python appears: a venv under build/crosscheck/ with the
# pinned packages of tools/crosscheck/requirements.txt from PyPI (pip builds
# llama.cpp's CPU backend from source once; its wheel stays in pip's cache,
# XC_PIP_CACHE, default build/crosscheck/pip-cache; point it outside the
# tree to keep the wheel across `make clean`). One C helper linked with
# libplumb, xc-dequant (plumb's dequantized floats); the ggml kernel set's
# predictions come from `plumb dump --kernels ggml`.
XC_DIR := build/crosscheck
XC_PY := $(XC_DIR)/venv/bin/python
XC_PIP_CACHE ?= $(XC_DIR)/pip-cache
XC_HELPERS := $(BUILD)/xc-dequant

## crosscheck: hold plumb against gguf-py and llama.cpp (Python venv from PyPI); writes reports/crosscheck.md
crosscheck: $(PLUMB) $(XC_HELPERS) $(XC_DIR)/venv/.stamp fixtures
	PYTHONDONTWRITEBYTECODE=1 $(XC_PY) tools/crosscheck/crosscheck.py --plumb $(PLUMB) --dequant $(BUILD)/xc-dequant \
	  --ggml-dump "$(PLUMB) dump --kernels ggml" --fixtures $(BUILD)/fixtures --work $(XC_DIR) \
	  --report reports/crosscheck.md

$(XC_DIR)/venv/.stamp: tools/crosscheck/requirements.txt tools/crosscheck/venv.sh
	@mkdir -p $(XC_DIR)
	sh tools/crosscheck/venv.sh $(XC_DIR) $(XC_PIP_CACHE)

$(BUILD)/xc-dequant: $(BUILD)/tools/crosscheck/dequant.o $(LIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) -lm

.PHONY: crosscheck
-include $(BUILD)/tools/crosscheck/dequant.d

# llama.cpp's llama-bench, from the llama.cpp that the cross-check's
# llama-cpp-python vendors, built natively (tools/crosscheck/llama-bench.sh).
LB_DIR := build/llamacpp-bench
BENCH_VS_MODELS := $(foreach t,f32 f16 q8_0 q4_0 q4_k,build/bench/tinyllama-$(t).gguf)
BENCH_VS_ROUNDS ?= 3

## bench-vs-llamacpp: plumb bench and llama.cpp's llama-bench on the bench models, alternating; writes reports/bench.md
bench-vs-llamacpp: $(PLUMB) $(LB_DIR)/.stamp $(BENCH_VS_MODELS)
	python3 tools/crosscheck/bench_vs_llamacpp.py --plumb $(PLUMB) --llama-bench $(LB_DIR)/llama-bench \
	  --threads 2 --prompt 128 --decode 16 --rounds $(BENCH_VS_ROUNDS) --report reports/bench.md $(BENCH_VS_MODELS)

$(LB_DIR)/.stamp: tools/crosscheck/llama-bench.sh tools/llama-cpp-sdist.sh
	sh tools/crosscheck/llama-bench.sh $(LB_DIR) $(LLAMA_CPP_PY_VERSION)

.PHONY: bench-vs-llamacpp

# ---- quality gates: coverage and hostile inputs ----
# An instrumented -O0 build in build/coverage/ (--coverage rides in SAN_FLAGS,
# so the example plugins stay plain), run by tools/coverage.sh: the whole
# suite, then `plumb check`, then gcovr for engine/ and harness/ into
# reports/coverage/ (index.html with a page per file, coverage.xml).
COV_BUILD := build/coverage
COVERAGE_MIN_LINE ?= 90
COVERAGE_MIN_BRANCH ?= 75
.PHONY: coverage coverage-gate coverage-build hostile

# coverage-build: the instrumented plumb, plumb-tests and example plugins
coverage-build: $(VOCAB_DIR)/.stamp
	@$(MAKE) --no-print-directory BUILD=$(COV_BUILD) SAN= CFLAGS='-O0 -g -DPLUMB_COVERAGE' SAN_FLAGS=--coverage \
	  $(COV_BUILD)/plumb $(COV_BUILD)/plumb-tests examples

## coverage: instrumented build and run (build/coverage/); gcovr reports in reports/coverage/ and a summary line
coverage: coverage-build
	@sh tools/coverage.sh $(COV_BUILD) reports/coverage

## coverage-gate: coverage, failing below COVERAGE_MIN_LINE (90) % lines or COVERAGE_MIN_BRANCH (75) % branches
coverage-gate: coverage-build
	@sh tools/coverage.sh $(COV_BUILD) reports/coverage $(COVERAGE_MIN_LINE) $(COVERAGE_MIN_BRANCH)

## hostile: feed every command hostile inputs (tests/hostile.sh), normal and sanitizer builds
hostile:
	@$(MAKE) --no-print-directory SAN= BUILD=build build/plumb
	@$(MAKE) --no-print-directory SAN=address,undefined BUILD=build/san build/san/plumb
	@rc=0; for p in build/plumb build/san/plumb; do bash tests/hostile.sh $$p || rc=1; done; exit $$rc

# ---- aarch64: the neon kernel set, cross-built and run under qemu-user ----
# An aarch64 build in build/aarch64/ by Debian's cross gcc, against the
# :arm64 libyaml and zlib (tools/deps.sh aarch64 installs what is missing),
# run by qemu-aarch64 without -L: the program's loader and libc are then
# the :arm64 ones beside libyaml. (-L /usr/aarch64-linux-gnu would pair the
# cross toolchain's ld.so with that libc, another build of glibc 2.36, and
# a forked child then loops forever inside fork.) In order: the Criterion
# suite, when the arm64 Criterion can be had (tools/criterion-arm64.sh:
# Debian will not install it beside the amd64 one) with tests/qemu/exec.c
# standing in for binfmt_misc; the neon set's op sweep and the suite under
# the simd policy; the suite with the scalar set under the exact policy,
# fixtures generated by the aarch64 build itself (goldens recorded on
# x86-64 must pass bit for bit); and neon's dumps against avx2's, which
# must be the same bits (engine/kernels/neon.c says why), where this CPU
# runs avx2. About 2 minutes on 2 cores from a clean build/aarch64/ (the
# Criterion suite 1 of them; its "qemu: uncaught target signal 11" lines
# are the crashes that the kernel-check tests provoke on purpose).
XA_BUILD := build/aarch64
XA_CC := aarch64-linux-gnu-gcc
XA_QEMU := qemu-aarch64
XA_PKGCONF := PKG_CONFIG_LIBDIR=/usr/lib/aarch64-linux-gnu/pkgconfig pkg-config
XA_CRIT := $(XA_BUILD)/criterion
XA_CRIT_LIB := $(XA_CRIT)/usr/lib/aarch64-linux-gnu
XA_SAME := mha gqa mqa mixed
XA_MAKE = $(MAKE) --no-print-directory CC=$(XA_CC) BUILD=$(XA_BUILD) SAN= SAN_FLAGS= \
  PKG_CFLAGS="$$($(XA_PKGCONF) --cflags $(PKGS))" PKG_LIBS="$$($(XA_PKGCONF) --libs $(PKGS))"
.PHONY: cross-aarch64

# gcc 12's aarch64 loop vectorizer crashes on one of this file's loops
# (internal compiler error in vect_transform_reduction).
$(XA_BUILD)/tests/test_quants.o: ALL_CFLAGS += -fno-tree-loop-vectorize

## cross-aarch64: build for aarch64 (build/aarch64/); under qemu-user run the tests, kernels check --kernels neon, check (exact)
cross-aarch64: $(PLUMB) $(VOCAB_DIR)/.stamp
	@sh tools/deps.sh aarch64
	@$(XA_MAKE) $(XA_BUILD)/plumb examples
	@if sh tools/criterion-arm64.sh $(XA_CRIT); then \
	  echo "cross-aarch64: the Criterion suite under $(XA_QEMU)"; \
	  $(XA_MAKE) $(XA_BUILD)/tests/qemu/exec.o && \
	  $(XA_MAKE) CRIT_CFLAGS= \
	    CRIT_LIBS="$(XA_BUILD)/tests/qemu/exec.o -L$(XA_CRIT_LIB) -l:libcriterion.so.3 \
	      -Wl,--disable-new-dtags,-rpath,$(CURDIR)/$(XA_CRIT_LIB)" \
	    $(XA_BUILD)/plumb-tests && \
	  PLUMB_TEST_QEMU="$$(command -v $(XA_QEMU))" $(XA_QEMU) $(XA_BUILD)/plumb-tests --jobs=$(TEST_JOBS) \
	    --tap=$(XA_BUILD)/tests.tap --xml=$(XA_BUILD)/tests.xml $(TEST_ARGS); \
	else echo "cross-aarch64: the Criterion suite is skipped (no arm64 Criterion: see above)"; fi
	@rm -rf $(XA_BUILD)/check-cache
	@echo "cross-aarch64: plumb kernels check --kernels neon"
	$(XA_QEMU) $(XA_BUILD)/plumb kernels check --kernels neon --cache $(XA_BUILD)/check-cache
	@echo "cross-aarch64: plumb check (scalar, exact policy; x86-64 goldens)"
	$(XA_QEMU) $(XA_BUILD)/plumb check --cache $(XA_BUILD)/check-cache
	@if ! $(PLUMB) kernels list | grep -q '^avx2 *supported'; then \
	  echo "cross-aarch64: this CPU cannot run avx2: neon's dumps not compared with avx2's"; \
	else \
	  set -e; mkdir -p $(XA_BUILD)/same; \
	  for m in $(XA_SAME); do \
	    d=$(XA_BUILD)/same/$$m; \
	    { $(PLUMB) gen fixtures/$$m.yaml -o $$d.gguf && \
	      $(PLUMB) dump -m $$d.gguf -p "The rain fell on the roof." --kernels avx2 -o $$d-avx2.gguf.gz && \
	      $(XA_QEMU) $(XA_BUILD)/plumb dump -m $$d.gguf -p "The rain fell on the roof." --kernels neon \
	        --threads 2 -o $$d-neon.gguf.gz && \
	      $(PLUMB) compare $$d-avx2.gguf.gz $$d-neon.gguf.gz; } >$$d.log 2>&1 || { cat $$d.log; exit 1; }; \
	    printf 'cross-aarch64: %-5s neon (aarch64) against avx2 (x86-64), exact: %s\n' $$m "$$(tail -n 1 $$d.log)"; \
	  done; \
	fi

## clean: remove build/ and generated reports
clean:
	rm -rf build reports/*

## help: list the targets
help:
	@grep -E '^## ' Makefile | sed 's/^## /  make /'

-include $(LIB_OBJ:.o=.d) $(TOOL_OBJ:.o=.d) $(TEST_OBJ:.o=.d)
