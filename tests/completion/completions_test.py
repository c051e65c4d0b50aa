#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The installed completion scripts name every option `ftx CMD --help` lists, and complete
for real: in bash always, in zsh and fish when they are installed (skipped otherwise).

usage: completions_test.py FTX BASH_FILE ZSH_FILE FISH_FILE
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
failures = []


def check(ok, what):
    print(("ok    " if ok else "FAIL  ") + what, flush=True)
    if not ok:
        failures.append(what)


def run(args, **kw):
    return subprocess.run(args, capture_output=True, text=True, timeout=120, **kw)


def commands_and_options(ftx):
    """{command: [(short, long)]} as `ftx --help` and `ftx CMD --help` print them."""
    top = run([ftx, "--help"]).stdout
    names = re.findall(r"^  (\w+)\s", top.split("Commands:")[1].split("Options:")[0], re.M)
    table = {}
    for name in names:
        help_text = run([ftx, name, "--help"]).stdout
        table[name] = re.findall(r"^\s+(?:-(\w), )?--([\w-]+)", help_text, re.M)
        check(len(table[name]) > 0, f"ftx {name} --help lists options")
    return table


def names_every_option(table, scripts):
    for shell, path in scripts.items():
        text = open(path).read()
        for cmd, options in table.items():
            check(re.search(rf"\b{cmd}\b", text) is not None, f"{shell}: names command {cmd}")
            for short, long in options:
                if shell == "fish":
                    pattern = rf"__fish_seen_subcommand_from {cmd}'.* -l {re.escape(long)} "
                    check(re.search(pattern, text) is not None, f"fish: {cmd} --{long}")
                    if short:
                        check(re.search(rf"{cmd}'.* -s {short} -l {re.escape(long)} ", text) is not None,
                              f"fish: {cmd} -{short}")
                else:
                    # Whole words: --log must not pass on --log-chat, nor -p on --port.
                    check(re.search(rf"(?<![\w-])--{re.escape(long)}(?![\w-])", text) is not None,
                          f"{shell}: {cmd} --{long}")
                    if short:
                        check(re.search(rf"(?<![\w-])-{short}(?![\w-])", text) is not None,
                              f"{shell}: {cmd} -{short}")


# (words on the command line, the last one being completed) -> what must be offered, and
# what must not be.
def cases(tmp):
    return [
        (["ftx", ""], {"serve", "send", "chat"}, {"completion"}),
        (["ftx", "serve", "--ov"], {"--overwrite"}, set()),
        (["ftx", "serve", "--overwrite", ""], {"rename", "replace", "refuse"}, set()),
        (["ftx", "serve", "--hash", ""], {"xxh128", "sha256"}, set()),
        (["ftx", "serve", "--dir", tmp + "/"], {tmp + "/sub"}, {tmp + "/file.txt"}),
        (["ftx", "send", "h:9000", tmp + "/fi"], {tmp + "/file.txt"}, set()),
        (["ftx", "chat", "--no"], {"--no-echo"}, {"--no-fsync"}),
    ]


def bash_completes(path, tmp):
    check(run(["bash", "--norc", "--noprofile", "-c", f"source {path} && complete -p ftx"]).stdout.strip()
          == "complete -F _ftx ftx", "bash: complete -p ftx")
    todo = cases(tmp) + [(["ftx", "serve", "--overwrite", "=", "re"], {"rename", "replace", "refuse"}, set())]
    for words, want, unwanted in todo:
        quoted = " ".join("'" + w + "'" for w in words)
        script = (f"source {path}; COMP_WORDS=({quoted}); COMP_CWORD={len(words) - 1}; "
                  "_ftx; printf '%s\\n' \"${COMPREPLY[@]}\"")
        got = set(run(["bash", "--norc", "--noprofile", "-c", script]).stdout.split())
        check(want <= got and not (unwanted & got), f"bash: {' '.join(words)} -> {sorted(got)}")


def fish_completes(path, tmp):
    if not shutil.which("fish"):
        print("skip  fish: not installed")
        return
    env = dict(os.environ, XDG_CONFIG_HOME=tmp + "/xdg", XDG_DATA_HOME=tmp + "/xdg", HOME=tmp)
    for words, want, unwanted in cases(tmp):
        line = " ".join(words)
        out = run(["fish", "--no-config", "-c", f"source {path}; complete -C '{line}'"], env=env).stdout
        got = {entry.split("\t")[0].rstrip("/") for entry in out.splitlines()}
        check(want <= got and not (unwanted & got), f"fish: {line} -> {sorted(got)}")


def zsh_completes(path, tmp):
    if not shutil.which("zsh"):
        print("skip  zsh: not installed")
        return
    check(run(["zsh", "-n", path]).returncode == 0, "zsh: the script parses")
    fpath = tmp + "/fpath"
    os.makedirs(fpath, exist_ok=True)
    shutil.copy(path, fpath + "/_ftx")
    lines = [" ".join(words) for words, _, _ in cases(tmp)]
    out = run(["zsh", "-f", os.path.join(HERE, "zsh_driver.zsh"), fpath] + lines, env=dict(os.environ, HOME=tmp))
    if out.stdout.startswith("NO_PTY"):
        print("skip  zsh: no pseudo-terminal to run its line editor on")
        return
    listed = dict(re.findall(r"^LINE \[(.*?)\] => (.*)$", out.stdout, re.M))
    for (words, want, unwanted), line in zip(cases(tmp), lines):
        shown = listed.get(line, "")
        # zsh shows what it inserted (a common prefix, or the one match) and lists the rest.
        got = {w for w in want | unwanted if w in shown or w.rsplit("/", 1)[-1] in shown}
        check(want <= got and not (unwanted & got), f"zsh: {line} -> {shown[-160:]!r}")


def main():
    ftx, bash_file, zsh_file, fish_file = sys.argv[1:5]
    scripts = {"bash": bash_file, "zsh": zsh_file, "fish": fish_file}
    names_every_option(commands_and_options(ftx), scripts)
    with tempfile.TemporaryDirectory() as tmp:
        os.makedirs(tmp + "/sub")
        open(tmp + "/file.txt", "w").close()
        bash_completes(bash_file, tmp)
        fish_completes(fish_file, tmp)
        zsh_completes(zsh_file, tmp)
    print(f"{len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
