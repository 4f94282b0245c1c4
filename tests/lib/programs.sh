# shellcheck shell=bash
# Real-program battery helpers (issue 4, item 6). tests/lib/lib.sh stays as it is; a suite does
#     source "$(dirname "$0")/../lib/lib.sh"
#     source "$(dirname "$0")/../lib/programs.sh"
#
# Environment (besides lib.sh's):
#   PG_ONLY   an extended regex: run only the scenarios whose name matches it
#
# Model: pg_layers builds ONE set of layers (kernel format: chardev 0/0 whiteouts and
# trusted.overlay.opaque, so the same copy serves a default kernel mount and the shim) holding
# a small C project with a Makefile, a git repository made by git itself, a python package, a
# data tree, scripts and an sqlite database. Every entry in it has mtime @PG_OLD.
# A scenario is one shell command (pg_scen). pg_run runs each scenario on a FRESH `cp -a` copy
# of the layers twice, at the same merged path $M: once on a kernel overlay mount (pinned
# options, lib.sh), once under the shim (ovl_shim_run), then prints ONE line per scenario:
# PASS when all of these are equal / hold, else FAIL with a short diff of each part that is not:
#   out     the command's stdout+stderr and "[exit N]"
#   tree    the final merged tree, dumped through the view (ovltool tree --mtime --nlink)
#   upper   the upper dir as the two implementations left it
#   lowers  the shim side's lowers are unchanged (content, mode, owner, mtime, ctime, xattrs)
# and the kernel side must exit 0 (the scenario itself is checked on the kernel first).
#
# Normalisations, each with its reason (nothing else is normalised):
#   N1 Times. Every fixture and input entry has an old, fixed mtime; a time written while the
#      scenario ran is necessarily different on the two runs, so in outputs a 10-digit epoch
#      written as "@SECONDS" (scenarios print times that way: ls --time-style=+@%s, stat
#      @%Y) and in dumps an mtime at or after PG_NEW (2020-09-13) reads "NEW". Old times stay
#      as they are, so a copy-up or a cp -a/tar/rsync that loses an mtime is still caught.
#   N2 Inode and device numbers are never printed: the two runs use different copies of the
#      layers (different inodes), and DESIGN.md 1 ("Identity") has the shim report the real
#      file's st_dev/st_ino where the kernel reports its own anonymous device. Scenarios check
#      identity relations instead (hard links share an inode, two files do not).
#   N3 The blocks of directories (st_blocks: du of a directory, ls's "total N" line, which
#      every output has dropped; directory sizes are compared): the kernel puts its private
#      xattrs (trusted.overlay.origin/impure) on upper directories, and on ext4 these take an
#      xattr block of their own, so such a directory reports 8 more 512-byte blocks on the
#      kernel side (see N5: ovlshim writes no origin records).
#   N4 .git/index content: git caches st_ino, st_dev, st_ctime and st_mtime of the worktree
#      files in it (see N1, N2); its size and everything git prints from it are compared.
#   N5 Upper dir: overlay-private xattrs origin/impure/uuid dropped (the kernel writes them,
#      ovlshim keeps no origin records: DESIGN.md 1); trusted.overlay.opaque and
#      user.overlay.opaque read as one "overlay.opaque" (ovlshim writes user.* plus trusted.*
#      as root, the kernel one namespace: DESIGN.md 1); the link count of chardev 0/0
#      whiteouts dropped (the kernel hands out hard links of one shared whiteout inode,
#      SEMANTICS.md rule 13; ovlshim makes one inode per whiteout).
#   N6 Per scenario, where readdir order shows (find, du, make -j4's job order), the output is
#      sorted; LD_PRELOAD and OVL_CONF are left out where a scenario prints an environment
#      (`env -i env`, python's subprocess with env={}): issue 4 item 2 has the shim put them
#      back into every exec on purpose.
#   N7 Reproducible inputs rather than normalised outputs: fixed GIT_AUTHOR/COMMITTER_DATE and
#      identity (same commit ids on both sides), tar --sort=name and --pax-option
#      delete=atime,delete=ctime (byte-identical archives), a clean `env -i` environment.

