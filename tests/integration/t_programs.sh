#!/usr/bin/env bash
# The real-program battery (issue 4, item 6). Lowers hold a small C project with a Makefile,
# a git repository made by git, a python package, a data tree, scripts and an sqlite database
# (tests/lib/programs.sh, pg_layers). Every scenario runs on a kernel overlay and under the
# shim, each on a fresh copy of the layers at the same merged path, and one PASS/FAIL/SKIP line
# says whether output, final merged tree and upper are equal and the lowers unchanged. The
# normalisations (times written during the run, inode/device numbers, directory sizes,
# .git/index, overlay-private xattrs, readdir order) are listed with their reasons in the
# header of tests/lib/programs.sh.
#
#   PG_ONLY=regex tests/integration/t_programs.sh     run some scenarios only
#   OVL_KEEP=1 ...                                     keep both sides' layers for a look
# shellcheck disable=SC2016 # scenario commands are single-quoted: $M expands when they run
source "$(dirname "$0")/../lib/lib.sh"
source "$(dirname "$0")/../lib/programs.sh"

if ! ovl_is_root; then
	ovl_skip "programs" "needs root (kernel overlay mounts, trusted.* markers)"
	ovl_summary
	exit
fi
for p in git gcc make sqlite3 perl rsync tar setfattr dash; do
	command -v "$p" >/dev/null || { ovl_fail "programs/$p" "$p is not installed: make deps"; }
done
# both sides run as root here (the fixture's opaque dir is marked with trusted.* only)
export OVL_AS_NOBODY=0
pg_inputs "$OVL_T/inputs" || { ovl_fail "programs/inputs"; ovl_summary; exit; }

# ------------------------------------------------------------------ coreutils
pg_scen cp_a 'cd "$M" && cp -a data/tree data/tree_copy && cp -a proj proj_copy &&
cp -a "$PG_IN/rsrc" data/imported && cp -a data/hl1 data/hl2 data/link_rel data/fifo notes/ &&
cp -a data "$PG_X/data_out" && cp -a data/opq pkg "$PG_X/" &&
$OVL_TOOL tree --mtime --nlink --all-xattrs "$PG_X" && ls -la --time-style=+@%s notes | cut -d" " -f1,2,6- &&
cp -a data/b.txt data/sub/s1.txt data/tree "$PG_X/" && getfattr -d --absolute-names "$PG_X/b.txt" "$PG_X/tree" &&
getfacl -cp "$PG_X/s1.txt" && cp -r --preserve=mode,xattr data/sub data/sub2 && getfacl -cp data/sub2/s1.txt && ls -l data/sub2 | cut -c1-11'
pg_scen mv 'cd "$M" && mv data/a.txt data/a_moved.txt && mv data/c.txt notes/ &&
mv data/tree data/tree_moved && mv notes notes2 && mv data/upper.txt . &&
mv proj/src/util.c proj/ && mv data/opq "$PG_X/" && mv data/b.txt data/gone.txt &&
mv "$M/pkg/mypkg" "$M/pkg/renamed" && ls -a . data data/tree_moved data/tree_moved/y notes2 proj proj/src pkg/renamed "$PG_X/opq" &&
cat data/gone.txt; mv data/nope x; echo rc=$?'
pg_scen rm_rf 'cd "$M" && rm -rf data/tree proj/src repo/.git/hooks notes data/opq &&
rm -f data/a.txt data/nonexistent && rm -r pkg/mypkg/sub && rm data/link_dir data/fifo &&
ls -a . data proj repo/.git pkg/mypkg; rm data; echo rc=$?; rm -r data/gone.txt; echo rc=$?;
rm -rf data && ls -a; mkdir data && ls -a data'
pg_scen ln_s 'cd "$M" && ln -s a.txt data/l_new && ln -s ../proj data/l_proj &&
ln -sf b.txt data/link_rel && ln -s "$M/data/tree" absl && ln data/b.txt data/b_hard &&
ln -s tree data/gone.txt && ls -l --time-style=+@%s data/l_new data/l_proj data/link_rel absl data/gone.txt &&
cat data/l_new absl/x.txt data/l_proj/README data/link_rel && stat -c "%n %h" data/b.txt data/b_hard &&
[ "$(stat -c %i data/b.txt)" = "$(stat -c %i data/b_hard)" ] && echo b-hardlink-same-ino;
ln -s x data/a.txt; echo rc=$?; readlink -f absl/y data/link_dir'
pg_scen mkdir_p 'cd "$M" && mkdir -p data/tree/y/new/a/b newtop/x/y proj/build/obj data/emptydir/e &&
mkdir -p data/tree && mkdir -m 700 m700 && mkdir data/gone.txt &&
stat -c "%n %a %h" data/tree/y/new/a/b newtop newtop/x m700 data/gone.txt data/tree/y data/tree data/emptydir proj/build &&
ls -a data/gone.txt data/emptydir; mkdir data/tree; echo rc=$?; mkdir -p data/a.txt/x; echo rc=$?'
pg_scen touch 'cd "$M" && touch data/new.txt proj/new.c && touch -d @1234567890 data/a.txt data/tree &&
touch -h -d @1234567891 data/link_rel && touch -m -d @1234567892 proj/Makefile &&
touch -a data/b.txt && touch -c data/nope && touch -r data/b.txt data/c.txt &&
stat -c "%n @%Y" data/new.txt proj/new.c data/a.txt data/tree data/link_rel proj/Makefile data/b.txt data/c.txt data/hl1 &&
ls data/nope; echo rc=$?'
pg_scen chmod_R 'cd "$M" && chmod -R go-w,o-rx data/tree && chmod -R 700 proj/src &&
chmod 4755 data/b.txt && chmod u+x data/link_rel && chmod -R a+rX pkg && chmod 000 data/ro.txt &&
stat -c "%n %a" data/tree data/tree/x.txt data/tree/y data/tree/y/w data/tree/y/w/deep.txt \
  proj/src proj/src/main.c data/b.txt data/a.txt data/link_rel data/ro.txt pkg/mypkg pkg/mypkg/core.py &&
