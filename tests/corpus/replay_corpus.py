#!/usr/bin/env python3
"""Replay a mail corpus through relayhound and count its alerts.

Every .eml under CORPUS (default /work/shared/corpus/mail) becomes one SMTP
session (rhgen script, `C.<` directive) into a fixed replay server:

    S: 220 replay.invalid ESMTP
    C: EHLO replay-client.invalid / MAIL FROM:<replay@replay.invalid>
    C: RCPT TO:<rcpt@replay.invalid> / DATA / C.< message.eml
    S: 250 Ok: queued as REPLAYQ

All sessions go into one capture (one flow each, distinct client ports),
relayhound runs once, and the alerts are counted per signature per corpus
folder and per class (era by the message's Date year: modern >= 2010, old
before; kind: ham / spam / phish / test by folder and file name).

The wire detections (1201-1203), RCVD_FOR_NOT_RECIPIENT (1107) and the
envelope-based relay checks (1301-1305, 1402) compare
the headers with the replay envelope and TCP peer, which are not the ones
the message really travelled with: they are listed apart as replay
artefacts, not false positives.

The test fails only if relayhound crashes (non-zero exit), prints a line
that is not a JSON object, or the number of smtp events differs from the
number of messages.  Prints the tables and "N passed, N failed".

usage: replay_corpus.py [RELAYHOUND [RHGEN [CORPUS]]]   (defaults: build/...)
"""
import collections
import email.utils
import atexit
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

ARTEFACTS = {1107, 1201, 1202, 1203, 1301, 1302, 1303, 1305, 1402}
# a fixed capture time after every corpus message (1108 compares with it)
START = '2026-11-01T00:00:00Z'
BASE_PORT = 20000


def kind_of(folder, name):
    n = name.lower()
    if folder == 'phishing_pot':
        return 'phish'
    if folder.startswith('spamassassin'):
        if 'ham' in n or n.startswith('nice'):
            return 'ham'
        return 'spam'
    if folder == 'rspamd-test-messages':
        return 'test'
    return 'other'


def era_of(path):
    """modern / old by the Date header's year (unknown: no usable Date)."""
    with open(path, 'rb') as f:
        head = f.read(65536)
    m = re.search(rb'^Date:[ \t]*(.*(?:\r?\n[ \t].*)*)', head, re.M | re.I)
    if m is None:
        return 'undated'
    try:
        dt = email.utils.parsedate_tz(m.group(1).decode('latin-1').strip())
    except (TypeError, ValueError):
        dt = None
    if not dt or not dt[0]:
        return 'undated'
    year = dt[0]
    if year < 100:
        year += 1900 if year >= 70 else 2000
    return 'modern' if year >= 2010 else 'old'


SCRIPT = """@client 192.0.2.200:{port}
@server 198.51.100.25:25
S: 220 replay.invalid ESMTP
C: EHLO replay-client.invalid
S: 250 replay.invalid
C: MAIL FROM:<replay@replay.invalid>
S: 250 2.1.0 Ok
C: RCPT TO:<rcpt@replay.invalid>
S: 250 2.1.5 Ok
C: DATA
S: 354 End data with <CR><LF>.<CR><LF>
C.< {path}
S: 250 Ok: queued as REPLAYQ
C: QUIT
S: 221 2.0.0 Bye
"""


def table(title, rows, cols, counts, totals):
    print('\n%s' % title)
    ws = [max(len(c), 5) + 2 for c in cols]
    print('%-34s' % 'signature' + ''.join('%*s' % (w, c) for w, c in zip(ws, cols)))
    print('%-34s' % '(messages)' + ''.join('%*d' % (w, totals[c]) for w, c in zip(ws, cols)))
    for sig in rows:
        print('%-34s' % sig + ''.join('%*d' % (w, counts[c].get(sig, 0))
                                      for w, c in zip(ws, cols)))
    if not rows:
        print('(none)')


