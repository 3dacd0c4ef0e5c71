#!/usr/bin/env python3
"""What each metadata workload through a mount costs: microseconds per call
and the server requests per call, read from the servers' metrics (a cluster
from `dfs cluster up`, whose metrics are on its base port + 1000 on).

  mount_calls.py MOUNTDIR BASE_PORT [DATA_SERVERS] [N]

Prints "workload  us/op  {server:Op: requests per call}" lines.
"""
import os
import re
import sys
import time
import urllib.request


def snapshot(ports):
    counts = {}
    for i, port in enumerate(ports):
        kind = "meta" if i == 0 else "data"
        body = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port).read().decode()
        for line in body.splitlines():
            m = re.match(r'dfs_(?:meta|data)_requests_total\{(?:server="\d+",)?op="(\w+)"\} (\d+)', line)
            if m:
                key = kind + ":" + m.group(1)
                counts[key] = counts.get(key, 0) + int(m.group(2))
    return counts


def main():
    root, base = sys.argv[1], int(sys.argv[2])
    servers = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    n = int(sys.argv[4]) if len(sys.argv) > 4 else 100
    ports = [base + 1000 + i for i in range(servers + 1)]
    d = os.path.join(root, "calls-%d" % os.getpid())
    os.mkdir(d)

    def phase(name, fn):
        before = snapshot(ports)
        start = time.perf_counter()
        fn()
        took = time.perf_counter() - start
        after = snapshot(ports)
        calls = {k: round((v - before.get(k, 0)) / n, 2) for k, v in sorted(after.items()) if v != before.get(k, 0)}
        print("%-8s %7.0f us/op  %s" % (name, took / n * 1e6, calls))

    block = os.urandom(4096)

    def small():
        for i in range(n):
            fd = os.open(os.path.join(d, "s%d" % i), os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o644)
            os.write(fd, block)
            os.fsync(fd)
            os.close(fd)

    phase("create", lambda: [os.close(os.open(os.path.join(d, "f%d" % i), os.O_CREAT | os.O_WRONLY, 0o644))
                             for i in range(n)])
    phase("stat", lambda: [os.stat(os.path.join(d, "f%d" % i)) for i in range(n)])
    phase("rename", lambda: [os.rename(os.path.join(d, "f%d" % i), os.path.join(d, "g%d" % i)) for i in range(n)])
    phase("unlink", lambda: [os.unlink(os.path.join(d, "g%d" % i)) for i in range(n)])
    phase("small", small)
    phase("unlink4k", lambda: [os.unlink(os.path.join(d, "s%d" % i)) for i in range(n)])
    os.rmdir(d)


if __name__ == "__main__":
    main()