chmod -R 755 data/nope; echo rc=$?'
pg_scen install 'cd "$M" && install -m 755 data/a.txt bin_a && install -D -m 640 data/b.txt deep/new/dir/b &&
install -d -m 750 instdir/sub && install -D proj/gen.sh proj/tools/gen2.sh &&
install -m 600 data/c.txt data/tree/ && install -D -m 644 data/tree/x.txt data/tree/y/w/more/x2 &&
install -m 700 -d data/emptydir/inst &&
stat -c "%n %a %s" bin_a deep/new/dir/b proj/tools/gen2.sh data/tree/c.txt data/tree/y/w/more/x2 &&
stat -c "%n %a" deep deep/new deep/new/dir instdir instdir/sub data/tree/y/w/more data/emptydir/inst'
# du: the blocks of directories are N3, so du lists files (a directory total would count them)
pg_scen du --sort 'cd "$M" && echo "more" >> data/a.txt && rm data/c.txt &&
find data proj pkg -type f -exec du -k {} + && du -ab data pkg | while read -r s p; do [ -d "$p" ] || echo "$s $p"; done &&
du -k data/hl1 data/hl2 && du -sk --apparent-size data/big.txt'
pg_scen ls_lR 'cd "$M" && ls -lR --time-style=+@%s data proj pkg scripts notes && echo x > data/new && rm data/b.txt &&
ls -laR --time-style=+@%s data && ls -ld --time-style=+@%s . data'
pg_scen find_exec --sort 'cd "$M" && find . -path ./repo/.git -prune -o -type f -name "*.txt" -exec wc -c {} + &&
find data -type d -exec sh -c '"'"'echo "dir $1 $(ls -A "$1" | wc -l)"'"'"' _ {} \; &&
find proj -type f -exec head -c 20 {} \; -exec echo \; &&
find data -empty && find . -name "*.sh" -path "./scripts/*" -perm -u+x -exec {} from-find \; &&
find scripts -name "*.sh" -perm -u+x -execdir {} from-execdir \; && find data/tree -type d -execdir pwd \; &&
find data -name "*.txt" -newer data/b.txt && find data -type l -printf "%p -> %l\n" &&
find data/tree -depth -name "*.txt" -delete && find data/tree && find data -samefile data/hl1'
pg_scen stat 'cd "$M" && stat -c "%n|%F|%a|%h|%u|%g|@%Y" data data/tree data/opq data/emptydir proj repo/.git notes &&
stat -c "%n|%F|%a|%s|%h|%u|%g|@%Y" data/a.txt data/b.txt data/link_rel data/link_dir data/fifo data/hl1 data/hl2 proj/Makefile notes/u.txt data/upper.txt &&
stat -L -c "%n|%F|%s" data/link_rel && stat -L -c "%n|%F" data/link_dir &&
[ "$(stat -c %i data/hl1)" = "$(stat -c %i data/hl2)" ] && echo hl-same-ino &&
[ "$(stat -c %d:%i data/a.txt)" != "$(stat -c %d:%i data/b.txt)" ] && echo a-b-distinct &&
[ "$(stat -c %i data)" = "$(stat -c %i data/.)" ] && echo dot-same-ino &&
echo x >> data/b.txt && stat -c "%n|%s|%h" data/b.txt; stat data/gone.txt; echo rc=$?'
# env -i: the shim puts LD_PRELOAD and OVL_CONF back on purpose (N6)
pg_scen env_i --filter "grep -v -E '^(LD_PRELOAD|OVL_CONF)='" \
	'env -i /bin/sh -c '"'"'cat "$1/data/a.txt"; echo hi > "$1/data/envi.txt"; ls "$1/data" | wc -l; "$1/scripts/dashy.sh" x'"'"' _ "$M" &&
