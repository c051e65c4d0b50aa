#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The unit under a real systemd, by hand (not part of CI: it needs a Debian root with
# systemd and systemd-nspawn): installs the package into ROOT, sets a token, boots ROOT
# with systemd-nspawn (no network but loopback), and inside it sends a file to the
# service, checks a wrong token is refused, rotates the log with logrotate (when ROOT
# has it), stops the service and prints what happened.
#   dist/boot-check.sh ROOT ftx_*.deb
# e.g. ROOT a copy of ../shared/tools/fresh-debian's root with systemd installed in it.
set -euo pipefail
root=$(realpath "$1")
deb=$(realpath "$2")
[[ -x $root/lib/systemd/systemd ]] || { echo "boot-check: $root has no systemd" >&2; exit 2; }
command -v systemd-nspawn >/dev/null || { echo "boot-check: apt-get install systemd-container" >&2; exit 2; }

cp "$deb" "$root/tmp/ftx.deb"
chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends /tmp/ftx.deb \
  >/dev/null
grep -q '^FTX_TOKEN=' "$root/etc/default/ftx" || echo 'FTX_TOKEN=boot-check-token' >>"$root/etc/default/ftx"

cat >"$root/root/ftx-probe.sh" <<'EOF'
#!/bin/bash
exec >/root/ftx-probe.out 2>&1
for _ in $(seq 50); do systemctl is-active -q ftx && break; sleep 0.2; done
sleep 1
token=$(sed -n 's/^FTX_TOKEN=//p' /etc/default/ftx)
head -c 100000 /dev/urandom >/root/payload
FTX_TOKEN=$token ftx send 127.0.0.1:9000 /root/payload --no-progress; echo "PROBE send: exit $?"
cmp -s /root/payload /var/lib/ftx/payload && echo "PROBE received: identical"
FTX_TOKEN=wrong ftx send 127.0.0.1:9000 /root/payload --as other --no-progress; echo "PROBE wrong token: exit $?"
if command -v logrotate >/dev/null; then
  logrotate -f /etc/logrotate.d/ftx; echo "PROBE logrotate: exit $?"
  sleep 1
  FTX_TOKEN=$token ftx send 127.0.0.1:9000 /root/payload --as after-rotation --no-progress
  echo "PROBE send after rotation: exit $?; service $(systemctl is-active ftx)"
  wc -l /var/lib/ftx/.ftx/transfers.jsonl*
fi
ps -o user,pid,args -C ftx
systemctl stop ftx
systemctl show ftx -p DynamicUser -p ExecMainStatus -p Result -p NRestarts
journalctl -u ftx --no-pager -o cat
ls -la /var/lib/ftx/ /var/lib/ftx/.ftx/
EOF
chmod +x "$root/root/ftx-probe.sh"
cat >"$root/etc/systemd/system/ftx-probe.service" <<'EOF'
[Unit]
Description=ftx boot check
After=ftx.service
[Service]
Type=oneshot
ExecStart=/root/ftx-probe.sh
ExecStopPost=/bin/systemctl poweroff --no-block
EOF
chroot "$root" systemctl enable ftx.service >/dev/null 2>&1
ln -sf /etc/systemd/system/ftx-probe.service "$root/etc/systemd/system/multi-user.target.wants/ftx-probe.service"
rm -f "$root/root/ftx-probe.out"

# No host systemd to register with: keep our own scope, register nothing.
timeout 180 systemd-nspawn -q --keep-unit --register=no --private-network -D "$root" -b --console=pipe \
  >/dev/null 2>&1 || true
rm -f "$root/etc/systemd/system/multi-user.target.wants/ftx-probe.service" "$root/etc/systemd/system/ftx-probe.service"
cat "$root/root/ftx-probe.out"
out=$root/root/ftx-probe.out
grep -q '^PROBE received: identical' "$out" && grep -q '^PROBE wrong token: exit 1' "$out" &&
  grep -q '^ExecMainStatus=0' "$out" && grep -q '^Result=success' "$out" &&
  { ! grep -q '^PROBE logrotate' "$out" || grep -q '^PROBE send after rotation: exit 0; service active' "$out"; }
