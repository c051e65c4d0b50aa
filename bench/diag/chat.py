#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Where the CPU goes in the chat fan-out of bench/run case (c), for ftx.

Usage: bench/diag/chat.py FTX [RECEIVERS (50)] [LINES (100000)] [--plain] [--strace-server]
                          [--record=PERF_DATA]
Prints the wall time, the server's CPU (all threads) and context switches (perf stat, when
perf is installed), the receivers' CPU, and `strace -c -f` of one receiver; with
--strace-server, `strace -c -f` of the server instead of the timing (slow: use fewer lines).
--plain: plain TCP (ftx serve --no-tls, ftx chat --plain), as bench/run's (c) row. --record:
`perf record -a -g` of the whole machine while the lines fan out, into PERF_DATA (then
`perf report -i PERF_DATA --no-children --sort comm,dso,sym`), instead of strace and perf stat."""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

args = [a for a in sys.argv[1:] if not a.startswith("--")]
strace_server = "--strace-server" in sys.argv
plain = "--plain" in sys.argv
record = next((a.split("=", 1)[1] for a in sys.argv[1:] if a.startswith("--record=")), None)
ftx = args[0]
nrecv = int(args[1]) if len(args) > 1 else 50
nlines = int(args[2]) if len(args) > 2 else 100000
d = tempfile.mkdtemp(dir="/dev/shm", prefix="ftx-diag-")
with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
tick = os.sysconf("SC_CLK_TCK")
width = max(6, len(str(nlines)))
lines = os.path.join(d, "lines.txt")
with open(lines, "w") as f:
    f.write("".join(f"line {i:0{width}d}\n" for i in range(1, nlines + 1)))
procs = []


# The clients remember the server's key in a config directory of this run, not the user's.
env = dict(os.environ, XDG_CONFIG_HOME=os.path.join(d, "config"))


def spawn(argv, **kw):
    p = subprocess.Popen(argv, start_new_session=True, env=env, **kw)
    procs.append(p)
    return p


def cpu(pid):
    total = [0.0, 0.0]
    try:
        for t in os.listdir(f"/proc/{pid}/task"):
            try:
                stat = open(f"/proc/{pid}/task/{t}/stat").read()
            except FileNotFoundError:
                continue
            rest = stat[stat.rindex(")") + 2:].split()
            total[0] += int(rest[11]) / tick
            total[1] += int(rest[12]) / tick
    except FileNotFoundError:
        pass
    return total


try:
    serve = [ftx, "serve", "--host", "127.0.0.1", "--port", str(port), "--dir", d + "/in", "--quiet",
             "--max-clients", str(nrecv + 16), "--max-per-address", "0", "--max-chat", str(nrecv + 8)] + (["--no-tls"] if plain else [])
    if strace_server:
        serve = ["strace", "-c", "-f", "-o", d + "/server.strace"] + serve
    srv = spawn(serve)
    time.sleep(1.0)
    spid = srv.pid
    if strace_server:  # the server is strace's child
        spid = int(open(f"/proc/{srv.pid}/task/{srv.pid}/children").read().split()[0])
    r, w = os.pipe()
    recv = []
    for i in range(nrecv):
        argv = [ftx, "chat", f"127.0.0.1:{port}", "--name", f"r{i}", "--quiet"] + (["--plain"] if plain else [])
        if i == 0 and not record:
            argv = ["strace", "-c", "-f", "-o", d + "/receiver.strace"] + argv
        with open(f"{d}/r{i}.txt", "wb") as out:
            recv.append(spawn(argv, stdin=r, stdout=out))
    os.close(r)
    time.sleep(2.0)
    base = cpu(spid)
    base_r = [cpu(p.pid) for p in recv[1:]]
    perf = None
    recording = None
    if record:
        recording = spawn(["perf", "record", "-a", "-g", "-F", "2999", "-o", record], stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)
        time.sleep(1.0)
    elif shutil.which("perf") and not strace_server:
        perf = spawn(["perf", "stat", "-e", "task-clock,context-switches", "-p", str(spid)],
                     stderr=open(d + "/perf.txt", "w"))
        time.sleep(0.3)
    def busy():
        f = [int(x) for x in open("/proc/stat").readline().split()[1:]]
        return sum(f) - f[3] - f[4], sum(f)  # all but idle and iowait
    busy0 = busy()
    t0 = time.monotonic()
    with open(lines, "rb") as i:
        snd = spawn([ftx, "chat", f"127.0.0.1:{port}", "--name", "sender", "--quiet", "--no-echo"] +
                    (["--plain"] if plain else []), stdin=i)
    last = f"line {nlines:0{width}d}\n".encode()
    while True:
        done = 0
        for i in range(nrecv):
            with open(f"{d}/r{i}.txt", "rb") as f:
                f.seek(0, 2)
                f.seek(max(0, f.tell() - 64))
                done += last in f.read()
        if done == nrecv or time.monotonic() - t0 > 600:
            break
        time.sleep(0.05)
    wall = time.monotonic() - t0
    busy1 = busy()
    if recording:
        recording.send_signal(signal.SIGINT)
        recording.wait(60)
    snd.wait(60)
    after = cpu(spid)
    after_r = [cpu(p.pid) for p in recv[1:]]
    if perf:
        perf.send_signal(signal.SIGINT)
        perf.wait(10)
    print(f"{done}/{nrecv} receivers got all {nlines} lines in {wall:.2f} s "
          f"({nrecv * nlines / wall:.0f} lines/s); sender exit {snd.returncode}")
    print(f"machine: {100 * (busy1[0] - busy0[0]) / max(1, busy1[1] - busy0[1]):.0f}% of all cores busy "
          f"during the fan-out")
    print(f"server (all threads): user {after[0] - base[0]:.2f} s, sys {after[1] - base[1]:.2f} s")
    ru = sum(a[0] - b[0] for a, b in zip(after_r, base_r))
    rs = sum(a[1] - b[1] for a, b in zip(after_r, base_r))
    print(f"receivers 1..{nrecv - 1}: user {ru:.2f} s, sys {rs:.2f} s")
    if perf:
        print("perf stat of the server:", *[l for l in open(d + "/perf.txt").read().splitlines()
                                              if "task-clock" in l or "context-switches" in l], sep="\n")
    os.close(w)
finally:
    for p in reversed(procs):
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
    for name in ("receiver", "server"):
        path = f"{d}/{name}.strace"
        if os.path.exists(path):
            print(f"strace -c -f of the {name} ({'receiver 0' if name == 'receiver' else 'ftx serve'}):")
            print("".join(open(path).readlines()[:8]), end="")
    shutil.rmtree(d, ignore_errors=True)
