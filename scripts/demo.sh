#!/usr/bin/env bash
# Install what is missing, build, analyze the bundled sample capture and show
# the events: the quickest way to see what relayhound writes.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh
echo "== build/relayhound -r tests/samples/demo.pcap -o -" >&2
build/relayhound -r tests/samples/demo.pcap -o - --workers 2 > build/demo.ndjson
if command -v python3 >/dev/null; then
	python3 -c 'import json,sys
for l in open(sys.argv[1]):
    print(json.dumps(json.loads(l), indent=2))' build/demo.ndjson
else
	cat build/demo.ndjson
fi
