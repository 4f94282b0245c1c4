"""subproc.py MERGED N: python3's subprocess (vfork + exec in the child since 3.10) in a loop
while three threads keep making overlay calls (stat, listdir, read, create + unlink).

The children run programs on merged paths: bin/true (a lower ELF), the #! script
bin/child.sh (checks its $0 and that its argument, a merged path, is a file), the same with
env={} (the overlay must follow the child anyway), sh -c reading a merged file, and
child.sh with cwd= a merged directory. After each child the parent's own cwd must not
have moved (a vfork child shares the parent's memory). Exit 0 when every check passed.
"""
import os
import subprocess
import sys
import threading

M = sys.argv[1]
N = int(sys.argv[2]) if len(sys.argv) > 2 else 100
fails = []
stop = False


def fail(msg):
    fails.append(msg)
    if len(fails) <= 10:
        print("FAIL:", msg, file=sys.stderr, flush=True)


def worker(i):
    n = 0
    while not stop:
        try:
            st = os.stat(f"{M}/data/f1")
            if st.st_size != len("data 1 from l2\n"):
                fail(f"worker {i}: stat data/f1 size {st.st_size}")
            ls = sorted(os.listdir(f"{M}/ro"))
            if ls != ["a", "c", "d", "e", "sub"]:
                fail(f"worker {i}: listdir ro {ls}")
            with open(f"{M}/data/f0") as f:
                got = f.read()
            if got != "data 0 from l1\n":
                fail(f"worker {i}: read data/f0 {got!r}")
            p = f"{M}/tw/t{8 + i}/py{n % 4}"
            with open(p, "w") as f:
                f.write("x")
            os.unlink(p)
            if os.path.exists(f"{M}/data/f3"):
                fail(f"worker {i}: whiteout data/f3 visible")
        except Exception as e:  # noqa: BLE001 - every error is a failed check
            fail(f"worker {i}: {e!r}")
        n += 1


os.chdir(f"{M}/deep/a")
cwd = os.getcwd()
threads = [threading.Thread(target=worker, args=(i,)) for i in range(3)]
for t in threads:
    t.start()
script = f"{M}/bin/child.sh"
f1 = f"{M}/data/f1"
try:
    for k in range(N):
        kind = k % 5
        try:
            if kind == 0:
                r = subprocess.run([f"{M}/bin/true"], timeout=20)
            elif kind == 1:
                r = subprocess.run([script, f1, script], timeout=20)
            elif kind == 2:
                r = subprocess.run([script, f1, script], env={}, timeout=20)
            elif kind == 3:
                r = subprocess.run(
                    ["sh", "-c", f'read l < "{M}/data/f0" && [ "$l" = "data 0 from l1" ]'],
                    env={"PATH": "/usr/bin:/bin"}, timeout=20)
            else:
                r = subprocess.run([script, f1, script], cwd=f"{M}/ro", timeout=20)
        except subprocess.TimeoutExpired as e:
            fail(f"child {k} (kind {kind}) hung: {e}")
            break
        if r.returncode != 0:
            fail(f"child {k} (kind {kind}): exit status {r.returncode}")
        now = os.getcwd()
        if now != cwd:
            fail(f"after child {k} (kind {kind}): the parent's cwd moved from {cwd} to {now}")
            os.chdir(cwd)
        if sorted(os.listdir(".")) != ["b"]:
            fail(f"after child {k} (kind {kind}): listdir('.') is {sorted(os.listdir('.'))}")
finally:
    stop = True
    for t in threads:
        t.join()
print(f"subproc: {N} children, {len(fails)} failures")
sys.exit(1 if fails else 0)
