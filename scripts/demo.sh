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
	# every event in full, then a one-line digest of each
	python3 -c 'import json,sys
evs = [json.loads(l) for l in open(sys.argv[1])]
for e in evs:
    print(json.dumps(e, indent=2))
print("\n== what relayhound saw ==")
for e in evs:
    t = e["event_type"]
    if t == "smtp":
        s = e["smtp"]
        print("smtp   %s:%s -> %s:%s helo=%s from=%s rcpt=%s status=%s alerts=%s" % (
            e["src_ip"], e["src_port"], e["dest_ip"], e["dest_port"], s.get("helo"),
            s.get("mail_from"), ",".join(s.get("rcpt_to", [])), s.get("status"),
            [a["signature_id"] for a in e.get("alerts", [])]))
    elif t == "alert":
        a = e["alert"]
        print("ALERT  %d %s: %s" % (a["signature_id"], a["signature"], a.get("evidence", "")[:100]))
    elif t == "anomaly":
        print("anomaly %s" % e["anomaly"]["event"])' build/demo.ndjson
else
	cat build/demo.ndjson
fi
