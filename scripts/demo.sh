#!/usr/bin/env bash
# Headless demo: the relay on a throw-away data dir seeded with the demo shop, and the
# headless engine publishing a test scene to the demo live's stream.
# Prints the URLs to open; Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."

data_dir="$(mktemp -d -t anchordesk-demo-XXXXXX)"
listen="${ANCHORDESK_LISTEN:-127.0.0.1:8686}"
relay_out="$(mktemp)"
seed_out="$(target/debug/anchordesk-relay demo seed --data-dir "$data_dir")"
# The demo live's stream, so OBS, ffmpeg or a WHIP client can go live on it at once.
stream_out="$(target/debug/anchordesk-relay stream create demo --data-dir "$data_dir" --listen "$listen")"
# A throw-away shop: its test payment gateway is on, so the viewer page's pay step can be tried.
ANCHORDESK_PAYMENT_SECRET="demo-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')" \
  target/debug/anchordesk-relay serve --listen "$listen" --data-dir "$data_dir" --payment-sandbox >"$relay_out" &
relay_pid=$!
trap 'kill "$relay_pid" 2>/dev/null; wait "$relay_pid" 2>/dev/null; rm -rf "$data_dir" "$relay_out"' EXIT

for _ in $(seq 50); do
  grep -q "listening on" "$relay_out" && break
  kill -0 "$relay_pid" 2>/dev/null || { echo "demo: the relay failed to start" >&2; exit 1; }
  sleep 0.1
done
url="$(sed -n 's/^anchordesk-relay listening on //p' "$relay_out")"

echo "relay:        $url   (data: $data_dir)"
echo "$seed_out"
echo "viewer page:  $url/live/1"
echo "$stream_out"
sed -n 's/^anchordesk-relay RTMP ingest on /RTMP ingest:  /p' "$relay_out"
echo "live + cart:  $url/api/lives/1"
echo "health:       $url/healthz"
echo "version:      $url/api/version"
# The headless engine goes live on the demo stream over RTMP (WebRTC needs a real interface
# on both ends; loopback has none for libnice), so the viewer page plays at once.
key="$(sed -n 's/^key: *\([^ ]*\).*/\1/p' <<<"$stream_out" | head -n1)"
rtmp="$(sed -n 's/^anchordesk-relay RTMP ingest on \(rtmp:\/\/[^/]*\/live\).*/\1/p' "$relay_out")"
if [[ -n "$key" && -n "$rtmp" ]]; then
  echo "engine:       publishing a test scene to $rtmp/demo (stats in $data_dir/engine.log)"
  target/debug/anchordesk live --audio tone --rtmp "$rtmp/demo?key=$key" >"$data_dir/engine.log" 2>&1 &
  engine_pid=$!
  trap 'kill "$engine_pid" "$relay_pid" 2>/dev/null; wait "$engine_pid" "$relay_pid" 2>/dev/null; rm -rf "$data_dir" "$relay_out"' EXIT
fi
echo "relay keeps serving; press Ctrl-C to stop"
wait "$relay_pid"
