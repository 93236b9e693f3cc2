#!/usr/bin/env bash
# Runs a command in a fresh network namespace with loopback and a veth pair (10.203.0.1 and
# 10.203.0.2) and nothing else. WebRTC stacks (libnice, Chromium) never offer loopback
# candidates, so browser media tests need a real interface; inside the namespace no traffic can
# leave the machine. Needs root (CI runs as root) or unprivileged user namespaces.
set -euo pipefail
if [[ "${ANCHORDESK_IN_NETNS:-}" != 1 ]]; then
  flags=(--net)
  [[ $(id -u) == 0 ]] || flags+=(--map-root-user)
  exec env ANCHORDESK_IN_NETNS=1 unshare "${flags[@]}" -- "$0" "$@"
fi
ip link set lo up
ip link add adv0 type veth peer name adv1
ip addr add 10.203.0.1/24 dev adv0
ip addr add 10.203.0.2/24 dev adv1
ip link set adv0 up
ip link set adv1 up
exec "$@"