[ -n "${OVL_PROGRAMS_SH:-}" ] && return 0
OVL_PROGRAMS_SH=1

PG_OLD=1500000000          # 2017-07-14: every fixture entry
PG_IN_OLD=1400000000       # 2014-05-13: every input entry (tar, rsync sources)
PG_NEW=1600000000          # 2020-09-13: a time at/after this was written by the scenario
export PG_OLD PG_IN_OLD PG_NEW

# Debian's own tools only: a version manager's shims (pyenv, cargo) first in PATH would run
# different programs on a developer's machine than in CI, and slowly.
PG_PATH=/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin
PG_PYTHON=/usr/bin/python3
[ -x "$PG_PYTHON" ] || PG_PYTHON=$(command -v python3)
OVL_TOOL="$PG_PYTHON $OVL_LIB_DIR/ovltool.py"
export OVL_TOOL PG_PYTHON

# ---------------------------------------------------------------- normalisers (N1, N3-N5)
PG_NORM_PY=$OVL_T/pg_norm.py
cat >"$PG_NORM_PY" <<'PY'
"""pg_norm MODE: normalise `ovltool tree --mtime --nlink [--all-xattrs] --no-dirsize` output.
MODE merged | upper (see tests/lib/programs.sh N1, N4, N5)."""
import sys
mode = sys.argv[1]
NEW = 1600000000 * 10**9
PRIV = {"origin", "impure", "uuid"}
for line in sys.stdin:
    line = line.rstrip("\n")
    f = line.split("\t")
    if len(f) < 8:
        print(line)
        continue
    path, typ, perm, uid, gid, size, extra, xa = f[:8]
    rest = f[8:]
    if typ == "f" and (path == ".git/index" or path.endswith("/.git/index")):
        extra = "-"                                   # N4
    xs = []
    if xa != "-":
        for kv in xa.split(","):
            name, _, val = kv.partition("=")
            ns, _, sub = name.partition(".overlay.")
            if sub and ns in ("trusted", "user") and mode == "upper":
                if sub in PRIV:
                    continue                          # N5
                if sub == "opaque":
                    name = "overlay.opaque"           # N5
            kv = "%s=%s" % (name, val)
            if kv not in xs:
                xs.append(kv)
    xa = ",".join(sorted(xs)) or "-"
    out = [path, typ, perm, uid, gid, size, extra, xa]
    for r in rest:
        k, _, v = r.partition("=")
        if k == "mtime":
            if int(v) >= NEW:
                r = "mtime=NEW"                       # N1
        if k == "nlink" and mode == "upper" and typ == "c" and extra == "0:0":
            continue                                  # N5
        out.append(r)
    print("\t".join(out))
PY
pg_norm() { "$PG_PYTHON" "$PG_NORM_PY" "$@"; }

# N1 for command output: "@1600000000" and later (10 digits, optional fraction) -> @NEW,
# and ovltool's "mtime=NS" of a new entry -> mtime=NEW; N3: ls's "total N" lines dropped
PG_OUT_FILTER='sed -E "/^total [0-9]+\$/d; s/@(1[6-9]|[2-9][0-9])[0-9]{8}(\.[0-9]+)?/@NEW/g; s/mtime=(1[6-9]|[2-9][0-9])[0-9]{17}/mtime=NEW/g"'

# ---------------------------------------------------------------- the layers
pg__w() { # LAYERDIR RELPATH [MODE]: stdin into a file, creating parents
	mkdir -p "$(dirname "$1/$2")"
	cat >"$1/$2"
	[ -n "${3:-}" ] && chmod "$3" "$1/$2"
	return 0
}