env -i PATH=/usr/bin:/bin HOME=/ bash -c '"'"'cd "$0" && ls && cat data/envi.txt && env -i ./scripts/hello.sh y && env -i ./scripts/pyscript z'"'"' "$M" &&
cat "$M/data/from_script.txt" && env -i /usr/bin/env && echo env-end'

# ------------------------------------------------------------------ shells
pg_scen bash 'set -e
cd "$M/data"
echo *.txt
echo tree/*/
echo t*/y/*
shopt -s globstar nullglob
echo **/*.txt
echo nomatch*
cd ../proj
echo src/*.c
echo "line1" > out.txt
echo "line2" >> out.txt
echo "line3" >> ../data/a.txt
cat <<EOF > here.txt
here $((1 + 2)) in $(basename "$PWD")
EOF
cat <<-'"'EOF'"' >> here.txt
	quoted $HOME stays
	EOF
cat out.txt here.txt ../data/a.txt
pwd
cd ..
pwd
cd data/tree/y && pwd && cd ../../.. && pwd -P
"$M/scripts/hello.sh" a b
./scripts/hello.sh c
PATH="$M/scripts:$PATH" hello.sh d
hash -r; PATH="$M/scripts:$PATH" type -P hello.sh
source scripts/lib.sh && libfn
exec 3>fd3.txt; echo via3 >&3; exec 3>&-
cat fd3.txt
cd "$M/notes" && cat u.txt
[ -d ../data/tree ] && [ ! -e ../data/gone.txt ] && echo "gone is gone"
cd "$M/data/tree" && mkdir sub && cd sub && echo inside > f && cd .. && rm -r sub && pwd
cd "$M" && cat data/from_script.txt && ls data/tree'
pg_scen dash 'cd "$M" && dash <<'"'DASH'"'
set -e
cd "$M/data"
echo *.txt tree/*
cd ../proj
echo dline1 > dout.txt
echo dline2 >> dout.txt
cat <<EOF >> dout.txt
dash here $((2 * 3)) $(pwd)
EOF
cat dout.txt
cd ..
pwd
"$M/scripts/dashy.sh" p
./scripts/hello.sh q
PATH="$M/scripts:$PATH" dashy.sh r
. ./scripts/lib.sh
libfn
cd data/tree/y && pwd && cd - >/dev/null && pwd
for f in data/tree/*; do echo "loop $f"; done
test -e data/gone.txt || echo "no gone.txt"
DASH'

# ------------------------------------------------------------------ editors
pg_scen sed_i 'cd "$M" && sed -i "s/l2/SED/" data/a.txt && sed -i.bak -e "1s/^/first: /" proj/src/main.c &&
sed -i "s/x/X/g" data/tree/x.txt data/tree/y/z.txt && sed -i "\$a appended" notes/u.txt &&
cat data/a.txt data/tree/x.txt data/tree/y/z.txt notes/u.txt && head -n 2 proj/src/main.c proj/src/main.c.bak &&
stat -c "%n %a %h" data/a.txt proj/src/main.c data/tree/x.txt data/ro.txt && sed -i s/read/READ/ data/ro.txt && cat data/ro.txt &&
sed -i s/a/b/ data/link_rel && stat -c "%n %F" data/link_rel data/a.txt && ls proj/src data/tree'
pg_scen perl_pi 'cd "$M" && perl -pi -e "s/from/FROM/" data/a.txt data/tree/*.txt &&
perl -pi.orig -e "s/^/> /" proj/include/util.h && perl -i -ne "print unless /^#/" scripts/lib.sh &&
cat data/a.txt data/tree/x.txt data/tree/from_l2.txt && head -n 3 proj/include/util.h && ls proj/include && cat scripts/lib.sh &&
perl -e '"'"'opendir D, "data" or die; print join(",", sort grep !/^\./, readdir D), "\n";
mkdir "data/pd" or die; rename "data/b.txt", "data/pd/b.txt" or die; symlink "pd/b.txt", "data/pl" or die;
utime 1300000000, 1300000000, "data/pd/b.txt" or die; print -s "data/pl", " ", (stat "data/pd/b.txt")[9], "\n";
use File::Find; find(sub { print "$File::Find::name\n" if -f }, "data/tree");
use File::Temp qw(tempfile); my ($fh, $fn) = tempfile(DIR => "data"); print $fh "tmp\n"; close $fh; rename $fn, "data/fromtemp" or die;
use Cwd; chdir "data/tree" or die; print getcwd(), "\n";'"'"' | sort && cat data/fromtemp && stat -c "%n %a" data/fromtemp'

# ------------------------------------------------------------------ tar
pg_scen tar_x 'tar -C "$M" -xf "$PG_IN/in.tar" && tar -C "$M" -xzf "$PG_IN/in.tgz" &&
tar -C "$M/data" --recursive-unlink -xf "$PG_IN/swap.tar" && ls -la --time-style=+@%s "$M/data/sub" "$M/data/b.txt" "$M/data/b.txt/" | cut -d" " -f1,2,5- &&
tar -C "$M/proj" -xf "$PG_IN/in.tar" --strip-components=1 data/tree && tar -C "$M" -tvf "$PG_IN/in.tar" &&
cat "$M/data/a.txt" "$M/data/gone.txt" && stat -c "%n %a @%Y %h" "$M/data/a.txt" "$M/data/tree" "$M/data/tree/newdir" "$M/newtop/f" "$M/newtop/hl" "$M/proj/tree/x.txt" &&
ls -a "$M/data/tree" "$M/proj/src" "$M/proj/tree"'
pg_scen tar_c 'cd "$M" && tar --sort=name --numeric-owner -cf "$PG_X/a.tar" data proj pkg scripts &&
tar -tvf "$PG_X/a.tar" --numeric-owner && sha256sum < "$PG_X/a.tar" &&
tar -cf - data | tar -tf - | sort | sha256sum &&
tar --sort=name -czf data.tgz data notes && tar -tzvf data.tgz --numeric-owner &&
tar --xattrs --acls --sort=name --pax-option=delete=atime,delete=ctime -cf "$PG_X/x.tar" data/b.txt data/sub data/tree && tar --xattrs --acls -tvvf "$PG_X/x.tar" --numeric-owner &&
sha256sum < "$PG_X/x.tar" && mkdir xcopy && tar --xattrs --acls -C xcopy -xf "$PG_X/x.tar" && getfattr -d -R xcopy && getfacl -Rcp xcopy/data/sub &&
mkdir copy && tar -C data -cf - . | tar -C copy -xpf - && ls -la --time-style=+@%s copy | cut -d" " -f1,2,6- &&
tar -C / -cf "$PG_X/rel.tar" "${M#/}/data/tree" && tar -tf "$PG_X/rel.tar"'

# ------------------------------------------------------------------ git
pg_scen git_init 'set -e; cd "$M" && mkdir newrepo && cd newrepo && git init -q &&
git config user.name "PG Tester" && git config user.email tester@example.invalid &&
cp -a ../proj/src . && cp ../data/a.txt . && echo "hello" > README && git add -A &&
git commit -q -m first && git status --short --branch && echo more >> README && rm a.txt &&
git status --short && git commit -q -am second && git log --format="%H %an <%ae> %s" &&
git rev-parse "HEAD^{tree}" && git ls-files -s && git fsck --no-progress --strict && git gc -q &&
git count-objects -v | grep -v size && ls .git && git status --short --branch'
pg_scen git_lower 'set -e; cd "$M/repo" && git status --short --branch && git diff --stat && git log --oneline --decorate &&
git checkout -q -b feature && echo feature >> docs/guide.txt && git add docs && git commit -q -m "feature work" &&
cat .git/hook-out.txt && git status --short --branch && echo wip >> README.md && echo untracked > tmp.txt &&
git stash push -q -u && git status --short && git stash list && ls &&
git checkout -q main && git stash pop -q && git status --short && git log --all --format="%H %d %s" &&
git branch -a && git tag && git rev-parse HEAD feature v1 && git fsck --no-progress && git checkout -q v1 -- docs &&
git diff --cached --stat && git reset -q --hard && git clean -fdq && git status --short --branch && ls -a .git/hooks | grep -v sample'
# clones out of the lower repo into MERGED (without hard links: see git_clone_hardlinks), and
# a bare repo in MERGED pushed to and cloned from
pg_scen git_clone 'set -e; cd "$M" && git clone -q --no-hardlinks repo clone && git -C clone log --oneline &&
git init -q --bare bare.git && git -C repo push -q "$M/bare.git" main v1 &&
git -C bare.git log --oneline main && git clone -q "file://$M/bare.git" clone2 && ls -a clone2 &&
git -C clone2 status --short --branch && git -C clone fsck --no-progress && git -C clone2 fsck --no-progress'
# Not compared: `git clone` of a repo in a lower without --no-hardlinks. A local clone
# hard-links the object files (link(2) copies each lower file up) and git >= 2.39.4 then
# checks that the new link has the (st_dev, st_ino) it saw on the source before. The
# kernel keeps the lower inode number across copy-up (origin records); ovlshim keeps none
# and reports the upper copy's (DESIGN.md "Identity"), so git stops with "hardlink
# different from source". A documented limit (README); git_clone above uses --no-hardlinks.
# gc in the lower repo: packs the loose objects and prunes them (whiteouts over lower files)
pg_scen git_gc 'set -e; cd "$M/repo" && git count-objects -v | grep -v size && git gc -q --prune=now &&
git count-objects -v | grep -v size && ls .git/objects | sort && git fsck --no-progress --strict &&
git log --oneline && git status --short --branch && git repack -q -a -d && git prune-packed && git verify-pack -v .git/objects/pack/*.idx | tail -n 2'

# ------------------------------------------------------------------ make + gcc
# -j4 runs jobs in any order: the output is sorted. --post: the objects are in the upper only.
pg_scen make --sort \
	--post 'ls "$FX/u/proj/build" && for l in l1 l2 l3; do ls "$FX/$l/proj/build" 2>&1 | sed "s|$FX/||"; done; true' \
	'set -o pipefail; cd "$M/proj" && make -j4 && ./build/app x && make -j4 && touch include/util.h &&
make -j4 && "$M/proj/build/app" && make -s info && cd / && make -C "$M/proj" -j4 -q; echo q=$?;
cd "$M/proj" && sed -i "s/hello from l2/hello again/" src/util.c && make -j4 build/app && ./build/app &&
sed -n 1p build/main.d && ls build && file -b build/app | cut -d, -f1-2 &&
make clean && ls -a && make -j4 >/dev/null && ./build/app'

# LD_LIBRARY_PATH into MERGED, set by a shell under the shim: the child's loader opens libraries
# with its own calls, so the shim hands it the layer directories of each entry (upper first) and
# the child sees the value its parent set. libup.so is built into the upper, liblow.so is only
# in l2 (programs.sh); l2's bin/origin finds liblow.so through RUNPATH $ORIGIN/../lib, in its
# own layer, and after it is relinked into the upper (as bin/origin2 is built there), the shim
# adds the lower's lib directory to its LD_LIBRARY_PATH, unset again in the program.
# Relative and empty entries (the cwd), ';' as a separator, a grandchild.
pg_scen ld_library_path 'cd "$M/clib" && gcc -shared -fPIC -o lib/libup.so src/up.c &&
gcc -o bin/both src/both.c -Llib -lup -llow && gcc -o bin/lowonly src/lowonly.c -Llib -llow &&
LD_LIBRARY_PATH="$M/clib/lib" bin/both && LD_LIBRARY_PATH="$M/clib/lib" "$M/clib/bin/lowonly" &&
LD_LIBRARY_PATH="$M/clib/lib" printenv LD_LIBRARY_PATH && bin/origin &&
LD_LIBRARY_PATH="/nonexistent:lib" bash -c "bin/both && printenv LD_LIBRARY_PATH; env | grep -c ^OVL_LD_" ;
cd lib && LD_LIBRARY_PATH=":/nonexistent" ../bin/both && LD_LIBRARY_PATH="/nonexistent;." ../bin/lowonly &&
cd / && LD_LIBRARY_PATH="$M/clib/lib/../lib:/usr/lib" "$M/clib/bin/both" && ls "$M/clib/lib" &&
cd "$M/clib" && bin/both; echo rc=$?;
gcc -o bin/origin src/lowonly.c -Llib -llow -Wl,-rpath,"\$ORIGIN/../lib" && bin/origin &&
gcc -o bin/origin2 src/lowonly.c -Llib -llow -Wl,-rpath,"\${ORIGIN}/../lib" && "$M/clib/bin/origin2" &&
LD_LIBRARY_PATH=/nonexistent bin/origin2 && cd bin && ./origin2 && LD_LIBRARY_PATH= ./origin'

# ------------------------------------------------------------------ python3
pg_scen py_pkg --post 'ls -a "$FX/u/pkg/mypkg/__pycache__" "$FX/u/pkg/mypkg/sub/__pycache__" | sed "s|$FX/||"' \
	'cd "$M/pkg" && python3 -m mypkg && python3 -m venv --without-pip "$M/venv" && "$M/venv/bin/python" -c "import sys; print(sys.prefix, sys.base_prefix)" &&
cd "$M/venv/bin" && ./python3 -c "import sys; print(sys.executable, sys.prefix)" && cd "$M/pkg" && python3 -c "import mypkg.extra, mypkg.sub; print(mypkg.extra.extra(), mypkg.__file__)" &&
ls -a mypkg/__pycache__ mypkg/sub/__pycache__ && python3 -m compileall -q . && ls mypkg/__pycache__ &&
cd / && PYTHONPATH="$M/pkg" python3 -c "import mypkg, importlib.util; print(mypkg.hello(), importlib.util.find_spec(\"mypkg.extra\").origin)" &&
python3 -m py_compile "$M/scripts/pyscript" && "$M/scripts/pyscript" 1 2'
# The process's first look at the overlay is in a vfork child (subprocess: chdir, then exec): the
# layer fds the child opens are its own, not the parent's, whose next calls must still work; the
# child's relative paths start from the cwd it moved to; a _Fork child is no vfork child
pg_scen py_vfork_first 'cd / && python3 - <<"EOF"
import os, subprocess
M = os.environ["M"]
r = subprocess.run(["ls"], cwd=M + "/data", capture_output=True, text=True)
print(r.returncode, sorted(r.stdout.split()))
print(sorted(os.listdir(M + "/data")))
with open(M + "/data/b.txt", "a") as f:
    f.write("more\n")
print(open(M + "/data/b.txt").read())
r = subprocess.run(["sh", "-c", "echo new > n.txt && cat b.txt"], cwd=M + "/data", capture_output=True, text=True)
print(r.returncode, r.stdout)
pid = os.posix_spawn("/bin/ls", ["ls", M + "/data"], os.environ)
print(os.waitpid(pid, 0)[1], sorted(os.listdir(M + "/data")))
# a relative program and relative paths after the chdir of the vfork child start from there
r = subprocess.run(["./pyscript", "1", "2"], cwd=M + "/scripts", capture_output=True, text=True)
print(r.returncode, r.stdout)
r = subprocess.run(["sh", "-c", "ls ../data | head -3"], cwd=M + "/scripts", capture_output=True, text=True)
print(r.returncode, r.stdout)
# a child made by _Fork (no fork handlers) has memory of its own: it keeps the fds it opens
import ctypes
pid = ctypes.CDLL(None)._Fork()
if pid == 0:
    for _ in range(300):
        os.stat(M + "/data/b.txt")
    os.write(1, b"_Fork child fds: %s\n" % (b"few" if len(os.listdir("/proc/self/fd")) < 50 else b"many"))
    os._exit(0)
os.waitpid(pid, 0)
EOF'
pg_scen py_fs 'cd "$M" && python3 - <<"EOF"
import os, pathlib, shutil, stat, subprocess, sys, tempfile
M = os.environ["M"]
p = pathlib.Path(M)
print(sorted(x.name for x in (p / "data").iterdir()))
print(sorted(str(x.relative_to(p)) for x in p.rglob("*.py")))
print(sorted(str(x.relative_to(p)) for x in (p / "data").glob("**/*.txt")))
print([(d, sorted(ds), sorted(fs)) for d, ds, fs in sorted(os.walk(M + "/data/tree"))])
print(sorted((e.name, e.is_dir(), e.is_symlink()) for e in os.scandir(M + "/data")))
print((p / "data/a.txt").read_text().strip(), (p / "data/link_rel").resolve(), (p / "data/gone.txt").exists())
(p / "data/new.txt").write_text("pathlib\n")
(p / "newdir/a/b").mkdir(parents=True)
(p / "data/b.txt").replace(p / "newdir/b.txt")
(p / "data/c.txt").unlink()
(p / "data/a.txt").chmod(0o600)
os.utime(p / "data/hl1", (1300000000, 1300000000))
shutil.copytree(M + "/data/tree", M + "/tree_copy", symlinks=True)
shutil.copytree(M + "/pkg", M + "/pkg_copy", ignore=shutil.ignore_patterns("__pycache__"))
shutil.copy2(M + "/data/big.txt", M + "/big_copy")
shutil.rmtree(M + "/data/sub")
shutil.rmtree(M + "/proj")
print(shutil.move(M + "/tree_copy", M + "/tree_moved"))
print(shutil.move(M + "/data/tree", M + "/data_tree_moved"))
print(shutil.move(M + "/data/opq", M + "/newdir/"))
fd, name = tempfile.mkstemp(dir=M + "/data", prefix="tmp", suffix=".x")
os.write(fd, b"temp\n"); os.close(fd)
print(os.path.dirname(name) == M + "/data", oct(stat.S_IMODE(os.stat(name).st_mode)))
os.replace(name, M + "/data/from_mkstemp")
with tempfile.TemporaryDirectory(dir=M) as d:
    pathlib.Path(d, "inner").mkdir()
    pathlib.Path(d, "inner/f").write_text("x")
    print("tmpdir", sorted(os.listdir(d)))
