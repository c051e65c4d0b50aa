#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The install paths, end to end: `meson install --destdir` puts every file in its usual place;
# the Debian package builds (running the unit tests), lintian finds no error in it, it
# installs with apt-get, and the installed ftx serves a loopback send; systemd accepts the
# unit. Run from the project root after `build/` is built (./quickstart test does that).
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS
rc=0
fail() {
  echo "dist/check.sh: FAIL: $*" >&2
  rc=1
}

prefix=$(meson introspect build --buildoptions |
  python3 -c 'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == "prefix"))')
echo "-- meson install --destdir (prefix $prefix)" >&2
stage=build/install-check
rm -rf "$stage"
meson install -C build --no-rebuild --quiet --destdir "$PWD/$stage" >/dev/null
sysconf=$prefix/etc
[[ $prefix == /usr ]] && sysconf=/etc
expected=(
  "$prefix/bin/ftx"
  "$prefix/share/man/man1/ftx.1"
  "$prefix/share/man/man7/ftx-protocol.7"
  "$prefix/share/bash-completion/completions/ftx"
  "$prefix/share/zsh/vendor-completions/_ftx"
  "$prefix/share/fish/vendor_completions.d/ftx.fish"
  "$prefix/lib/systemd/system/ftx.service"
  "$sysconf/logrotate.d/ftx"
  "$sysconf/default/ftx"
)
installed=$(cd "$stage" && find . -type f | sed 's|^\.||' | sort)
wanted=$(printf '%s\n' "${expected[@]}" | sort)
if [[ $installed != "$wanted" ]]; then
  fail "meson install layout differs (< installed, > expected):"
  diff <(echo "$installed") <(echo "$wanted") >&2 || true
fi
[[ $(stat -c %a "$stage$sysconf/default/ftx") == 600 ]] || fail "$sysconf/default/ftx is not mode 600"
grep -qx "ExecStart=$prefix/bin/ftx serve --dir /var/lib/ftx \$FTX_OPTS" "$stage$prefix/lib/systemd/system/ftx.service" ||
  fail "the unit does not start $prefix/bin/ftx"
cmp -s "$stage$prefix/share/bash-completion/completions/ftx" <(build/src/ftx completion bash) ||
  fail "the installed bash completion is not what ftx writes"

echo "-- dpkg-buildpackage (unit tests included), lintian" >&2
# A copy of the sources: dpkg-buildpackage writes into the tree and its parent directory.
deb=build-deb
rm -rf "$deb"
mkdir -p "$deb/src"
tar --exclude='./build*' --exclude=./.git --exclude=./ftx-inbox -cf - . | tar -xf - -C "$deb/src"
if ! (cd "$deb/src" && DEB_BUILD_OPTIONS="parallel=$(nproc)" dpkg-buildpackage -us -uc -b) >"$deb/build.log" 2>&1; then
  tail -n 60 "$deb/build.log" >&2
  fail "dpkg-buildpackage failed (whole log: $deb/build.log)"
  exit 1
fi
grep -E '^(Ok|Fail|Skipped|Expected Fail|Unexpected Pass|Timeout): ' "$deb/build.log" >&2 || true
lintian --fail-on error --suppress-tags initial-upload-closes-no-bugs "$deb"/ftx_*.changes >"$deb/lintian.log" 2>&1 ||
  fail "lintian found errors"
cat "$deb/lintian.log" >&2
echo "lintian: $(grep -c '^E: ' "$deb/lintian.log") errors, $(grep -c '^W: ' "$deb/lintian.log") warnings" >&2

echo "-- apt-get install ./ftx_*.deb, then the installed binary" >&2
sudo=()  # root runs apt-get directly, anyone else through sudo, as ./quickstart does
[[ $(id -u) -ne 0 ]] && sudo=(sudo)
was_installed=0
dpkg-query -W -f='${Status}' ftx 2>/dev/null | grep -q 'install ok installed' && was_installed=1
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q --no-install-recommends "./$(ls "$deb"/ftx_*.deb)" \
  >"$deb/install.log" 2>&1 || {
  cat "$deb/install.log" >&2
  fail "apt-get install failed"
}
for f in /usr/bin/ftx /usr/share/man/man1/ftx.1.gz /usr/share/man/man7/ftx-protocol.7.gz \
  /usr/share/bash-completion/completions/ftx /usr/share/zsh/vendor-completions/_ftx \
  /usr/share/fish/vendor_completions.d/ftx.fish /lib/systemd/system/ftx.service /etc/logrotate.d/ftx \
  /etc/default/ftx; do
  dpkg -S "$f" >/dev/null 2>&1 || fail "the package does not install $f"
done
[[ $(stat -c %a /etc/default/ftx) == 600 ]] || fail "/etc/default/ftx is not mode 600"
/usr/bin/ftx --version || fail "ftx --version"
work=$(mktemp -d)
: >"$work/serve.err"  # the server opens it only once it runs; the loop below reads it now
/usr/bin/ftx serve --host 127.0.0.1 --port 0 --dir "$work/inbox" </dev/null 2>"$work/serve.err" &
server=$!
port=
for _ in $(seq 100); do
  port=$(sed -n 's/.* on 127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$work/serve.err")
  [[ -n $port ]] && break
  sleep 0.1
done
head -c 1048576 /dev/urandom >"$work/payload"
if [[ -n $port ]] && XDG_CONFIG_HOME="$work/config" /usr/bin/ftx send "127.0.0.1:$port" "$work/payload" --no-progress; then
  cmp -s "$work/payload" "$work/inbox/payload" || fail "the file saved by the installed ftx differs"
else
  fail "loopback send to the installed ftx (port '${port}')"
fi
kill -TERM "$server"
wait "$server" || fail "the installed ftx serve did not exit 0 on SIGTERM"
rm -rf "$work"

echo "-- logrotate -d /etc/logrotate.d/ftx" >&2
# -d changes nothing and exits 0 even on a line it ignores, so any error line is a failure.
rotate_errors=$(logrotate -d /etc/logrotate.d/ftx 2>&1 | grep -i '^error' || true)
[[ -z $rotate_errors ]] || fail "logrotate rejects /etc/logrotate.d/ftx: $rotate_errors"

echo "-- systemd-analyze verify" >&2
# verify exits 0 on a line it ignores (a misspelt value), so any message is a failure. The
# man page is checked above; man itself may not be installed.
verify=$(SYSTEMD_LOG_LEVEL=notice systemd-analyze verify --man=no /lib/systemd/system/ftx.service 2>&1) &&
  [[ -z $verify ]] || fail "systemd-analyze verify ftx.service: $verify"
systemd-analyze security --offline=true /lib/systemd/system/ftx.service 2>/dev/null | tail -n 1 >&2 || true

if [[ $was_installed == 0 ]]; then
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get purge -y -q ftx >/dev/null 2>&1 || fail "apt-get purge ftx"
fi
echo "dist/check.sh: $((SECONDS - started)) s, $([[ $rc == 0 ]] && echo ok || echo FAILED)" >&2
exit "$rc"