# pg_layers FX: FX/l1 (top) FX/l2 FX/l3, FX/u (upper, not empty), FX/w. Needs root (trusted.*
# opaque marker), git, gcc (the C project is built by the scenarios; a small shared library
# is built into l2), sqlite3.
pg_layers() {
	local fx=$1 L1 L2 L3 U
	rm -rf "$fx"
	mkdir -p "$fx"/{l1,l2,l3,u,w}
	L1=$fx/l1 L2=$fx/l2 L3=$fx/l3 U=$fx/u
	(
		set -e
		umask 022
		# ---------------- the C project: Makefile and main.c on top, the rest below; a
		# whiteout hides a source file that would break the build, $(wildcard) must not see it
		pg__w "$L1" proj/Makefile <<'EOF'
CC ?= gcc
CFLAGS = -O1 -Wall -Werror -Iinclude -Ibuild -MMD -MP
SRCS := $(wildcard src/*.c)
OBJS := $(patsubst src/%.c,build/%.o,$(SRCS))

all: build/app

build/app: $(OBJS)
	$(CC) -o $@ $(OBJS)

build/%.o: src/%.c | build/version.h
	$(CC) $(CFLAGS) -c -o $@ $<

build/version.h: gen.sh
	@mkdir -p build
	./gen.sh > $@.tmp && mv $@.tmp $@

# no shell metacharacter: make runs the #! script itself (posix_spawnp), no /bin/sh -c
info:
	./gen.sh

clean:
	rm -rf build

.PHONY: all clean info
-include $(OBJS:.o=.d)
EOF
		pg__w "$L1" proj/src/main.c <<'EOF'
#include <stdio.h>
#include "util.h"
#include "version.h"

int main(int argc, char **argv)
{
	(void)argv;
	printf("app %s (%s): add=%d mul=%d greet=%s argc=%d\n", VERSION, GEN_BY,
	       util_add(2, 3), mathx_mul(6, 7), util_greet(), argc);
	return 0;
}
EOF
		mknod "$L1/proj/src/legacy.c" c 0 0
		pg__w "$L2" proj/include/util.h <<'EOF'
#ifndef UTIL_H
#define UTIL_H
int util_add(int a, int b);
const char *util_greet(void);
int mathx_mul(int a, int b);
#endif
EOF
		pg__w "$L2" proj/src/util.c <<'EOF'
#include "util.h"
int util_add(int a, int b) { return a + b; }
const char *util_greet(void) { return "hello from l2"; }
EOF
		pg__w "$L2" proj/src/mathx.c <<'EOF'
#include "util.h"
int mathx_mul(int a, int b) { return a * b; }
EOF
		pg__w "$L2" proj/gen.sh 0755 <<'EOF'
#!/bin/sh
echo '#define VERSION "1.2.3"'
echo "#define GEN_BY \"$0\""
EOF
		pg__w "$L3" proj/src/util.c <<'EOF'
#error "the l3 util.c is hidden by l2's"
EOF
		pg__w "$L3" proj/src/legacy.c <<'EOF'
#error "legacy.c is whited out in l1"
EOF
		pg__w "$L3" proj/README <<'EOF'
A small C project: make builds build/app.
EOF
		# ---------------- the python package, spread over three layers
		pg__w "$L2" pkg/mypkg/__init__.py <<'EOF'
from .core import hello
VERSION = "0.1"
EOF
		pg__w "$L2" pkg/mypkg/core.py <<'EOF'
def hello():
    return "hello from mypkg.core"
EOF
		pg__w "$L3" pkg/mypkg/__main__.py <<'EOF'
import os
from . import hello, VERSION
from .sub import data_text
print("mypkg", VERSION, hello(), data_text().strip())
print(sorted(n for n in os.listdir(os.path.dirname(__file__)) if n != "__pycache__"))
EOF
		pg__w "$L1" pkg/mypkg/extra.py <<'EOF'
def extra():
    return 42
EOF
		pg__w "$L3" pkg/mypkg/sub/__init__.py <<'EOF'
import os
def data_text():
    with open(os.path.join(os.path.dirname(__file__), "data.txt")) as f:
        return f.read()
EOF
		pg__w "$L2" pkg/mypkg/sub/data.txt <<<"package data from l2"
		pg__w "$L3" pkg/pyproject.toml <<'EOF'
[project]
name = "mypkg"
version = "0.1"
EOF
		# ---------------- a data tree for the coreutils and shell scenarios
		pg__w "$L3" data/a.txt <<<"a from l3 (hidden)"
		pg__w "$L2" data/a.txt <<<"a from l2"
		pg__w "$L3" data/b.txt <<<"b from l3"
		pg__w "$L1" data/c.txt <<<"c from l1"
		pg__w "$L3" data/tree/x.txt <<<"x from l3"
		pg__w "$L3" data/tree/y/z.txt <<<"z from l3"
		pg__w "$L3" data/tree/y/w/deep.txt <<<"deep from l3"
		pg__w "$L2" data/tree/from_l2.txt <<<"from_l2"
		pg__w "$L1" data/tree/y/from_l1.txt <<<"from_l1"
		chmod 0700 "$L3/data/tree/y/w"
		pg__w "$L3" data/sub/s1.txt <<<"s1"
		pg__w "$L3" data/sub/s2.txt <<<"s2"
		seq 1 20000 >"$L3/data/big.txt"
		pg__w "$L3" data/hl1 <<<"hard linked"
		ln "$L3/data/hl1" "$L3/data/hl2"
		ln -s a.txt "$L3/data/link_rel"
		ln -s tree "$L2/data/link_dir"
		pg__w "$L3" data/exe.sh 0755 <<<"#!/bin/sh"
		pg__w "$L3" data/ro.txt 0444 <<<"read-only"
		mkfifo "$L3/data/fifo"
		pg__w "$L2" data/gone.txt <<<"gone (hidden)"
		mknod "$L1/data/gone.txt" c 0 0
		pg__w "$L2" data/opq/hidden.txt <<<"hidden by the opaque dir"
		pg__w "$L1" data/opq/top.txt <<<"opq top"
		setfattr -n trusted.overlay.opaque -v y "$L1/data/opq"
		mkdir -p "$L3/data/emptydir"
		# xattrs and a POSIX ACL on lower entries (cp -a, tar --xattrs --acls, rsync -AX, ls -l)
		setfattr -n user.tag -v b-in-l3 "$L3/data/b.txt"
		setfattr -n user.dirtag -v tree-in-l3 "$L3/data/tree"
		setfacl -m u:1234:r,g:5678:rw "$L3/data/sub/s1.txt"
		pg__w "$U" data/upper.txt <<<"upper file"
		pg__w "$U" notes/u.txt <<<"notes in the upper"
		# ---------------- scripts, run by path, by PATH search and sourced
		pg__w "$L2" scripts/hello.sh 0755 <<'EOF'
#!/bin/bash
echo "hello.sh: \$0=$0 args=$*"
here=$(cd "$(dirname "$0")" && pwd)
echo "hello.sh: here=$here"
echo "written by hello.sh $*" >>"$here/../data/from_script.txt"
EOF
		pg__w "$L1" scripts/dashy.sh 0755 <<'EOF'
#!/bin/sh
echo "dashy.sh: \$0=$0 args=$*"
for f in "$(dirname "$0")"/*; do echo "  ${f##*/}"; done
EOF
		pg__w "$L3" scripts/pyscript 0755 <<'EOF'
#!/usr/bin/env python3
import sys
print("pyscript:", sys.argv[0], sys.argv[1:])
EOF
		pg__w "$L3" scripts/lib.sh <<'EOF'
# a library that scripts source
# (comments are removed by the perl scenario)
libfn() { echo "libfn from lib.sh in $PWD"; }
EOF
		# ---------------- shared libraries in a lower (LD_LIBRARY_PATH, $ORIGIN): liblow.so
		# built in l2, with a program beside it that finds it through RUNPATH $ORIGIN/../lib;
		# the sources of libup.so and of the programs the scenario builds into the upper
		pg__w "$L2" clib/src/low.c <<<'const char *low(void) { return "low from l2"; }'
		pg__w "$L2" clib/src/up.c <<<'const char *up(void) { return "up built in the upper"; }'
		pg__w "$L2" clib/src/both.c <<'EOF'
#include <stdio.h>
const char *low(void);
const char *up(void);
int main(void) { printf("both: %s, %s\n", up(), low()); return 0; }
EOF
		pg__w "$L2" clib/src/lowonly.c <<'EOF'
#include <stdio.h>
#include <stdlib.h>
const char *low(void);
int main(void)
{
	const char *v = getenv("LD_LIBRARY_PATH");
	printf("lowonly: %s, LD_LIBRARY_PATH %s\n", low(), v ? v : "unset");
	return 0;
}
EOF
		mkdir -p "$L2/clib/lib" "$L2/clib/bin"
		gcc -shared -fPIC -o "$L2/clib/lib/liblow.so" "$L2/clib/src/low.c"
		# shellcheck disable=SC2016 # $ORIGIN is ld.so's
		gcc -o "$L2/clib/bin/origin" "$L2/clib/src/lowonly.c" -L"$L2/clib/lib" -llow \
			-Wl,-rpath,'$ORIGIN/../lib'
		# ---------------- an sqlite database in a lower (rollback journal)
		mkdir -p "$L3/db"
		sqlite3 "$L3/db/old.db" "CREATE TABLE t(x INTEGER); INSERT INTO t VALUES(1),(2),(3);"
		# ---------------- a git repository made by git in l3; l2 edits a tracked file, l1
		# adds a pre-commit hook inside .git
		export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null HOME=/nonexistent
		export GIT_AUTHOR_NAME="PG Author" GIT_AUTHOR_EMAIL=author@example.invalid
		export GIT_COMMITTER_NAME="PG Committer" GIT_COMMITTER_EMAIL=committer@example.invalid
		export GIT_AUTHOR_DATE="1500000000 +0000" GIT_COMMITTER_DATE="1500000000 +0000"
		local r=$L3/repo
		git init -q -b main "$r"
		git -C "$r" config gc.auto 0
		pg__w "$r" README.md <<<"# repo"
		pg__w "$r" src/app.py <<<"print('app')"
		pg__w "$r" docs/guide.txt <<<"guide v1"
		printf '*.o\nbuild/\n' | pg__w "$r" .gitignore
		git -C "$r" add -A
		git -C "$r" commit -q -m "initial"
		echo "guide v2" >>"$r/docs/guide.txt"
		git -C "$r" commit -q -am "second"
		git -C "$r" tag v1
		pg__w "$L2" repo/README.md <<<"# repo, edited in l2"
		pg__w "$L1" repo/.git/hooks/pre-commit 0755 <<'EOF'
#!/bin/sh
# runs from the worktree root with GIT_DIR set by git
echo "pre-commit hook: \$0=$0" >&2
git diff --cached --name-only >"${GIT_DIR:-.git}/hook-out.txt"
EOF
		# every entry gets the same old time (N1)
		find "$L1" "$L2" "$L3" "$U" -exec touch -h -d "@$PG_OLD" {} +
	) || { echo "pg_layers: building the layers failed" >&2; return 1; }
}

