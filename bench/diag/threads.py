#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""CPU time of every thread of `ftx serve` and `ftx send` during one upload over 127.0.0.1.

Usage: bench/diag/threads.py FTX FILE [xxh128|sha256] [extra `ftx serve` options...]
With `--no-tls` among the server's options the client sends with `--plain`.
The server receives into a mktemp dir under /tmp (on disk), removed at the end. Threads are
sampled from /proc/PID/task/*/stat every 50 ms (a thread's last 50 ms may be missed)."""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

ftx, src = sys.argv[1], sys.argv[2]
algo = sys.argv[3] if len(sys.argv) > 3 else "xxh128"
d = tempfile.mkdtemp(dir="/tmp", prefix="ftx-diag-")
with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
tick = os.sysconf("SC_CLK_TCK")
seen = {}


def sample(pid, who):
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except FileNotFoundError:
        return
    for t in tids:
        try:
            stat = open(f"/proc/{pid}/task/{t}/stat").read()
        except FileNotFoundError:
            continue
        rest = stat[stat.rindex(")") + 2:].split()
        seen[(who, t)] = (int(rest[11]) / tick, int(rest[12]) / tick)


srv = subprocess.Popen([ftx, "serve", "--host", "127.0.0.1", "--port", str(port), "--dir", d, "--quiet",
                        "--hash", algo, *sys.argv[4:]], start_new_session=True)
try:
    time.sleep(0.5)
    t0 = time.monotonic()
    plain = ["--plain"] if "--no-tls" in sys.argv[4:] else []
    cli = subprocess.Popen([ftx, "send", f"127.0.0.1:{port}", src, "--no-progress", *plain], stdout=subprocess.DEVNULL)
    while cli.poll() is None:
        sample(srv.pid, "serve")
        sample(cli.pid, "send")
        time.sleep(0.05)
    wall = time.monotonic() - t0
    sample(srv.pid, "serve")
    print(f"ftx send exited {cli.returncode} after {wall:.2f} s")
    for (who, t), (u, s_) in sorted(seen.items()):
        if u + s_ > 0.02:
            print(f"  {who:5} thread {t}: user {u:.2f} s, sys {s_:.2f} s ({(u + s_) / wall * 100:.0f}% of the wall time)")
finally:
    os.killpg(srv.pid, signal.SIGTERM)
    srv.wait()
    shutil.rmtree(d, ignore_errors=True)
