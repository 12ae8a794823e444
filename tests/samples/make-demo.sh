#!/usr/bin/env bash
# Regenerate tests/samples/demo.pcap, the capture scripts/demo.sh analyzes,
# from the case scripts with the project's generator (deterministic).
set -euo pipefail
cd "$(dirname "$0")/../.."
scripts/build.sh
s=tests/cases/_scripts
build/rhgen -o tests/samples/demo.pcap --interleave --seed 7 \
	$s/basic.smtp $s/pipelining.smtp $s/multi.smtp $s/bdat.smtp \
	$s/auth.smtp $s/starttls.smtp $s/barelf.smtp $s/oddport.smtp $s/http.smtp