# pg_inputs DIR: inputs the scenarios read, outside every overlay, all with mtime @PG_IN_OLD
#   PG_IN/in.tar, in.tgz   archives to extract into MERGED (over lower files and dirs)
#   PG_IN/rsrc/            an rsync/cp source
#   PG_IN/home/.gitconfig  git's global config (user.name/email, no auto gc, no pager)
#   PG_IN/sqlreader.py     the sqlite reader that holds a WAL snapshot while a writer writes
pg_inputs() {
	local d=$1
	rm -rf "$d" && mkdir -p "$d"
	(
		set -e
		umask 022
		mkdir -p "$d/t/data/tree/newdir" "$d/t/proj/src" "$d/t/newtop"
		echo "a from tar" >"$d/t/data/a.txt"
		echo "x from tar" >"$d/t/data/tree/x.txt"
		echo "new from tar" >"$d/t/data/tree/newdir/n.txt"
		echo "gone.txt reborn from tar" >"$d/t/data/gone.txt"
		echo 'int tar_extra(void) { return 7; }' >"$d/t/proj/src/tarx.c"
		echo "top" >"$d/t/newtop/f"
		ln -s ../data/a.txt "$d/t/newtop/sl"
		ln "$d/t/newtop/f" "$d/t/newtop/hl"
		chmod 0750 "$d/t/data/tree/newdir"
		chmod 0600 "$d/t/data/a.txt"
		find "$d/t" -exec touch -h -d "@$PG_IN_OLD" {} +
		tar -C "$d/t" --sort=name --numeric-owner -cf "$d/in.tar" data proj newtop
		tar -C "$d/t" --sort=name --numeric-owner -czf "$d/in.tgz" newtop data/tree
		rm -rf "$d/t"
		# swap.tar turns the lower dir data/sub into a file and the lower file data/b.txt into
		# a directory (tar --recursive-unlink)
		mkdir -p "$d/t/b.txt"
		echo "sub is a file now" >"$d/t/sub"
		echo "inside b.txt" >"$d/t/b.txt/inner"
		find "$d/t" -exec touch -h -d "@$PG_IN_OLD" {} +
		tar -C "$d/t" --sort=name --numeric-owner -cf "$d/swap.tar" sub b.txt
		rm -rf "$d/t"
		mkdir -p "$d/rsrc/tree/y" "$d/rsrc/newdir"
		echo "a from rsync" >"$d/rsrc/a.txt"
		echo "x from l3" >"$d/rsrc/tree/x.txt"      # same content as the lower one
		echo "z from rsync" >"$d/rsrc/tree/y/z.txt"
		echo "n" >"$d/rsrc/newdir/n.txt"
		ln -s a.txt "$d/rsrc/link"
		chmod 0640 "$d/rsrc/a.txt"
		find "$d/rsrc" -exec touch -h -d "@$PG_IN_OLD" {} +
		mkdir -p "$d/home"
		cat >"$d/home/.gitconfig" <<'EOF'
[user]
	name = PG Tester
	email = tester@example.invalid
[init]
	defaultBranch = main
[gc]
	auto = 0
[maintenance]
	auto = false
[core]
	pager = cat
[advice]
	detachedHead = false
EOF
		cat >"$d/sqlreader.py" <<'EOF'
# holds a read transaction on a WAL database while another process writes
import os, sqlite3, sys, time
db, ready, done = sys.argv[1:4]
c = sqlite3.connect(db, isolation_level=None, timeout=10)
c.execute("BEGIN")
print("reader before:", c.execute("SELECT count(*) FROM w").fetchone()[0], flush=True)
open(ready, "w").close()
for _ in range(1000):                      # 20 s at most
    if os.path.exists(done):
        break
    time.sleep(0.02)
else:
    sys.exit("reader: the writer never finished")
print("reader snapshot:", c.execute("SELECT count(*) FROM w").fetchone()[0])
c.execute("COMMIT")
print("reader after:", c.execute("SELECT count(*) FROM w").fetchone()[0])
c.close()
EOF
	) || { echo "pg_inputs: failed" >&2; return 1; }
	PG_IN=$d
	export PG_IN
}

