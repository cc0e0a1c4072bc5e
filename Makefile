# tapis - XDP hostname and IP-range filter.   `make help` lists the targets.
#
# Pipeline (libbpf-bootstrap style): bpf/*.bpf.c -> build/*.bpf.o ->
# build/*.skel.h -> user objects -> build/tapis (one binary, BPF embedded).

# SAN=1: the library, the CLI and the unit tests with ASan and UBSan, in
# build-san/ so that the plain build stays as it is. SAN=fuzz is what `make
# fuzz` builds itself with (clang, libFuzzer's coverage), in build-fuzz/.
ifeq ($(SAN),1)
BUILD     ?= build-san
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer
else ifeq ($(SAN),fuzz)
BUILD     ?= build-fuzz
SAN_FLAGS := -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined \
	     -fno-omit-frame-pointer
endif
BUILD     ?= build
PREFIX    ?= /usr/local
DESTDIR   ?=
CC        ?= gcc
CLANG     ?= clang
BPFTOOL   ?= bpftool
ARCH_INC  := /usr/include/$(shell $(CC) -dumpmachine)
# Sanitizer builds use clang: libFuzzer comes with it, and its UBSan writes
# reports to ASAN_OPTIONS/UBSAN_OPTIONS log_path files as ASan does (gcc's
# prints them to stderr only, where a test capturing output hides them).
# Set after ARCH_INC, whose multiarch directory is named as gcc names it.
ifneq ($(SAN),)
CC        := $(CLANG)
endif

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

# User space honours CPPFLAGS, CFLAGS and LDFLAGS from the environment (as
# dpkg-buildflags sets them), placed after ours so that they win; libraries
# and their include paths come from pkg-config. The BPF object takes none of
# them: host hardening flags mean nothing to the bpf target.
# PKG_CFLAGS and PKG_LIBS are expanded on first use, not when the Makefile
# is read, so that `make test` on a fresh machine finds what `deps` installed.
PKG_CONFIG  ?= pkg-config
PKGS        := libxdp libbpf yaml-0.1 libidn2 json-c ldns nettle libmicrohttpd
PKG_CFLAGS   = $(eval PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS)))$(PKG_CFLAGS)
PKG_LIBS     = $(eval PKG_LIBS := $(shell $(PKG_CONFIG) --libs $(PKGS)))$(PKG_LIBS)
CFLAGS_USER  = -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror -MMD -MP \
	       -I$(BUILD) -Iuser/lib -Itests/lib $(PKG_CFLAGS) $(SAN_FLAGS) $(CPPFLAGS) $(CFLAGS)
CFLAGS_BPF  := -O2 -g -target bpf -D__BPF__ -Wall -Wextra -Werror -MMD -MP \
	       -I$(ARCH_INC) -Ibpf
# LIBS ends every link line; LDFLAGS go with it (-L and -Wl, options apply
# wherever they stand).
# The sanitizers need their runtime at the link too.
LIBS         = $(SAN_FLAGS) $(LDFLAGS) $(PKG_LIBS)

# The version is the newest entry of debian/changelog: one place to bump.
VERSION     := $(or $(shell sed -n '1s/^tapis (\([^)-]*\).*/\1/p' debian/changelog 2>/dev/null),0.0.0)
CFLAGS_USER += -DTAPIS_VERSION='"$(VERSION)"'

# make install: where things go. SYSCONFDIR is /etc whatever the PREFIX,
# because tapis.service reads /etc/tapis/policy.yaml.
SBINDIR     ?= $(PREFIX)/sbin
MANDIR      ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
UNITDIR     ?= $(PREFIX)/lib/systemd/system
SYSCONFDIR  ?= /etc
LOGDIR      ?= /var/log/tapis

