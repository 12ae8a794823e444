#!/bin/sh
# Self-check of the capture generator (bench/rhgen.c, docs/rhgen.md).
#
# usage: tests/gen/check_rhgen.sh [path/to/rhgen]
#
# Without an argument rhgen is compiled from bench/rhgen.c into a temporary
# directory.  The captures are read back with tshark (stream reassembly,
# IPv4/IPv6 fragment reassembly, checksums) and tcpdump (pcapng, SLL2, VLAN
# parsing) when they are installed; without them only the structural checks
# run.  KEEP=1 keeps the temporary directory.  Prints "N passed, N failed" and exits non-zero on any failure.
set -eu

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/rhgen-check.XXXXXX")
if [ -z "${KEEP:-}" ]; then
	trap 'rm -rf "$T"' EXIT INT TERM
else
	echo "keeping $T"
fi

RHGEN=${1:-}
if [ -z "$RHGEN" ]; then
	${CC:-cc} -std=gnu11 -O2 -Wall -Wextra -Werror -D_GNU_SOURCE \
	    "$ROOT/bench/rhgen.c" -o "$T/rhgen"
	RHGEN=$T/rhgen
fi

# --- scripts -------------------------------------------------------------
cat > "$T/basic.smtp" <<'EOF'
# an ordinary session; lines are data segments 0, 1, 2, ...
@client 192.0.2.10:40001
@server 198.51.100.25:25
S: 220 mx.example.net ESMTP
C: EHLO client.example.org
S: 250-mx.example.net
S: 250-PIPELINING
S: 250 8BITMIME
C: MAIL FROM:<alice@example.org>
S: 250 2.1.0 Ok
C: RCPT TO:<bob@example.net>
S: 250 2.1.5 Ok
C: DATA
S: 354 go ahead
C: Subject: test \x41\x42 tab\there
C:
C: Hello.
C: ..dot-stuffed
C< body.txt
C* 5000
C: .
S: 250 2.0.0 Ok: queued as ABC
C: QUIT
S: 221 Bye
EOF
printf 'line one from a file\r\nline two\r\n' > "$T/body.txt"

cat > "$T/pipe.smtp" <<'EOF'
# pipelining: MAIL RCPT DATA in one write, then a push splits QUIT off
S: 220 mx ESMTP
C: EHLO pipe
S: 250 PIPELINING
C: MAIL FROM:<p@example.org>
C: RCPT TO:<q@example.net>
C: DATA
S: 250 Ok
S: 250 Ok
S: 354 go
C: Subject: x
C:
C: bare lf ending\n.\n\c
push
C: QUIT
S: 250 Ok\r\n221 Bye\c
EOF

cat > "$T/v6.smtp" <<'EOF'
@client [2001:db8::77]:41000
@server [2001:db8:1::25]:2525
S* 3000
C: HELO v6
S: 250 hi
EOF

cat > "$T/faults.smtp" <<'EOF'
@loss 3
@dup 5
@reorder 9
@overlap 1 HELO differ\r\n\c
@rst
S: 220 mx ESMTP
C: HELO faults
S: 250 hi
C: MAIL FROM:<lost@example.org>
S: 250 Ok
C: RCPT TO:<dup@example.net>
S: 250 Ok
C: DATA
S: 354 go
C: Subject: reordered
C:
push
C: x
C: .
S: 250 queued
C: QUIT
S: 221 Bye
EOF

cat > "$T/mid.smtp" <<'EOF'
@midstream 3
@nofin
S: 220 mx ESMTP
C: HELO mid
S: 250 hi
C: MAIL FROM:<m@example.org>
S: 250 Ok
C: QUIT
S: 221 Bye
EOF

cat > "$T/check.py" <<'EOF'
import os, re, shutil, struct, subprocess, sys

T, RHGEN = sys.argv[1], sys.argv[2]
TSHARK = shutil.which('tshark')
TCPDUMP = shutil.which('tcpdump')
passed = failed = 0


def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print('FAIL', what)