# ---------------------------------------------------------------- scenarios
# pg_scen NAME [--sort] [--filter 'SHELL FILTER'] [--post 'COMMAND'] [--need PROG]
#         [--may-fail] 'COMMAND'
#   COMMAND runs as `bash -c` from / with M (merged path), PG_IN (inputs), PG_X (an empty dir
#   outside the overlay, the same path on both sides), HOME=$PG_IN/home, PATH=$PG_PATH, fixed
#   GIT_*_DATE, LC_ALL=C TZ=UTC. Its output goes through PG_OUT_FILTER, then FILTER, then sort.
#   --post: a command run after the side finished and the mount is gone, outside any overlay,
#   with FX=that side's layer dir (to look at the upper); its output is compared too.
#   --need PROG: SKIP the scenario (visibly) when PROG is not installed.
#   --may-fail: the kernel side may exit non-zero (otherwise that fails the scenario).
PG_NAMES=() PG_CMDS=() PG_SORTS=() PG_FILTERS=() PG_POSTS=() PG_NEEDS=() PG_MAYFAIL=()
pg_scen() {
	local name=$1 sort=0 filter="" post="" need="" mayfail=0
	shift
	while [ $# -gt 1 ]; do
		case $1 in
		--sort) sort=1; shift ;;
		--filter) filter=$2; shift 2 ;;
		--post) post=$2; shift 2 ;;
		--need) need=$2; shift 2 ;;
		--may-fail) mayfail=1; shift ;;
		*) echo "pg_scen $name: bad option $1" >&2; exit 125 ;;
		esac
	done
	PG_NAMES+=("$name") PG_CMDS+=("$1") PG_SORTS+=("$sort") PG_FILTERS+=("$filter")
	PG_POSTS+=("$post") PG_NEEDS+=("$need") PG_MAYFAIL+=("$mayfail")
}

