#!/usr/bin/env python3
"""Compare relayhound with Zeek's smtp.log baselines on the public traces in
../shared/corpus/pcap/zeek (captures nobody here wrote).

For every trace with an smtp.log baseline, relayhound runs on the capture
and each Zeek row is matched with the relayhound transaction of the same
connection (4-tuple) at the same position.  Compared per row: helo,
mailfrom, rcptto (as a set), from, to (as a set of addresses), subject,
msg_id; and per trace the number of transactions.  Agreement is printed as
a figure.  Every disagreement must be listed, with its explanation, in
known-differences.txt beside this script ("trace|row|field|reason"); an
unlisted difference fails the test, and so does a listed one that no
longer happens (so the list stays true).
"""
import gzip
import json
import os
import re
import subprocess
import sys
import tempfile

FIELDS = ['helo', 'mailfrom', 'rcptto', 'from', 'to', 'subject', 'msg_id']


def zeek_rows(path):
    fields, rows = None, []
    for line in open(path, encoding='utf-8', errors='replace'):
        line = line.rstrip('\n')
        if line.startswith('#fields'):
            fields = line.split('\t')[1:]
        elif line and not line.startswith('#'):
            vals = line.split('\t')
            rows.append(dict(zip(fields, vals)))
    return rows


def addr_of(entry):
    m = re.search(r'<([^>]*)>', entry)
    return (m.group(1) if m else entry).strip().strip('"').lower()


def zeek_value(row, f):
    v = row.get(f, '-')
    if v in ('-', '(empty)'):
        return None
    if f == 'rcptto':
        return sorted(x.lower() for x in v.split(','))
    if f == 'to':
        return sorted(addr_of(x) for x in v.split(','))
    return v


def rh_value(ev, f):
    s, e = ev.get('smtp', {}), ev.get('email', {}) or {}
    v = {
        'helo': s.get('helo'),
        'mailfrom': s.get('mail_from'),
        'rcptto': sorted(x.lower() for x in s.get('rcpt_to', [])) or None,
        'from': e.get('from'),
        'to': sorted(x.lower() for x in e.get('to', [])) or None,
        'subject': e.get('subject'),
        'msg_id': e.get('message_id'),
    }[f]
    if v == '':
        return None
    return v


def run(rh, pcap):
    data = None
    if pcap.endswith('.gz'):
        data = gzip.open(pcap).read()
        src = '-'
    else:
        src = pcap
    p = subprocess.run([rh, '-r', src, '-o', '-', '--workers', '1'],
                       input=data, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=60)
    evs = [json.loads(l) for l in p.stdout.decode().splitlines()]
    return [e for e in evs if e.get('event_type') == 'smtp']


def main():
    rh, corpus, known_path = sys.argv[1], sys.argv[2], sys.argv[3]
    known = {}
    for line in open(known_path, encoding='utf-8'):
        line = line.rstrip('\n')
        if line and not line.startswith('#'):
            parts = line.split('|', 3)
            known[tuple(parts[:3])] = parts[3] if len(parts) > 3 else ''
    agree = total = 0
    seen_known, unexplained = set(), []
    for d in sorted(os.listdir(corpus)):
        dd = os.path.join(corpus, d)
        logs = sorted(f for f in os.listdir(dd) if f.endswith('smtp.log')
                      and 'disable-analyzer' not in f)
        pcaps = [f for f in os.listdir(dd) if re.search(r'\.pcap(ng)?(\.gz)?$', f)]
        if not logs or not pcaps:
            continue
        rows = zeek_rows(os.path.join(dd, logs[0]))
        evs = run(rh, os.path.join(dd, pcaps[0]))
        by_conn = {}
        for e in evs:
            k = (e['src_ip'], e['src_port'], e['dest_ip'], e['dest_port'])
            by_conn.setdefault(k, []).append(e)
        pos = {}
        checks = []
        for i, r in enumerate(rows):
            k = (r['id.orig_h'], int(r['id.orig_p']), r['id.resp_h'],
                 int(r['id.resp_p']))
            j = pos.get(k, 0)
            pos[k] = j + 1
            ev = by_conn.get(k, [])[j] if j < len(by_conn.get(k, [])) else None
            for f in FIELDS:
                zv = zeek_value(r, f)
                rv = rh_value(ev, f) if ev is not None else '<no transaction>'
                checks.append((str(i), f, zv, rv))
        checks.append(('-', 'count', len(rows), len(evs)))
        for row, f, zv, rv in checks:
            total += 1
            key = (d, row, f)
            if zv == rv:
                agree += 1
                if key in known:
                    unexplained.append('%s row %s %s: listed as different '
                                       'but now agrees' % (d, row, f))
            elif key in known:
                seen_known.add(key)
                print('known  %s row %s %s: zeek=%r relayhound=%r (%s)' %
                      (d, row, f, zv, rv, known[key]))
            else:
                unexplained.append('%s row %s %s: zeek=%r relayhound=%r' %
                                   (d, row, f, zv, rv))
    for u in unexplained:
        print('FAIL', u)
    print('agreement with Zeek: %d of %d values (%.1f%%)' %
          (agree, total, 100.0 * agree / max(total, 1)))
    print('%d passed, %d failed' % (total - len(unexplained), len(unexplained)))
    return 1 if unexplained else 0


if __name__ == '__main__':
    sys.exit(main())
