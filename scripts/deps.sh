#!/usr/bin/env bash
# Install what relayhound needs to build and test on Debian 12, only if
# something is missing (so a warm machine pays nothing).  Run as root.
set -euo pipefail
pkgs=(build-essential pkg-config meson ninja-build libpcap-dev libhyperscan-dev
      libjansson-dev dpdk-dev libdpdk-dev libpsl-dev publicsuffix libyaml-dev
      python3 tcpdump)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "deps: installing ${missing[*]}" >&2
	if [ "$(id -u)" -ne 0 ]; then
		echo "deps: missing packages and not root: ${missing[*]}" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