# the environment every scenario command gets (both sides): a clean one (env -i), so that the
# caller's variables (PYTHONDONTWRITEBYTECODE, GIT_*, a pager...) cannot change what programs
# do; the harness's own OVL_* settings and sanitizer options are kept.
pg__env() {
	local v keep=()
	for v in $(compgen -e); do
		case $v in OVL_* | ASAN_OPTIONS | UBSAN_OPTIONS | TMPDIR) keep+=("$v=${!v}") ;; esac
	done
	env -i "${keep[@]}" PATH="$PG_PATH" HOME="$PG_IN/home" M="$PG_M" PG_IN="$PG_IN" PG_X="$PG_X" \
		OVL_TOOL="$OVL_TOOL" LC_ALL=C TZ=UTC TERM=dumb \
		GIT_CONFIG_NOSYSTEM=1 GIT_PAGER=cat PAGER=cat \
		GIT_AUTHOR_DATE="1500000100 +0000" GIT_COMMITTER_DATE="1500000200 +0000" \
		"$@"
}

# pg_exec SIDE FX OUT 'COMMAND': SIDE kernel (mount already at $PG_M) | shim
pg_exec() {
	local side=$1 fx=$2 out=$3 cmd=$4
	[ "${OVL_VERBOSE:-0}" = 1 ] && echo "# [$side] $cmd" >&2
	case $side in
	kernel)
		(cd / && pg__env timeout -k 5 "$OVL_TIMEOUT" bash -c "$cmd") >"$out" 2>&1 </dev/null ;;
	shim)
		# lib.sh's runner functions, which env -i dropped, are defined again
		# shellcheck disable=SC2016
		(cd / && pg__env timeout -k 5 "$OVL_TIMEOUT" bash -c "$(declare -fx)"$'\n''ovl_shim_run kernel "$1" "$M" bash -c "$2"' \
			_ "$fx" "$cmd") >"$out" 2>&1 </dev/null ;;
	esac
	echo "[exit $?]" >>"$out"
}