print("tmpdir gone", not os.path.exists(d))
with tempfile.NamedTemporaryFile(dir=M + "/data/emptydir", delete=True) as t:
    t.write(b"ntf"); t.flush()
    print("ntf", os.path.getsize(t.name))
print("emptydir", os.listdir(M + "/data/emptydir"))
r = subprocess.run([sys.executable, "-c", "import os,sys; print(sorted(set(os.environ) - {\"LD_PRELOAD\", \"OVL_CONF\"})); print(open(sys.argv[1]).read().strip()); open(sys.argv[2], \"w\").write(\"from child\\n\")", M + "/data/a.txt", M + "/data/child.txt"], env={}, capture_output=True, text=True)
print("child env={}", r.returncode, r.stdout, r.stderr)
r = subprocess.run(["/bin/sh", "-c", "ls \"$0\" && cat \"$0/child.txt\" && \"$1\" via-sh", M + "/data", M + "/scripts/dashy.sh"], env={}, capture_output=True, text=True)
print("sh env={}", r.returncode, r.stdout, r.stderr)
print(subprocess.run(["scripts/hello.sh", "rel"], cwd=M, capture_output=True, text=True).stdout)
print(subprocess.check_output("echo *; cat data/from_script.txt", shell=True, cwd=M, text=True))
os.chdir(M + "/data")
print(os.getcwd(), sorted(os.listdir(".")))
EOF'

