# ovlshim build. `make` builds the library and the tools, `make test` runs
# every suite, `make demo` the walkthrough, `make deps` installs what the
# build and tests need on Debian 12.
CC      ?= gcc
BUILD   ?= build
PREFIX  ?= /usr/local
DESTDIR ?=
CSTD    := -std=gnu11
WARN    := -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter
OPT     ?= -O2 -g
SAN     ?=
CFLAGS_ALL := $(CSTD) $(WARN) $(OPT) $(SAN) -fPIC -fvisibility=hidden -D_GNU_SOURCE \
              -Iinclude -Ishim/core $(CFLAGS)
LDFLAGS_ALL := $(SAN) $(LDFLAGS)

CORE_SRC    := $(wildcard shim/core/*.c)
PRELOAD_SRC := $(wildcard shim/preload/*.c)
CORE_OBJ    := $(CORE_SRC:%.c=$(BUILD)/%.o)
PRELOAD_OBJ := $(PRELOAD_SRC:%.c=$(BUILD)/%.o)
UNIT_SRC    := $(wildcard tests/unit/*.c)

LIB    := $(BUILD)/libovlshim.so
OVLRUN := $(BUILD)/ovlrun
UNIT   := $(BUILD)/unit-tests
# ovl, the layer tools: shim/cli/ovl.c and shim/cli/ovl_*.c on the core
OVL     := $(BUILD)/ovl
OVL_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(wildcard shim/cli/ovl.c shim/cli/ovl_*.c))
OVL_LIBS := -larchive -ljansson -lcrypto

DEB_PKGS := build-essential libcriterion-dev uthash-dev python3 attr acl strace \
            clang clang-format cppcheck valgrind git sqlite3 rsync perl tar nodejs \
            libarchive-dev libjansson-dev libssl-dev \
            podman buildah skopeo umoci

.PHONY: all test unit integration glibc-coverage demo deps install clean sanitize valgrind-unit fuzz fuzz-regress bench \
        format format-check cppcheck symbols-check lint

all: $(LIB) $(OVLRUN) $(OVL)

$(BUILD)/%.o: %.c $(wildcard include/*.h shim/core/*.h shim/preload/*.h shim/preload/*.def)
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(CFLAGS_ALL) -c $< -o $@

$(LIB): $(CORE_OBJ) $(PRELOAD_OBJ)
	$(CC) -shared -o $@ $^ $(LDFLAGS_ALL) -Wl,-Bsymbolic -Wl,-z,defs -ldl -lpthread

$(OVLRUN): $(BUILD)/shim/cli/ovlrun.o $(CORE_OBJ)
	$(CC) -o $@ $^ $(LDFLAGS_ALL) -lpthread

$(OVL_OBJ): shim/cli/ovl.h
$(OVL): $(OVL_OBJ) $(CORE_OBJ)
	$(CC) -o $@ $^ $(LDFLAGS_ALL) $(OVL_LIBS) -lpthread

$(UNIT): $(UNIT_SRC) $(CORE_OBJ)
	$(CC) $(CFLAGS_ALL) -fvisibility=default -o $@ $(UNIT_SRC) $(CORE_OBJ) \
	      $(LDFLAGS_ALL) -lcriterion -lpthread

# --- tests -----------------------------------------------------------------
test: all unit symbols-check glibc-coverage integration

unit: $(UNIT)
	$(UNIT) --jobs 2

symbols-check: $(LIB)
	tests/symbols-check.sh $(LIB) shim/preload/symbols.def

glibc-coverage:
	tests/glibc-coverage.sh

integration: all
	OVL_BUILD=$(abspath $(BUILD)) tests/integration/run.sh

# The unit tests and a representative part of the integration suite with the
# library built under AddressSanitizer and UBSan (runtime preloaded first).
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
sanitize:
	$(MAKE) BUILD=build-san SAN="$(SANFLAGS)" OPT="-O1 -g" all build-san/unit-tests
	ASAN_OPTIONS=detect_leaks=0 build-san/unit-tests --jobs 2
	OVL_BUILD=$(abspath build-san) OVL_SANITIZE=1 tests/integration/run.sh

# The unit tests under valgrind's memcheck, every forked test worker traced
# (about 4-5 minutes on two cores): any error fails the run.
valgrind-unit: $(UNIT)
	valgrind --quiet --trace-children=yes --error-exitcode=99 --leak-check=no \
	  $(UNIT) --jobs 2

fuzz:
	tests/fuzz/run.sh $(or $(FUZZ_SECONDS),60)

fuzz-regress:
	tests/fuzz/regress.sh

bench: all
	OVL_BUILD=$(abspath $(BUILD)) bench/run.sh

demo: all
	OVL_BUILD=$(abspath $(BUILD)) examples/demo.sh

deps:
	@if [ "$$(id -u)" = 0 ]; then \
	  export DEBIAN_FRONTEND=noninteractive; \
	  dpkg -s $(DEB_PKGS) >/dev/null 2>&1 || \
	  { apt-get update -qq && apt-get install -y -qq --no-install-recommends $(DEB_PKGS); }; \
	else \
	  dpkg -s $(DEB_PKGS) >/dev/null 2>&1 || \
	  { echo "missing packages; run as root:"; \
	    echo "  apt-get install -y $(DEB_PKGS)"; exit 1; }; \
	fi

# --- quality ---------------------------------------------------------------
format:
	clang-format -i $$(git ls-files '*.c' '*.h')

format-check:
	clang-format --dry-run -Werror $$(git ls-files '*.c' '*.h')

cppcheck:
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability,performance \
	  --inline-suppr --suppress=missingIncludeSystem -Iinclude -Ishim/core \
	  -D__x86_64__ -D_GNU_SOURCE -D__CPPCHECK__ shim

lint: format-check cppcheck

# --- install ---------------------------------------------------------------
install: all
	install -d $(DESTDIR)$(PREFIX)/lib/ovlshim $(DESTDIR)$(PREFIX)/bin \
	           $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man7
	install -m 0644 $(LIB) $(DESTDIR)$(PREFIX)/lib/ovlshim/libovlshim.so
	install -m 0755 $(OVLRUN) $(DESTDIR)$(PREFIX)/bin/ovlrun
	install -m 0755 $(OVL) $(DESTDIR)$(PREFIX)/bin/ovl
	install -m 0644 man/ovl.1 $(DESTDIR)$(PREFIX)/share/man/man1/ovl.1
	install -m 0644 man/ovlrun.1 $(DESTDIR)$(PREFIX)/share/man/man1/ovlrun.1
	install -m 0644 man/libovlshim.7 $(DESTDIR)$(PREFIX)/share/man/man7/libovlshim.7

clean:
	rm -rf build build-*

# --- differential tester (tests/diff): kernel overlay vs shim, both modes -----
.PHONY: difftest difftest-ci
difftest: all
	OVL_BUILD=$(abspath $(BUILD)) tests/diff/run.sh $(or $(SEEDS),50) $(or $(OPS),200)

difftest-ci: all
	OVL_BUILD=$(abspath $(BUILD)) tests/integration/t_diff.sh