def main():
    root = os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))
    rh = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, 'build/relayhound')
    rhgen = sys.argv[2] if len(sys.argv) > 2 else os.path.join(root, 'build/rhgen')
    corpus = sys.argv[3] if len(sys.argv) > 3 else '/work/shared/corpus/mail'

    files = []
    for dp, _dn, fn in os.walk(corpus):
        for f in fn:
            if f.endswith('.eml'):
                files.append(os.path.join(dp, f))
    files.sort()
    if not files:
        print('no .eml files under', corpus)
        print('0 passed, 1 failed')
        return 1

    tmp = tempfile.mkdtemp(prefix='rhreplay-')

    atexit.register(shutil.rmtree, tmp, True)
    scripts, meta = [], {}
    for i, path in enumerate(files):
        folder = os.path.relpath(path, corpus).split(os.sep)[0]
        port = BASE_PORT + i
        meta[port] = (folder, kind_of(folder, os.path.basename(path)),
                      era_of(path), os.path.relpath(path, corpus))
        s = os.path.join(tmp, 'm%05d.smtp' % i)
        with open(s, 'w') as f:
            f.write(SCRIPT.format(port=port, path=os.path.abspath(path)))
        scripts.append(s)

    pcap = os.path.join(tmp, 'replay.pcap')
    r = subprocess.run([rhgen, '-o', pcap, '--start', START] + scripts,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    passed = failed = 0
    if r.returncode != 0:
        print('rhgen failed:', r.stderr.decode(errors='replace'))
        print('0 passed, 1 failed')
        return 1

    p = subprocess.run([rh, '-r', pcap, '-o', '-', '--workers', '2',
                        '--sensor', 'replay'],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=600)
    if p.returncode != 0:
        failed += 1
        print('FAIL: relayhound exit status %d: %s' % (
            p.returncode, p.stderr.decode(errors='replace').strip()[-500:]))
    else:
        passed += 1

    events, bad = [], 0
    for line in p.stdout.decode('utf-8', 'replace').splitlines():
        try:
            ev = json.loads(line)
            if not isinstance(ev, dict):
                raise ValueError
            events.append(ev)
        except ValueError:
            bad += 1
    if bad:
        failed += 1
        print('FAIL: %d output lines are not JSON objects' % bad)
    else:
        passed += 1

    smtp = [e for e in events if e.get('event_type') == 'smtp']
    if len(smtp) != len(files):
        failed += 1
        seen = {e.get('src_port') for e in smtp}
        missing = [meta[pt][3] for pt in sorted(meta) if pt not in seen]
        print('FAIL: %d smtp events for %d messages (missing: %s)' % (
            len(smtp), len(files), ', '.join(missing[:10])))
    else:
        passed += 1

    # messages with at least one alert of each signature, per folder/class
    per_folder = collections.defaultdict(collections.Counter)
    per_class = collections.defaultdict(collections.Counter)
    folders, classes = collections.Counter(), collections.Counter()
    sigs, hits = set(), collections.defaultdict(list)
    for pt, (folder, kind, era, _rel) in meta.items():
        folders[folder] += 1
        classes['%s-%s' % (era, kind)] += 1
    for e in smtp:
        pt = e.get('src_port')
        if pt not in meta:
            continue
        folder, kind, era, rel = meta[pt]
        ids = {(a.get('signature_id'), a.get('signature'))
               for a in e.get('alerts') or []}
        for sid, name in ids:
            key = '%d %s' % (sid, name)
            sigs.add((sid, key))
            per_folder[folder][key] += 1
            per_class['%s-%s' % (era, kind)][key] += 1
            hits[key].append(rel)
    ordered = [k for _sid, k in sorted(sigs)]
    real = [k for k in ordered if int(k.split()[0]) not in ARTEFACTS]
    arte = [k for k in ordered if int(k.split()[0]) in ARTEFACTS]
    fcols, ccols = sorted(folders), sorted(classes)
    print('messages: %d, smtp events: %d, alerts: %d' % (
        len(files), len(smtp),
        sum(1 for e in events if e.get('event_type') == 'alert')))
    table('Messages with the alert, per corpus folder:', real, fcols,
          per_folder, folders)
    table('Messages with the alert, per class (era by Date year; '
          'modern >= 2010):', real, ccols, per_class, classes)
    table('Replay artefacts (compare with the replay envelope/peer), '
          'per folder:', arte, fcols, per_folder, folders)
    if os.environ.get('VERBOSE'):
        for k in real:
            print('\n%s:' % k)
            for rel in hits[k]:
                print('   ', rel)
    print('%d passed, %d failed' % (passed, failed))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