# ------------------------------------------------------------------ sqlite3
pg_scen sqlite 'set -e; cd "$M/db"
sqlite3 new.db "PRAGMA journal_mode=DELETE; CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); BEGIN; INSERT INTO t(v) VALUES(\"a\"),(\"b\"); COMMIT;"
sqlite3 new.db "INSERT INTO t(v) VALUES(\"c\"); SELECT count(*) FROM t; PRAGMA journal_mode;"
sqlite3 old.db "INSERT INTO t VALUES(4); SELECT group_concat(x) FROM t; PRAGMA integrity_check;"
sqlite3 wal.db "PRAGMA journal_mode=WAL; CREATE TABLE w(x); INSERT INTO w VALUES(1),(2);"
python3 "$PG_IN/sqlreader.py" wal.db "$PG_X/ready" "$PG_X/done" > "$PG_X/reader.out" &
n=0; while [ ! -e "$PG_X/ready" ] && [ $n -lt 1000 ]; do sleep 0.02; n=$((n+1)); done
sqlite3 wal.db "INSERT INTO w VALUES(3); SELECT \"writer sees\", count(*) FROM w;" && ls wal.db-wal wal.db-shm
touch "$PG_X/done"; wait $!; cat "$PG_X/reader.out"
sqlite3 wal.db "PRAGMA journal_mode; SELECT group_concat(x) FROM w; PRAGMA wal_checkpoint(TRUNCATE);" &&
sqlite3 old.db "PRAGMA journal_mode=WAL; INSERT INTO t VALUES(5); SELECT count(*) FROM t;" &&
sqlite3 old.db "PRAGMA journal_mode=DELETE; SELECT group_concat(x) FROM t;" &&
python3 -c "import sqlite3; c = sqlite3.connect(\"new.db\"); c.execute(\"INSERT INTO t(v) VALUES(?)\", (\"py\",)); c.commit(); print(c.execute(\"SELECT group_concat(v) FROM t\").fetchone()); c.close()" &&
sqlite3 new.db ".tables" "SELECT count(*) FROM t;" && ls -a'

