#!/usr/bin/env python3
"""The metadata and small-file workloads of scripts/bench's mount section,
run in one directory (a mount or a local one): prints "name value" lines.

  mount_workloads.py DIR [FILES]

create: empty files (open O_CREAT|O_WRONLY, close); stat: os.stat of each,
three passes; ls: `ls -l` of the directory, entries/s; rename: each to a new
name; unlink: each; small: 1000 x 4 KiB files, each fsync'd before close;
small4: the same 1000 files written by 4 threads at once (250 each).
"""
import os
import subprocess
import sys
import threading
import time


def rate(n, fn):
    start = time.perf_counter()
    fn()
    return n / (time.perf_counter() - start)


def main():
    root = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    d = os.path.join(root, "meta-%d" % os.getpid())
    os.mkdir(d)
    names = [os.path.join(d, "f%05d" % i) for i in range(n)]
    moved = [os.path.join(d, "g%05d" % i) for i in range(n)]

    def create():
        for p in names:
            os.close(os.open(p, os.O_CREAT | os.O_WRONLY, 0o644))

    def stat():
        for _ in range(3):
            for p in names:
                os.stat(p)

    def ls():
        subprocess.run(["ls", "-l", d], stdout=subprocess.DEVNULL, check=True)

    def rename():
        for a, b in zip(names, moved):
            os.rename(a, b)

    def unlink():
        for p in moved:
            os.unlink(p)

    print("create %.0f" % rate(n, create))
    print("stat %.0f" % rate(3 * n, stat))
    print("ls %.0f" % rate(n, ls))
    print("rename %.0f" % rate(n, rename))
    print("unlink %.0f" % rate(n, unlink))

    block = os.urandom(4096)

    def write_small(numbers):
        for i in numbers:
            fd = os.open(os.path.join(d, "s%04d" % i), os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o644)
            os.write(fd, block)
            os.fsync(fd)
            os.close(fd)

    def small4():
        # The GIL is let go in each system call: the writes overlap.
        threads = [threading.Thread(target=write_small, args=(range(k, 1000, 4),)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    print("small %.0f" % rate(1000, lambda: write_small(range(1000))))
    for i in range(1000):
        os.unlink(os.path.join(d, "s%04d" % i))
    print("small4 %.0f" % rate(1000, small4))
    for i in range(1000):
        os.unlink(os.path.join(d, "s%04d" % i))
    os.rmdir(d)


if __name__ == "__main__":
    main()
