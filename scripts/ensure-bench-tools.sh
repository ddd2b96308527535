#!/usr/bin/env bash
# What `make bench` needs beyond `make test`: Debian's wrk, the load generator bench/peers.py
# drives (../shared/peers/loadgen.py falls back to Python threads without it, which measure the
# load generator more than the servers).
set -euo pipefail

sudo_if_needed() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

if ! command -v wrk >/dev/null; then
  echo "Installing Debian's wrk for bench/peers.py"
  sudo_if_needed apt-get update -qq
  DEBIAN_FRONTEND=noninteractive sudo_if_needed apt-get install -y -qq wrk >/dev/null
fi
command -v wrk