# ------------------------------------------------------------------ rsync
pg_scen rsync 'rsync -a "$PG_IN/rsrc/" "$M/data/" && rsync -a "$PG_IN/rsrc" "$M/newdir/" &&
rsync -a --delete -i "$PG_IN/rsrc/" "$M/data/tree/" && rsync -a -i "$M/proj/" "$PG_X/projcopy/" &&
rsync -a -i "$PG_IN/rsrc/" "$M/data/" && rsync -a --delete "$M/pkg/" "$M/newdir/rsrc/" &&
cat "$M/data/a.txt" && ls -a "$M/data/tree" "$M/newdir" "$M/newdir/rsrc" && stat -c "%n %a @%Y" "$M/data/a.txt" "$M/data/tree" "$M/data/tree/y/z.txt" &&
$OVL_TOOL tree --mtime "$PG_X/projcopy" && rsync -aAX -i "$M/data/" "$PG_X/dataAX/" &&
getfattr -d -R "$PG_X/dataAX" --absolute-names && getfacl -cp "$PG_X/dataAX/sub/s1.txt" && rsync -aAX "$PG_X/dataAX/sub/" "$M/data/subAX/" &&
getfacl -cp "$M/data/subAX/s1.txt" && getfattr -d "$M/data/b.txt"'