pg__post() { # FILTER SORT FILE: N1, then the scenario's filter, then sort, in place; the
	# "[exit N]" line stays last
	local f=$1 s=$2 file=$3 ex
	ex=$(tail -n 1 "$file")
	sed -i '$d' "$file"
	bash -c "$PG_OUT_FILTER" <"$file" >"$file.f" 2>&1 && mv "$file.f" "$file"
	if [ -n "$f" ]; then bash -c "$f" <"$file" >"$file.f" 2>&1; mv "$file.f" "$file"; fi
	if [ "$s" = 1 ]; then sort -o "$file" "$file"; fi
	echo "$ex" >>"$file"
}

pg__diff() { # LABEL A B: prints a short diff when the files differ (nothing otherwise)
	cmp -s "$2" "$3" && return 0
	echo "--- $1: kernel vs shim"
	diff -u --label kernel --label shim "$2" "$3" | sed 1,2d | head -n "${PG_DIFF_LINES:-24}"
}

PG_TREE_OPTS="--mtime --nlink"

# pg_side SIDE BASE FXCOPY I: one side of scenario I; results in BASE/out/NAME/SIDE.*
pg_side() {
	local side=$1 base=$2 fx=$3 i=$4 name o
	name=${PG_NAMES[i]}
	o=$base/out/$name/$side
	rm -rf "$PG_X" && mkdir -p "$PG_X"
	ovl_copy_fixture "$base/fx" "$fx"
	if [ "$side" = kernel ]; then
		if ! ovl_mount kernel "$fx" "$PG_M"; then
			echo "kernel mount refused: $OVL_MOUNT_ERR" >"$o.out"
			return 1
		fi
	else
		ovl_lowers_snapshot "$fx" "$o.lowers.before"
	fi
	pg_exec "$side" "$fx" "$o.out" "${PG_CMDS[i]}"
	pg__post "${PG_FILTERS[i]}" "${PG_SORTS[i]}" "$o.out"
	# shellcheck disable=SC2016
	pg_exec "$side" "$fx" "$o.tree.raw" '$OVL_TOOL tree --all-xattrs '"$PG_TREE_OPTS"' "$M"'
	pg_norm merged <"$o.tree.raw" >"$o.tree"
	if [ "$side" = kernel ]; then
		ovl_umount "$PG_M"
	else
		[ "$(ovl_runner)" = kernel ] && mountpoint -q "$PG_M" && ovl_umount "$PG_M"
		ovl_lowers_snapshot "$fx" "$o.lowers.after"
	fi
	# shellcheck disable=SC2086
	$OVL_TOOL tree --all-xattrs $PG_TREE_OPTS "$fx/u" | pg_norm upper >"$o.upper"
	if [ -n "${PG_POSTS[i]}" ]; then
		(cd / && FX=$fx bash -c "${PG_POSTS[i]}") >"$o.post" 2>&1 </dev/null
		echo "[exit $?]" >>"$o.post"
	else
		: >"$o.post"
	fi
	return 0
}

