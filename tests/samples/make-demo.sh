#!/usr/bin/env bash
# Regenerate tests/samples/demo.pcap, the capture scripts/demo.sh analyzes,
# from the case scripts with the project's generator (deterministic).
set -euo pipefail
cd "$(dirname "$0")/../.."
scripts/build.sh
s=tests/cases/_scripts
# One flow after another, so the relayed copy leaves after it arrived.
build/rhgen -o tests/samples/demo.pcap --seed 7 \
	$s/basic.smtp $s/pipelining.smtp $s/multi.smtp $s/bdat.smtp \
	$s/auth.smtp $s/starttls.smtp $s/barelf.smtp $s/oddport.smtp $s/http.smtp \
	$s/det/seed002-stealth.smtp $s/relay/proxy-http-connect.smtp \
	$s/relay/relay-open-end-to-end-in.smtp \
	$s/relay/relay-open-end-to-end-out.smtp