# user/lib is the library (libtapis.a: everything but the command line), which
# the tests and the bench link too; user/cli is the command line. Only CLI
# objects see user/cli's headers.
LIB_OBJS    := $(patsubst user/lib/%.c,$(BUILD)/user/lib/%.o,$(wildcard user/lib/*.c))
CLI_OBJS    := $(patsubst user/cli/%.c,$(BUILD)/user/cli/%.o,$(wildcard user/cli/*.c))
TLIB_OBJS   := $(patsubst tests/lib/%.c,$(BUILD)/tlib/%.o,$(filter-out tests/lib/selftest_%.c,$(wildcard tests/lib/*.c)))
UNIT_BINS   := $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,$(wildcard tests/unit/test_*.c))
BPFT_BINS   := $(patsubst tests/bpf/%.c,$(BUILD)/tests/bpf/%,$(wildcard tests/bpf/test_*.c))
BENCH_BIN   := $(BUILD)/tapis-bench
SELFTEST    := $(BUILD)/tests/selftest_pkt
SKELS       := $(BUILD)/tapis.skel.h $(BUILD)/xdp_pass.skel.h
# The bench's reference programs (issue 11): bench-only, never in tapis.
BENCH_SKELS := $(BUILD)/bench_floor.skel.h $(BUILD)/bench_lpm.skel.h

# libclang-rt-14-dev: libFuzzer and the sanitizer runtimes of Debian 12's
# clang (14), only a Recommends of it, so named here.
DEPS_APT := clang llvm clang-format bpftool libbpf-dev libxdp-dev xdp-tools libelf-dev zlib1g-dev \
	    dpkg-dev debhelper lintian man-db bash-completion systemd strace adduser \
	    libyaml-dev libidn2-dev libjson-c-dev libcmocka-dev libldns-dev nettle-dev libmicrohttpd-dev \
	    pkg-config libclang-rt-14-dev \
	    iproute2 iputils-ping curl nginx-light dnsmasq bind9-dnsutils knot-dnsutils \
	    ldnsutils tcpdump prometheus nftables jq python3 ethtool openssl gnutls-bin wget chromium

.DELETE_ON_ERROR:
.SECONDARY:
.PHONY: all deps test test-unit test-bpf test-lab demo bench install clean help format fuzz-diff \
	fuzz fuzz-build

all: $(BUILD)/tapis $(BUILD)/xdp_pass.bpf.o

help:
	@echo 'make deps     install build/test/demo packages (idempotent apt-get)'
	@echo 'make          build build/tapis (BPF object embedded) and build/xdp_pass.bpf.o'
	@echo 'make test     the whole suite: unit, packet (BPF_PROG_TEST_RUN), lab, package, bench smoke'
	@echo 'make demo     namespace lab: load a policy, show clients blocked and served, stats'
	@echo 'make bench    speed and memory beside XDP_PASS and reference programs (build/bench.json;'
	@echo '              python3 scripts/bench_table.py puts it in the README)'
	@echo 'make fuzz-diff  differential packet test, kernel vs reference (DIFF_FRAMES=$(DIFF_FRAMES), DIFF_SEED)'
	@echo 'make install  binary, man page, completion, systemd units, example configuration (PREFIX=$(PREFIX) DESTDIR=$(DESTDIR))'
	@echo 'make uninstall  remove what make install put there (edited configuration stays)'
	@echo 'make deb     a Debian package in $(BUILD)/deb/ (dpkg-buildpackage)'
	@echo 'make format   clang-format every C file'
	@echo 'make fuzz     libFuzzer targets (clang, ASan, UBSan) for the policy, the lists and'
	@echo '              the value parsers, FUZZ_SECONDS=$(FUZZ_SECONDS) each (build-fuzz/); then fuzz-diff'
	@echo 'SAN=1         build with ASan and UBSan into build-san/ (library, CLI, unit tests)'
	@echo 'make clean    remove $(BUILD)/ (and build-san/, build-fuzz/)'
	@echo 'V=1           show the commands'

deps:
	@missing=$$(for p in $(DEPS_APT); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null \
		| grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "  DEPS     $$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends $$missing >/dev/null || exit 1; \
	fi

$(BUILD)/%.bpf.o: bpf/%.bpf.c | $(BUILD)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(CFLAGS_BPF) -c $< -o $@

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< > $@

$(BUILD)/user/lib/%.o: user/lib/%.c $(SKELS) | $(BUILD)/user/lib
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS_USER) -c $< -o $@

$(BUILD)/user/cli/%.o: user/cli/%.c | $(BUILD)/user/cli
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS_USER) -Iuser/cli -c $< -o $@

$(BUILD)/libtapis.a: $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/tapis: $(CLI_OBJS) $(BUILD)/libtapis.a
	$(call msg,LD,$@)
	$(Q)$(CC) -o $@ $^ $(LIBS)

$(BUILD)/tlib/%.o: tests/lib/%.c | $(BUILD)/tlib
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS_USER) -c $< -o $@

$(BUILD)/tests/unit/%: tests/unit/%.c $(BUILD)/libtapis.a | $(BUILD)/tests/unit
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS_USER) -o $@ $< $(BUILD)/libtapis.a -lcmocka $(LIBS)

$(BUILD)/tests/bpf/%: tests/bpf/%.c $(BUILD)/libtapis.a $(TLIB_OBJS) | $(BUILD)/tests/bpf
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS_USER) -o $@ $< $(TLIB_OBJS) $(BUILD)/libtapis.a $(LIBS)

$(SELFTEST): tests/lib/selftest_pkt.c $(TLIB_OBJS) $(BUILD)/libtapis.a | $(BUILD)/tests/unit
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS_USER) -o $@ $< $(TLIB_OBJS) $(BUILD)/libtapis.a $(LIBS)

$(BENCH_BIN): $(wildcard tests/bench/*.c) $(wildcard tests/bench/*.h) $(BUILD)/libtapis.a $(TLIB_OBJS) \
	      $(BENCH_SKELS)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS_USER) -o $@ $(wildcard tests/bench/*.c) $(TLIB_OBJS) $(BUILD)/libtapis.a $(LIBS) -lm

# A developer's profiler of the loaded program (tests/bench/jitprof): not
# part of the bench or the suite, only checked to build by `make test`.
JITINFO     := $(BUILD)/jitinfo
$(JITINFO): tests/bench/jitprof/jitinfo.c
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS_USER) -o $@ $< $(LIBS)

# The differential packet test (tests/diff/README.md): the reference is
# bpf/tapis.bpf.c compiled for user space, by clang as the BPF object is,
# with a shim for the BPF helpers found before libbpf's. It runs in the
# packet tier (20,000 frames) and under fuzz-diff (DIFF_FRAMES, a new seed
# unless DIFF_SEED is given).
DIFF_BIN    := $(BUILD)/tests/bpf/test_diff
DIFF_FRAMES ?= 1000000
CFLAGS_REF  := -std=gnu11 -D_GNU_SOURCE -D__BPF__ -O2 -g -Wall -Wextra -Werror -MMD -MP \
	       -Itests/diff/shim -Ibpf -I$(ARCH_INC)

$(BUILD)/diff/ref.o: tests/diff/ref.c | $(BUILD)/diff
	$(call msg,CC,$@)
	$(Q)$(CLANG) $(CFLAGS_REF) -c $< -o $@

$(BUILD)/diff/%.o: tests/diff/%.c | $(BUILD)/diff
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS_USER) -c $< -o $@

$(DIFF_BIN): $(BUILD)/diff/diff.o $(BUILD)/diff/gen.o $(BUILD)/diff/oracle.o $(BUILD)/diff/ref.o \
	     $(TLIB_OBJS) \
	     $(BUILD)/libtapis.a | $(BUILD)/tests/bpf
	$(call msg,LD,$@)
	$(Q)$(CC) -o $@ $^ $(LIBS)

fuzz-diff: deps all $(DIFF_BIN)
	$(Q)$(DIFF_BIN) --frames $(DIFF_FRAMES) --seed $${DIFF_SEED:-$$(date +%s)}

$(BUILD) $(BUILD)/user/lib $(BUILD)/user/cli $(BUILD)/tlib $(BUILD)/tests/unit $(BUILD)/tests/bpf \
	$(BUILD)/diff:
	$(Q)mkdir -p $@

# The suite: every tier through one runner, which ends with "N passed, N failed".
test: deps all $(UNIT_BINS) $(BPFT_BINS) $(DIFF_BIN) $(SELFTEST) $(BENCH_BIN) $(JITINFO)
	$(Q)bash tests/run.sh

demo: deps all
	$(Q)bash scripts/demo.sh

# The address tables' differential test at the bench's size (make test runs
# it reduced) before the figures.
bench: deps all $(BENCH_BIN) $(BUILD)/tests/bpf/test_nets_diff
	$(Q)TAPIS_DIFF_SCALE=full $(BUILD)/tests/bpf/test_nets_diff
	$(Q)bash tests/bench/run.sh

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) build-san build-fuzz

# ---- fuzzing ------------------------------------------------------------------
# Each tests/fuzz/fuzz_NAME.c is one libFuzzer target (LLVMFuzzerTestOneInput).
# `make fuzz` builds them with SAN=fuzz into build-fuzz/ and runs each for
# FUZZ_SECONDS over its seeds (tests/fuzz/corpus/NAME/), then the packet
# differential test (fuzz-diff) when the tree has one; a crash anywhere fails
# it. The same sources linked with tests/fuzz/replay.c instead of libFuzzer
# (built with SAN=1) replay the seeds and tests/fuzz/regressions/ in `make test`.
FUZZ_SECONDS ?= 15
FUZZ_BUILD   := build-fuzz
FUZZ_NAMES   := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS    := $(FUZZ_NAMES:%=$(BUILD)/fuzz/%)
REPLAY_BINS  := $(FUZZ_NAMES:%=$(BUILD)/fuzz-replay/%)

ifeq ($(SAN),1)
all: $(UNIT_BINS) $(REPLAY_BINS)
endif

# The cli target takes the command line whole, its main() renamed.
FUZZ_CLI_OBJS := $(filter-out %/main.o,$(CLI_OBJS)) $(BUILD)/fuzz/cli_main.o
$(BUILD)/fuzz/cli $(BUILD)/fuzz-replay/cli: FUZZ_EXTRA = $(FUZZ_CLI_OBJS)
$(BUILD)/fuzz/cli $(BUILD)/fuzz-replay/cli: $(FUZZ_CLI_OBJS)

$(BUILD)/fuzz/cli_main.o: user/cli/main.c | $(BUILD)/fuzz
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS_USER) -Iuser/cli -Dmain=tapis_cli_main -c $< -o $@

$(BUILD)/fuzz/%: tests/fuzz/fuzz_%.c $(wildcard tests/fuzz/*.h) $(BUILD)/libtapis.a | $(BUILD)/fuzz
	$(call msg,FUZZ,$@)
	$(Q)$(CC) $(CFLAGS_USER) -fsanitize=fuzzer -o $@ $< $(FUZZ_EXTRA) $(BUILD)/libtapis.a $(LIBS)

$(BUILD)/fuzz-replay/%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c $(wildcard tests/fuzz/*.h) $(BUILD)/libtapis.a \
		| $(BUILD)/fuzz-replay
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS_USER) -o $@ $< tests/fuzz/replay.c $(FUZZ_EXTRA) $(BUILD)/libtapis.a $(LIBS)

$(BUILD)/fuzz $(BUILD)/fuzz-replay:
	$(Q)mkdir -p $@

fuzz-build: $(FUZZ_BINS)

# fuzz-diff, when some branch defines it, runs after our targets whatever
# they found (make -q says 2 only when there is no such target).
fuzz: deps
	$(Q)$(MAKE) --no-print-directory SAN=fuzz BUILD=$(FUZZ_BUILD) fuzz-build
	$(Q)rc=0; FUZZ_SECONDS=$(FUZZ_SECONDS) bash tests/fuzz/run.sh $(FUZZ_BUILD) || rc=1; \
	$(MAKE) --no-print-directory -q fuzz-diff >/dev/null 2>&1; \
	if [ $$? -ne 2 ]; then $(MAKE) --no-print-directory fuzz-diff || rc=1; fi; \
	exit $$rc

-include $(wildcard $(BUILD)/*.d $(BUILD)/user/*/*.d $(BUILD)/tlib/*.d $(BUILD)/tests/*/*.d \
		    $(BUILD)/diff/*.d $(BUILD)/fuzz/*.d $(BUILD)/fuzz-replay/*.d)

# ---- install, uninstall, deb -------------------------------------------------
# The files of an installed tapis, from dist/: the binary, tapis(8), bash
# completion, the systemd units (paths filled in here), the configuration
# (an example policy and /etc/default/tapis, the units' extra arguments),
# which never replaces an existing file, and the audit log directory (0750).
.PHONY: install uninstall deb

DIST_SUBST := -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
	      -e 's|@VERSION@|$(VERSION)|g'
UNITS      := tapis.service tapis-serve.service
# Configuration files, source:target.
CONFS      := dist/policy.yaml:$(SYSCONFDIR)/tapis/policy.yaml \
	      dist/default.tapis:$(SYSCONFDIR)/default/tapis

install: $(BUILD)/tapis
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(BASHCOMPDIR) \
		$(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSCONFDIR)/tapis $(DESTDIR)$(SYSCONFDIR)/default
	install -m 0755 $(BUILD)/tapis $(DESTDIR)$(SBINDIR)/tapis
	sed $(DIST_SUBST) dist/tapis.8 > $(DESTDIR)$(MANDIR)/man8/tapis.8
	install -m 0644 dist/tapis.bash-completion $(DESTDIR)$(BASHCOMPDIR)/tapis
	for u in $(UNITS); do \
		sed $(DIST_SUBST) dist/systemd/$$u.in > $(DESTDIR)$(UNITDIR)/$$u || exit 1; \
	done
	chmod 0644 $(DESTDIR)$(MANDIR)/man8/tapis.8 $(addprefix $(DESTDIR)$(UNITDIR)/,$(UNITS))
	@for c in $(CONFS); do \
		src=$${c%%:*} dst=$(DESTDIR)$${c#*:}; \
		if [ -e "$$dst" ]; then \
			echo "  KEEP     $$dst (exists)"; \
		else \
			echo "install -m 0644 $$src $$dst"; \
			install -m 0644 "$$src" "$$dst" || exit 1; \
		fi; \
	done
	install -d -m 0750 $(DESTDIR)$(LOGDIR)

# A configuration file goes only when it is as installed, the directories
# only when empty: an operator's edits and audit log stay.
uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/tapis $(DESTDIR)$(MANDIR)/man8/tapis.8 \
		$(DESTDIR)$(BASHCOMPDIR)/tapis $(addprefix $(DESTDIR)$(UNITDIR)/,$(UNITS))
	@for c in $(CONFS); do \
		src=$${c%%:*} dst=$(DESTDIR)$${c#*:}; \
		if cmp -s "$$src" "$$dst"; then \
			echo "rm -f $$dst"; rm -f "$$dst"; \
		elif [ -e "$$dst" ]; then \
			echo "  KEEP     $$dst (edited)"; \
		fi; \
	done
	@rmdir $(DESTDIR)$(SYSCONFDIR)/tapis $(DESTDIR)$(LOGDIR) 2>/dev/null || true

# A binary package built by dpkg-buildpackage (debian/) from a copy of the
# tree in $(BUILD)/deb/, where every output lands: the tree stays clean.
DEB_DIR := $(BUILD)/deb
DEB_SRC := $(DEB_DIR)/tapis-$(VERSION)

deb:
	$(call msg,DEB,$(DEB_DIR)/tapis_$(VERSION)_$(shell dpkg --print-architecture 2>/dev/null).deb)
	$(Q)rm -rf $(DEB_DIR) && mkdir -p $(DEB_SRC)
	$(Q)tar -cf - --exclude=./.git --exclude='./$(BUILD)' . | tar -xf - -C $(DEB_SRC)
	$(Q)cd $(DEB_SRC) && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u BUILD \
		DEB_BUILD_OPTIONS="parallel=$$(nproc) $$DEB_BUILD_OPTIONS" \
		dpkg-buildpackage -b -uc -us $(if $(filter 1,$(V)),,>../build.log 2>&1) \
		|| { echo "dpkg-buildpackage failed (log: $(DEB_DIR)/build.log)" >&2; \
		     tail -n 30 ../build.log >&2 2>/dev/null; exit 1; }