def gen(args, out='out.pcap', rc=0):
    path = os.path.join(T, out)
    p = subprocess.run([RHGEN, '-o', path] + args, cwd=T,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode != rc:
        print('rhgen', args, 'exited', p.returncode, p.stderr.decode())
        check(False, 'rhgen %s' % args)
        return None, p.stderr.decode()
    return path, p.stderr.decode()


# --- the script semantics, independently of rhgen -------------------------
def unescape(t):
    out, i, noeol = bytearray(), 0, False
    while i < len(t):
        c = t[i]
        if c != '\\':
            out += c.encode('latin-1')
            i += 1
            continue
        n = t[i + 1]
        if n == 'x':
            out.append(int(t[i + 2:i + 4], 16))
            i += 4
            continue
        if n == 'c':
            noeol = True
        else:
            out += {'r': b'\r', 'n': b'\n', 't': b'\t', '\\': b'\\'}[n]
        i += 2
    return bytes(out), noeol


def script_writes(path):
    """[(side, [bytes or int filler length, ...])] as rhgen must send."""
    writes, open_side = [], None
    for line in open(path, encoding='latin-1'):
        line = line.rstrip('\r\n').lstrip(' \t')
        if not line or line.startswith('#') or line.startswith('@'):
            continue
        if line == 'push':
            open_side = None
            continue
        side = 1 if line[0] == 'S' else 0
        op = line[1]
        if op == ':':
            txt = line[2:]
            if txt.startswith(' '):
                txt = txt[1:]
            data, noeol = unescape(txt)
            part = data + (b'' if noeol else b'\r\n')
        elif op == '<':
            part = open(os.path.join(os.path.dirname(path),
                                     line[2:].strip()), 'rb').read()
        else:
            part = int(line[2:].strip())
        if open_side != side:
            writes.append((side, []))
            open_side = side
        writes[-1][1].append(part)
    return writes


def expected_streams(path):
    """Per side: list of (bytes or filler length)."""
    st = {0: [], 1: []}
    for side, parts in script_writes(path):
        st[side] += parts
    return st


def segments(path, mss):
    """Data segments in order: (side, offset in side stream, length)."""
    segs, off = [], {0: 0, 1: 0}
    for side, parts in script_writes(path):
        total = sum(len(p) if isinstance(p, bytes) else p for p in parts)
        while total > 0:
            n = min(mss, total)
            segs.append((side, off[side], n))
            off[side] += n
            total -= n
    return segs


MISSING = re.compile(rb'\[(\d+) bytes missing in capture file\]\x00')


def follow_many(pcap, idxs):
    """tshark's reassembled streams: per idx {node: (addr, bytes, holes)}."""
    cmd = [TSHARK, '-r', pcap, '-q']
    for i in idxs:
        cmd += ['-z', 'follow,tcp,raw,%d' % i]
    out = subprocess.run(cmd, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL).stdout.decode()
    blocks = out.split('Follow: tcp,raw')[1:]
    return [parse_follow(b) for b in blocks]


def parse_follow(text):
    nodes, data = {}, {0: b'', 1: b''}
    for line in text.splitlines():
        if line.startswith('Node '):
            nodes[int(line[5])] = line.split(': ', 1)[1]
        elif line and not line.startswith('=') and ':' not in line:
            data[1 if line.startswith('\t') else 0] += bytes.fromhex(
                line.strip())
    res = {}
    for n in (0, 1):
        buf, holes, pos = bytearray(), [], 0
        for m in MISSING.finditer(data[n]):
            buf += data[n][pos:m.start()]
            holes.append((len(buf), int(m.group(1))))
            buf += b'\0' * int(m.group(1))
            pos = m.end()
        buf += data[n][pos:]
        res[n] = (nodes.get(n, ''), bytes(buf), holes)
    return res


def follow(pcap, idx):
    return follow_many(pcap, [idx])[0]


def filler_ok(b):
    lines = b.split(b'\r\n')
    return (b.endswith(b'\r\n') and b'\r' not in b.replace(b'\r\n', b'')
            and b'\n' not in b.replace(b'\r\n', b'')
            and all(len(l) <= 78 and not l.startswith(b'.') for l in lines))


def stream_matches(actual, parts, holes=()):
    """actual bytes against the expected parts; holes may be zero-filled."""
    exp_len = sum(len(p) if isinstance(p, bytes) else p for p in parts)
    if len(actual) != exp_len:
        return 'length %d, expected %d' % (len(actual), exp_len)
    mask = bytearray(len(actual))
    for off, n in holes:
        mask[off:off + n] = b'\1' * n
    pos = 0
    for p in parts:
        n = len(p) if isinstance(p, bytes) else p
        got = actual[pos:pos + n]
        if isinstance(p, bytes):
            for i in range(n):
                if not mask[pos + i] and got[i] != p[i]:
                    return 'byte %d differs' % (pos + i)
        elif not any(mask[pos:pos + n]) and not filler_ok(got):
            return 'filler at %d malformed' % pos
        pos += n
    return None


def tshark_problems(pcap):
    out = subprocess.run([TSHARK, '-r', pcap, '-o', 'tcp.check_checksum:TRUE',
                          '-o', 'ip.check_checksum:TRUE', '-o',
                          'udp.check_checksum:TRUE', '-T', 'fields', '-e',
                          '_ws.expert.message', '-e', '_ws.malformed'],
                         stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL).stdout.decode()
    bad = [l for l in out.splitlines()
           if 'checksum' in l.lower() or 'malformed' in l.lower()]
    return bad


def tshark_fields(pcap, *fields, filt=None):
    cmd = [TSHARK, '-r', pcap, '-T', 'fields']
    if filt:
        cmd += ['-Y', filt]
    for f in fields:
        cmd += ['-e', f]
    out = subprocess.run(cmd, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL).stdout.decode()
    return [l.split('\t') for l in out.splitlines()]


def tcpdump_ok(pcap, want_packets):
    p = subprocess.run([TCPDUMP, '-nn', '-e', '-r', pcap],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    lines = p.stdout.decode(errors='replace').splitlines()
    return (p.returncode == 0 and len(lines) == want_packets
            and not any('truncated' in l for l in lines))


def pcap_records(path):
    """(linktype, [(ts_us, caplen, wirelen)]) from a pcap or pcapng."""
    b = open(path, 'rb').read()
    recs = []
    if b[:4] == b'\x0a\x0d\x0d\x0a':
        pos, lt, res = 0, None, 1
        while pos + 12 <= len(b):
            btype, blen = struct.unpack_from('<II', b, pos)
            if btype == 1:
                lt = struct.unpack_from('<H', b, pos + 8)[0]
                if blen > 20 and struct.unpack_from('<HH', b, pos + 16) == (9, 1):
                    res = 1000
            elif btype == 6:
                hi, lo, cl, wl = struct.unpack_from('<IIII', b, pos + 12)
                recs.append((((hi << 32) | lo) // res, cl, wl))
            pos += blen
        return lt, recs
    magic, = struct.unpack_from('<I', b, 0)
    div = 1000 if magic == 0xa1b23c4d else 1
    lt, = struct.unpack_from('<I', b, 20)
    pos = 24
    while pos + 16 <= len(b):
        s, us, cl, wl = struct.unpack_from('<IIII', b, pos)
        recs.append((s * 1000000 + us // div, cl, wl))
        pos += 16 + cl
    return lt, recs


# --- 1. stream content through every encapsulation -------------------------
SCRIPTS = ['basic.smtp', 'pipe.smtp', 'v6.smtp']
VARIANTS = [
    [], ['--linktype', 'sll'], ['--linktype', 'sll2'], ['--linktype', 'raw'],
    ['--linktype', 'null'], ['--vlan', '100'], ['--vlan', '200', '--vlan', '100'],
    ['--mpls', '16'], ['--vlan', '7', '--mpls', '16', '--mpls', '17'],
    ['--linktype', 'sll2', '--vlan', '9'], ['--ipv6'], ['--frag', '200'],
    ['--frag', '96', '--frag-reverse'], ['--ipv6', '--frag', '200'],
    ['--ipv6', '--frag', '504', '--frag-reverse'], ['--pcapng'],
    ['--pcapng', '--nsec', '--linktype', 'sll'], ['--nsec'], ['--eth-pad'],
    ['--isn-wrap', '--mss', '7'], ['--mss', '1'], ['--tiny-segments'],
    ['--interleave'], ['--no-acks'], ['--dup', '4', '--reorder', '6'],
    ['--overlap', '0:XXXX', '--mss', '10'], ['--seed', '99', '--interleave'],
]
DLT = {'en10mb': 1, 'sll': 113, 'sll2': 276, 'raw': 101, 'null': 0}
for v in VARIANTS:
    pcap, err = gen(v + SCRIPTS)
    if pcap is None:
        continue
    name = ' '.join(v) or 'default'
    lt, recs = pcap_records(pcap)
    want_lt = DLT[v[v.index('--linktype') + 1]] if '--linktype' in v else 1
    check(lt == want_lt, '%s: linktype %s' % (name, lt))
    check(all(r[1] == r[2] for r in recs), '%s: caplen == wirelen' % name)
    check(all(recs[i + 1][0] - recs[i][0] == 1000
              for i in range(len(recs) - 1)) and
          recs[0][0] == 1704164645000000, '%s: timestamps' % name)
    check(('%d packets' % len(recs)) in err, '%s: summary line' % name)
    if '--frag' in v:
        lim = int(v[v.index('--frag') + 1])
        check(max(r[2] for r in recs) <= 14 + 48 + lim,
              '%s: fragment sizes' % name)
    if TCPDUMP:
        check(tcpdump_ok(pcap, len(recs)), '%s: tcpdump parses' % name)
    if not TSHARK:
        continue
    check(tshark_problems(pcap) == [], '%s: checksums / malformed' % name)
    # tshark numbers streams by first packet; find each script's stream
    for st in follow_many(pcap, range(len(SCRIPTS))):
        cli = st[0][0]
        script = {'192.0.2.10:40001': 'basic.smtp',
                  '[2001:db8::c000:20a]:40001': 'basic.smtp',
                  '[2001:db8::77]:41000': 'v6.smtp'}.get(cli, 'pipe.smtp')
        exp = expected_streams(os.path.join(T, script))
        for side in (0, 1):
            why = stream_matches(st[side][1], exp[side], st[side][2])
            check(why is None and not st[side][2],
                  '%s: %s side %d: %s' % (name, script, side, why))

# --- 2. faults: loss, dup, reorder, overlap, rst, midstream, nofin --------
if TSHARK:
    pcap, _ = gen(['faults.smtp'])
    segs = segments(os.path.join(T, 'faults.smtp'), 1460)
    st = follow(pcap, 0)
    exp = expected_streams(os.path.join(T, 'faults.smtp'))
    lost = segs[3]
    check(st[0][2] == [(lost[1], lost[2])], 'loss: one hole = segment 3')
    check(stream_matches(st[0][1], exp[0], st[0][2]) is None, 'loss: rest')
    check(stream_matches(st[1][1], exp[1]) is None, 'loss: server side')
    rows = tshark_fields(pcap, 'tcp.flags.str', 'tcp.len', 'tcp.payload')
    pay = [bytes.fromhex(r[2]) for r in rows if r[1] != '0']
    check(pay.count(b'RCPT TO:<dup@example.net>\r\n') == 2, 'dup: twice')
    check(pay[2] == b'HELO differ\r\n' and pay[1] == b'HELO faults\r\n',
          'overlap: different bytes right after segment 1')
    i9 = pay.index(b'Subject: reordered\r\n\r\n')
    check(pay[i9 - 1] == b'x\r\n.\r\n', 'reorder: segment 9 after 10')
    check('R' in rows[-1][0] and not any('F' in r[0] for r in rows),
          'rst: ends with RST, no FIN')
    check('S' in rows[0][0], 'handshake present')

    pcap, _ = gen(['mid.smtp'])
    rows = tshark_fields(pcap, 'tcp.flags.str', 'tcp.len', 'tcp.payload')
    pay = [bytes.fromhex(r[2]) for r in rows if r[1] != '0']
    check(not any('S' in r[0].replace('·', '') for r in rows),
          'midstream: no SYN')
    check(pay[0] == b'MAIL FROM:<m@example.org>\r\n', 'midstream: first data')
    check(not any('F' in r[0] for r in rows), 'nofin: no FIN')

    pcap, _ = gen(['--loss', '1', '--midstream', '1', 'pipe.smtp'])
    rows = tshark_fields(pcap, 'tcp.len', 'tcp.payload')
    pay = [bytes.fromhex(r[1]) for r in rows if r[0] != '0']
    check(pay[0] == b'250 PIPELINING\r\n', 'global --midstream')
    check(tshark_fields(pcap, 'frame.number', filt='tcp.flags.syn == 1')
          == [], 'global --midstream: no handshake')

# --- 3. snaplen, truncate, start time, determinism --------------------------
pcap, _ = gen(['--snaplen', '60', 'basic.smtp'])
lt, recs = pcap_records(pcap)
check(all(r[1] == min(60, r[2]) for r in recs) and
      any(r[2] > 60 for r in recs), 'snaplen caps caplen')
if TSHARK:
    check(len(tshark_fields(pcap, 'frame.number')) == len(recs),
          'snaplen capture readable')

pcap, _ = gen(['--truncate-file', '1000', 'basic.smtp'])
check(os.path.getsize(pcap) == 1000, 'truncate-file size')
if TCPDUMP:
    p = subprocess.run([TCPDUMP, '-r', pcap], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE)
    check(b'truncated' in p.stderr, 'tcpdump sees a truncated file')

pcap, _ = gen(['--start', '2030-05-06T07:08:09.5Z', '--step-us', '7',
               'basic.smtp'])
lt, recs = pcap_records(pcap)
check(recs[0][0] == 1904281689500000 and recs[1][0] - recs[0][0] == 7,
      '--start ISO and --step-us')

a, _ = gen(['--interleave', 'basic.smtp', 'pipe.smtp'], 'a.pcap')
b, _ = gen(['--interleave', 'basic.smtp', 'pipe.smtp'], 'b.pcap')
c, _ = gen(['--interleave', '--seed', '5', 'basic.smtp', 'pipe.smtp'],
           'c.pcap')
check(open(a, 'rb').read() == open(b, 'rb').read(), 'script determinism')
check(open(a, 'rb').read() != open(c, 'rb').read(), 'seed changes output')

gen(['nonexistent.smtp'], rc=2)
open(os.path.join(T, 'bad.smtp'), 'w').write('X: what\n')
gen(['bad.smtp'], rc=2)

# --- 4. load mode -----------------------------------------------------------
LOAD = ['--load', '--sessions', '300', '--concurrency', '16',
        '--msg-size', '6000', '--msgs-per-session', '2', '--rcpts', '3',
        '--ipv6-ratio', '0.3', '--other-ratio', '0.2',
        '--other-udp-ratio', '0.05']
a, err = gen(LOAD, 'la.pcap')
b, _ = gen(LOAD, 'lb.pcap')
check(open(a, 'rb').read() == open(b, 'rb').read(), 'load determinism')
m = re.search(r'(\d+) packets, (\d+) bytes, (\d+) sessions, (\d+) messages '
              r'\(smtp ([\d.]+)%', err)
check(m is not None and m.group(3) == '300' and m.group(4) == '600',
      'load summary: %s' % err.strip())
if m:
    check(65 < float(m.group(5)) < 85, 'load: smtp share %s%%' % m.group(5))
if TSHARK:
    check(tshark_problems(a) == [], 'load: checksums / malformed')
    rows = tshark_fields(a, 'tcp.dstport', filt='tcp.flags == 0x002')
    check(sum(1 for r in rows if r[0] == '25') == 300, 'load: 300 SMTP SYNs')
    conv = tshark_fields(a, 'tcp.stream', 'ip.src', 'ipv6.src', 'tcp.srcport',
                         filt='tcp.flags == 0x002 && tcp.dstport == 25')
    tuples = set((r[1] or r[2], r[3]) for r in conv)
    check(len(tuples) == 300, 'load: distinct client tuples')
    st = follow(a, 0)
    cli = st[0][1]
    check(cli.count(b'\r\n.\r\n') == 2 and cli.endswith(b'QUIT\r\n')
          and cli.count(b'\r\nReceived: ') == 6 and b'Message-ID: <' in cli,
          'load: session 0 client stream')
    check(st[1][1].startswith(b'220 ') and b'250-PIPELINING' in st[1][1]
          and st[1][1].endswith(b'221 2.0.0 Bye\r\n'), 'load: server stream')
    if TCPDUMP:
        check(tcpdump_ok(a, int(m.group(1)) if m else -1), 'load: tcpdump')

a, err = gen(['--load', '--sessions', '50', '--tiny-segments',
              '--reorder-rate', '0.05', '--loss-rate', '0.01',
              '--msg-size', '3000', '--vlan', '3', '--pcapng'], 'lt.pcap')
check(a is not None, 'load with faults')
if TSHARK and a:
    check(tshark_problems(a) == [], 'load faults: checksums / malformed')

a, err = gen(['--load', '--sessions', '100000', '--msgs-per-session', '0',
              '--concurrency', '1000'], 'tiny.pcap')
check('1200000 packets' in err and '100000 sessions' in err,
      'load: 100000 tiny sessions: %s' % err.strip())

print('%d passed, %d failed' % (passed, failed))
if not TSHARK or not TCPDUMP:
    print('note: tshark/tcpdump missing, reassembly checks skipped')
sys.exit(1 if failed else 0)
EOF

python3 "$T/check.py" "$T" "$RHGEN"
