# nuzantara -- build, test, demo.
#
#   make            build every binary into build/
#   make test       install missing Debian packages (tools/deps.sh test), build, run all tests
#   make demo       install only what the demo needs (deps.sh demo), build, ingest, serve, query
#   make asan       build into build-asan/ with ASan+UBSan and run all tests
#   make bench      benchmarks against their anchors (deps.sh bench)
#   make fuzz       libFuzzer targets, FUZZ_SECONDS each (deps.sh fuzz)
#   make torture    crash trials: SIGKILL writers TRIALS times each (default 100; not in make test)
#   make fuzz-long  the same on both cores (-fork=2): FUZZ_SECONDS=N each, exec/s and cov
#   make deps       check (and as root install) the build packages; DEPS="build test ..." for more
#   make install    the seven nz-* binaries into $(DESTDIR)$(PREFIX)/bin (PREFIX=/usr/local)
#   make uninstall  remove them again
#   make format     clang-format -i every tracked .c and .h file
#   make image      build the container image with podman (tools/image.sh; root installs podman)
#   make image-test build it, run it on a scratch /data, ingest, check /health and a query
#
# Libraries come from pkg-config. Variables are recursive (=) so that
# `make deps` works before the -dev packages exist.

BUILD   ?= build
CC      ?= cc
OPT     ?= -O2
PKGS     = libcurl libxml-2.0 poppler-glib zlib libpq libmicrohttpd jansson libcrypto \
           libpcre2-8 libutf8proc sqlite3 libarchive
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   = $(shell pkg-config --libs $(PKGS))

# Configuration check: a goal that compiles needs every library above (and
# tcmalloc); without them, stop with one line naming `make deps` instead of
# a page of compiler errors. Goals that install packages first, or compile
# nothing, skip it (test, demo, asan, bench and fuzz check again in the
# make they start after tools/deps.sh).
NOCHECK_GOALS = deps clean uninstall format test demo asan bench fuzz fuzz-long image image-test torture
ifneq ($(if $(MAKECMDGOALS),$(filter-out $(NOCHECK_GOALS),$(MAKECMDGOALS)),all),)
ifeq ($(shell command -v pkg-config),)
$(error pkg-config and the build libraries are missing: run `make deps` first (as root it installs them))
endif
ifneq ($(shell pkg-config --exists $(PKGS) libtcmalloc_minimal 2>/dev/null && echo ok),ok)
NZ_MISSING := $(shell for p in $(PKGS) libtcmalloc_minimal; do pkg-config --exists $$p 2>/dev/null || printf '%s ' $$p; done)
$(error missing build libraries (pkg-config: $(strip $(NZ_MISSING))): run `make deps` first (as root it installs them))
endif
endif

ifeq ($(SAN),1)
SANFLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
OPT      = -O1
endif
OMP = -fopenmp
ifeq ($(FUZZ),1)
# clang + libFuzzer; OpenMP is LLVM's (libomp), run with OMP_NUM_THREADS=1
SANFLAGS = -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
OPT      = -O1
endif

# nz-extract's allocator. poppler allocates and frees small objects by the
# million a document, and glibc's malloc was a fifth of nz-extract's CPU
# time; tcmalloc (gperftools) takes about 15% off a PDF (bench/extract).
# Not under the sanitizers, whose allocator must see every call.
ifeq ($(SAN)$(FUZZ),)
MALLOC_LIBS = $(shell pkg-config --libs libtcmalloc_minimal)
endif

INCLUDES = -Ilib -Iindex -Istages/extract -Istages/chunk -Istages/embed -Iserve -Ipipeline
CFLAGS  += -std=c11 $(OPT) -g -Wall -Wextra -Werror -D_GNU_SOURCE $(OMP) $(SANFLAGS) \
           $(INCLUDES) $(PKG_CFLAGS) -MMD -MP
LDFLAGS += $(OMP) $(SANFLAGS) -Wl,--as-needed
LDLIBS   = $(PKG_LIBS) -lm -lpthread