# ------------------------------------------------------------------ node
pg_scen node --need node 'cd "$M" && node - <<"EOF"
const fs = require("fs"), path = require("path");
const M = process.env.M, P = (p) => path.join(M, p);
console.log(fs.readdirSync(P("data")).sort().join(" "));
console.log(fs.readdirSync(P("data"), { withFileTypes: true })
  .map((d) => d.name + (d.isDirectory() ? "/" : d.isSymbolicLink() ? "@" : d.isFIFO() ? "|" : "")).sort().join(" "));
for (const p of ["data/a.txt", "data/tree", "data/link_rel", "data/link_dir", "proj/Makefile", "notes/u.txt"]) {
  const s = fs.statSync(P(p)), l = fs.lstatSync(P(p));
  console.log(p, s.isFile(), s.isDirectory(), l.isSymbolicLink(), s.isDirectory() ? "-" : s.size,
    (s.mode & 0o7777).toString(8), s.mtimeMs >= 1600000000000 ? "NEW" : s.mtimeMs);
}
for (const p of ["data/gone.txt", "data/opq/hidden.txt"]) {
  try { fs.statSync(P(p)); console.log(p, "exists"); } catch (e) { console.log(p, e.code); }
}
fs.writeFileSync(P("data/node.txt"), "from node\n");
fs.appendFileSync(P("data/a.txt"), "node append\n");
fs.renameSync(P("data/node.txt"), P("data/tree/node2.txt"));
fs.renameSync(P("data/b.txt"), P("data/b2.txt"));
try { fs.renameSync(P("data/tree"), P("data/tree2")); console.log("dir rename ok"); } catch (e) { console.log("dir rename", e.code); }
fs.mkdirSync(P("nd/x/y"), { recursive: true });
fs.rmSync(P("data/tree/y"), { recursive: true });
fs.copyFileSync(P("data/c.txt"), P("nd/c.txt"));
fs.cpSync(P("pkg"), P("nd/pkgcopy"), { recursive: true, preserveTimestamps: true });
console.log(fs.readdirSync(P("nd/pkgcopy/mypkg")).sort().join(" "), fs.statSync(P("nd/pkgcopy/mypkg/core.py")).mtimeMs);
console.log(fs.readFileSync(P("data/a.txt"), "utf8").trim());
console.log(fs.existsSync(P("data/b.txt")), fs.existsSync(P("data/b2.txt")), fs.realpathSync(P("data/link_dir")));
(async () => {
  const fsp = fs.promises;
  console.log((await fsp.readdir(P("data/tree"))).sort().join(" "));
  console.log((await fsp.stat(P("data/tree/node2.txt"))).size, (await fsp.lstat(P("data/link_rel"))).isSymbolicLink());
  await fsp.writeFile(P("data/async.txt"), "async\n");
  await fsp.rename(P("data/async.txt"), P("data/async2.txt"));
  await fsp.mkdir(P("nd/async"));
  await fsp.rm(P("data/sub"), { recursive: true });
  console.log((await fsp.readFile(P("data/async2.txt"), "utf8")).trim(), fs.existsSync(P("data/async.txt")));
  const dir = await fsp.opendir(P("nd"));
  const names = []; for await (const d of dir) names.push(d.name);
  console.log(names.sort().join(" "));
  fs.watch && console.log("done");
})().catch((e) => { console.log("async error", e); process.exit(1); });
EOF'

pg_run programs
ovl_summary