# pg_run LABEL: runs every declared scenario (see the header)
pg_run() {
	local label=$1 base i name d k s detail kexit
	base=$(ovl_mktemp_dir "pg.$label")
	PG_M=$base/mp/m PG_X=$base/x
	export PG_M PG_X
	mkdir -p "$PG_M"
	if ! pg_layers "$base/fx"; then
		ovl_fail "$label/layers" "building the layers failed"
		return
	fi
	if ! ovl_can_mount; then
		ovl_skip "$label: kernel overlay mount refused" "$OVL_MOUNT_ERR"
		return
	fi
	local shim=1
	ovl_shim_available || shim=0
	for i in "${!PG_NAMES[@]}"; do
		name=${PG_NAMES[i]}
		[ -n "${PG_ONLY:-}" ] && ! [[ $name =~ $PG_ONLY ]] && continue
		if [ -n "${PG_NEEDS[i]}" ] && ! command -v "${PG_NEEDS[i]}" >/dev/null 2>&1; then
			ovl_skip "$label/$name" "${PG_NEEDS[i]} is not installed"
			continue
		fi
		d=$base/out/$name
		mkdir -p "$d"
		k=$d/kernel s=$d/shim
		if ! pg_side kernel "$base" "$base/k" "$i"; then
			ovl_skip "$label/$name" "$(cat "$k.out")"
			continue
		fi
		kexit=$(tail -n 1 "$k.out")
		if [ "$kexit" != "[exit 0]" ] && [ "${PG_MAYFAIL[i]}" != 1 ]; then
			ovl_fail "$label/$name" "the scenario fails on the kernel overlay itself ($kexit):"$'\n'"$(tail -n 15 "$k.out")"
			continue
		fi
		if [ $shim = 0 ]; then
			ovl_skip "$label/$name" "$OVL_SHIM_WHY; kernel side ran"
			continue
		fi
		pg_side shim "$base" "$base/s" "$i"
		detail=$(
			pg__diff out "$k.out" "$s.out"
			pg__diff "merged tree" "$k.tree" "$s.tree"
			pg__diff upper "$k.upper" "$s.upper"
			pg__diff post "$k.post" "$s.post"
			if ! cmp -s "$s.lowers.before" "$s.lowers.after"; then
				echo "--- lowers changed under the shim"
				diff -u --label before --label after "$s.lowers.before" "$s.lowers.after" | sed 1,2d | head -n 12
			fi
		)
		if [ -z "$detail" ]; then
			ovl_pass "$label/$name"
		else
			ovl_fail "$label/$name" "$detail"
		fi
		if [ "${OVL_KEEP:-0}" = 1 ]; then
			rm -rf "$d/kfx" "$d/sfx"
			mv "$base/k" "$d/kfx" && mv "$base/s" "$d/sfx"
		else
			rm -rf "$base/k" "$base/s"
		fi
	done
}