# Module sources (no main) per part; each binary's main is nz_*.c. lib/ is
# an archive, so a binary links only the shared modules it uses (the
# tokenizer's rank table, for one, only where it counts tokens).
LIB_SRC      = $(wildcard lib/*.c)
INDEX_SRC    = $(filter-out $(INDEX_CLI),$(wildcard index/*.c))
EXTRACT_SRC  = $(filter-out stages/extract/nz_extract.c,$(wildcard stages/extract/*.c))
CHUNK_SRC    = $(filter-out stages/chunk/nz_chunk.c stages/chunk/nz_tokens.c,$(wildcard stages/chunk/*.c))
EMBED_SRC    = $(filter-out stages/embed/nz_embed.c,$(wildcard stages/embed/*.c))
SERVE_SRC    = $(filter-out serve/nz_serve.c,$(wildcard serve/*.c))
PIPELINE_SRC = $(filter-out pipeline/nz_pipeline.c,$(wildcard pipeline/*.c))
UNIT_SRC     = $(wildcard tests/unit/*.c)
# nz-index's main and its commands (index/cmd.h): the tool's, not the library's
INDEX_CLI    = index/nz_index.c $(wildcard index/cmd_*.c)

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))
LIBNZ = $(BUILD)/libnz.a

BINS = $(BUILD)/nz-extract $(BUILD)/nz-chunk $(BUILD)/nz-embed $(BUILD)/nz-index \
       $(BUILD)/nz-serve $(BUILD)/nz-pipeline $(BUILD)/nz-tokens $(BUILD)/nz-unit \
       $(BUILD)/nz-testweb $(BUILD)/nz-mockembed $(BUILD)/nz-unit-tsan

FUZZ_TARGETS = html pdf gzip text docs chunks embedded fvecs manifest snapshot query
FUZZ_SECONDS ?= 60

.PHONY: all test demo asan bench deps clean fuzz fuzz-build fuzz-long torture install uninstall format image image-test
.SECONDARY:
all: $(BINS)

# the rank table is linked in with .incbin
$(BUILD)/obj/lib/cl100k_data.o: lib/cl100k_base.bpe

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC    $<"
	@$(CC) $(CFLAGS) -c $< -o $@

$(LIBNZ): $(call obj,$(LIB_SRC))
	@echo "  AR    $@"
	@rm -f $@ && $(AR) rcs $@ $^

$(BUILD)/nz-extract: $(call obj,stages/extract/nz_extract.c $(EXTRACT_SRC)) $(LIBNZ)
	@echo "  LD    $@"
	@$(CC) $(LDFLAGS) $^ $(MALLOC_LIBS) $(LDLIBS) -o $@
$(BUILD)/nz-chunk: $(call obj,stages/chunk/nz_chunk.c $(CHUNK_SRC)) $(LIBNZ)
	@echo "  LD    $@"
	@$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@
$(BUILD)/nz-tokens: $(call obj,stages/chunk/nz_tokens.c $(CHUNK_SRC)) $(LIBNZ)
	@echo "  LD    $@"
	@$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@
$(BUILD)/nz-embed: $(call obj,stages/embed/nz_embed.c $(EMBED_SRC)) $(LIBNZ)
	@echo "  LD    $@"
	@$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@
$(BUILD)/nz-index: $(call obj,$(INDEX_CLI) $(INDEX_SRC)) $(LIBNZ)
	@echo "  LD    $@"
	@$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@
$(BUILD)/nz-serve: $(call obj,serve/nz_serve.c $(SERVE_SRC) $(INDEX_SRC)) $(LIBNZ)
	@echo "  LD    $@"
	@$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@
# plan expands sources as nz-extract does (sources.c, and sitemaps: fetch.c)
PIPELINE_EXTRACT = stages/extract/sources.c stages/extract/fetch.c stages/extract/gunzip.c
$(BUILD)/nz-pipeline: $(call obj,pipeline/nz_pipeline.c $(PIPELINE_SRC) $(INDEX_SRC) \
                      $(PIPELINE_EXTRACT)) $(LIBNZ)
	@echo "  LD    $@"
	@$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@
$(BUILD)/nz-unit: $(call obj,$(UNIT_SRC) $(EXTRACT_SRC) $(CHUNK_SRC) $(EMBED_SRC) \
                  $(SERVE_SRC) $(PIPELINE_SRC) $(INDEX_SRC)) $(LIBNZ)
	@echo "  LD    $@"
	@$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

# lib/assist.h's threads under ThreadSanitizer: its unit tests alone, in a
# binary of their own (TSan cannot share a binary with ASan, and would not
# see into libgomp's uninstrumented threads), compiled from source here.
TSAN_SRC = tests/unit/test_assist.c tests/unit/unit_main.c lib/assist.c lib/status.c lib/log.c \
           lib/buf.c lib/utf8.c lib/jsonout.c
$(BUILD)/nz-unit-tsan: $(TSAN_SRC) lib/assist.h tests/unit/unit.h
	@echo "  LD    $@"
	@mkdir -p $(@D)
	@$(CC) -std=c11 -O1 -g -Wall -Wextra -Werror -D_GNU_SOURCE -fsanitize=thread -Ilib \
	    -Itests/unit $(PKG_CFLAGS) $(TSAN_SRC) $(PKG_LIBS) -lm -lpthread -o $@

$(BUILD)/nz-mockembed: $(call obj,fixtures/mockembed.c fixtures/fixture.c) $(LIBNZ)
	@echo "  LD    $@"
	@$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@
$(BUILD)/nz-testweb: $(call obj,fixtures/testweb.c fixtures/fixture.c) $(LIBNZ)
	@echo "  LD    $@"
	@$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

# The fuzz targets link the parts' modules from one archive, each taking
# what it calls: one target a parser of untrusted bytes (tests/fuzz/run.sh).
FUZZ_SRC = $(EXTRACT_SRC) $(CHUNK_SRC) $(EMBED_SRC) $(INDEX_SRC) $(SERVE_SRC)
$(BUILD)/libnzfuzz.a: $(call obj,$(FUZZ_SRC))
	@echo "  AR    $@"
	@rm -f $@ && $(AR) rcs $@ $^
# the snapshot target serves read-only maps as heap copies ASan watches
$(BUILD)/fuzz-snapshot: FUZZ_LDFLAGS = -Wl,--wrap=mmap -Wl,--wrap=munmap
# The tokenizer compares ranks and heap entries by the million an input:
# tracing each comparison for the mutator was half of fuzz-docs' time.
# Its edges are still covered and the sanitizers still check it.
ifeq ($(FUZZ),1)
$(BUILD)/obj/lib/bpe.o: CFLAGS += -fno-sanitize-coverage=trace-cmp
endif
$(BUILD)/fuzz-%: $(call obj,tests/fuzz/fuzz_%.c tests/fuzz/fuzzio.c) $(BUILD)/libnzfuzz.a $(LIBNZ)
	@echo "  LD    $@"
	@$(CC) $(LDFLAGS) $(FUZZ_LDFLAGS) -fsanitize=fuzzer $^ $(LDLIBS) -o $@

fuzz-build:
	@$(MAKE) --no-print-directory BUILD=build-fuzz CC=clang FUZZ=1 \
	    $(patsubst %,build-fuzz/fuzz-%,$(FUZZ_TARGETS))

fuzz:
	@sh tools/deps.sh fuzz
	@$(MAKE) --no-print-directory fuzz-build
	@bash tests/fuzz/run.sh $(FUZZ_SECONDS)

# every target FUZZ_SECONDS with -fork=2 (both cores): executions, exec/s, cov, ft;
# FUZZ_RUNS=N stops a target at N executions (FUZZ_SECONDS stays the cap)
fuzz-long:
	@sh tools/deps.sh fuzz
	@$(MAKE) --no-print-directory fuzz-build
	@bash tests/fuzz/run.sh --long $(FUZZ_SECONDS)

# tools/deps.sh SET...: each target asks for the packages it needs, no more.
DEPS ?= build
deps:
	@sh tools/deps.sh $(DEPS)

test:
	@sh tools/deps.sh test
	@$(MAKE) --no-print-directory all
	@NZ_BUILD=$(BUILD) bash tests/run.sh

asan:
	@sh tools/deps.sh test
	@$(MAKE) --no-print-directory BUILD=build-asan SAN=1 all
	@NZ_BUILD=build-asan NZ_SANITIZED=1 bash tests/run.sh

# Crash trials (tests/torture/run.sh): minutes long, so not part of make test.
TRIALS ?= 100
torture:
	@sh tools/deps.sh test
	@$(MAKE) --no-print-directory all
	@NZ_BUILD=$(BUILD) TRIALS=$(TRIALS) bash tests/torture/run.sh

demo:
	@sh tools/deps.sh demo
	@$(MAKE) --no-print-directory all
	@NZ_BUILD=$(BUILD) bash tools/demo.sh

$(BUILD)/nz-tokbench: $(call obj,bench/chunk/tokbench.c) $(LIBNZ)
	@echo "  LD    $@"
	@$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/nz-membw: $(call obj,bench/ann/membw.c)
	@echo "  LD    $@"
	@$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

# bench/serve's anchor: a libmicrohttpd hello-world, nz-serve's threading
$(BUILD)/nz-hello: $(call obj,bench/serve/hello.c) $(LIBNZ)
	@echo "  LD    $@"
	@$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

# bench/serve's second one-connection anchor: the server's route work in process
$(BUILD)/nz-samework: $(call obj,bench/serve/samework.c $(INDEX_SRC)) $(LIBNZ)
	@echo "  LD    $@"
	@$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/nz-parsebench: $(call obj,bench/query/parsebench.c $(INDEX_SRC)) $(LIBNZ)
	@echo "  LD    $@"
	@$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

bench:
	@sh tools/deps.sh bench
	@$(MAKE) --no-print-directory all $(BUILD)/nz-tokbench $(BUILD)/nz-membw $(BUILD)/nz-hello
	@$(MAKE) --no-print-directory $(BUILD)/nz-parsebench
	@$(MAKE) --no-print-directory $(BUILD)/nz-samework
	@NZ_BUILD=$(BUILD) bash bench/run.sh

# The binaries a user runs; nz-pipeline finds the stages beside itself. The
# test fixtures (nz-unit, nz-testweb, nz-mockembed) are not installed.
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
INSTALL_BINS = nz-extract nz-chunk nz-tokens nz-embed nz-index nz-serve nz-pipeline

install: $(addprefix $(BUILD)/,$(INSTALL_BINS))
	install -d $(DESTDIR)$(BINDIR)
	install -m 755 $^ $(DESTDIR)$(BINDIR)/

uninstall:
	rm -f $(addprefix $(DESTDIR)$(BINDIR)/,$(INSTALL_BINS))

format:
	@command -v clang-format >/dev/null || { echo "format: no clang-format: sh tools/deps.sh format" >&2; exit 1; }
	git ls-files -z '*.c' '*.h' | xargs -0 clang-format -i

# The container image (Dockerfile) built and tried without a Docker daemon:
# podman + runc on a debootstrapped bookworm. Minutes long: not in .ci/run.
image:
	@bash tools/image.sh build

image-test:
	@bash tools/image.sh test

clean:
	rm -rf build build-asan build-fuzz

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
