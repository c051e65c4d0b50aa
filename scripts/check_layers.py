#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Fails when a file in src/ includes a header of a layer above its own. The layers, from the
# bottom: util, digest, proto, net, wire, then http (pure HTTP/1.1 heads and answers, on
# proto), then server and client side by side, then cli and main.cpp. Run by the build
# (src/meson.build), so a wrong-way include fails it.
import pathlib
import re
import sys

BELOW = {
    "util": set(),
    "digest": {"util"},
    "proto": {"util", "digest"},
    "net": {"util"},
    "wire": {"util", "digest", "proto", "net"},
    "http": {"util", "digest", "proto"},
    "server": {"util", "digest", "proto", "net", "wire", "http"},
    "client": {"util", "digest", "proto", "net", "wire"},
    "cli": {"util", "digest", "proto", "net", "wire", "http", "server", "client"},
}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([a-z_]+)/', re.M)


def main(src, stamp):
    src = pathlib.Path(src)
    wrong = []
    for path in sorted(src.rglob("*")):
        if path.suffix not in (".h", ".cpp") or path.parent == src:
            continue
        layer = path.relative_to(src).parts[0]
        if layer not in BELOW:
            wrong.append(f"{path}: directory '{layer}' is in no layer (add it to scripts/check_layers.py)")
            continue
        allowed = BELOW[layer] | {layer}
        for m in INCLUDE.finditer(path.read_text(encoding="utf-8")):
            if m.group(1) not in allowed:
                line = path.read_text(encoding="utf-8").count("\n", 0, m.start()) + 1
                wrong.append(f"{path}:{line}: layer '{layer}' includes '{m.group(1)}/', a layer above it or beside it")
    for w in wrong:
        print(w, file=sys.stderr)
    if wrong:
        return 1
    pathlib.Path(stamp).write_text("layers ok\n")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print("usage: scripts/check_layers.py SRC_DIR STAMP_FILE (the build runs it: src/meson.build)",
              file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1], sys.argv[2]))
