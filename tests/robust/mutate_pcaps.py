#!/usr/bin/env python3
"""Hostile captures through the whole program.

Captures made by rhgen from the case scripts are damaged in seeded ways
(random byte flips, flips confined to headers, lengths set to lies,
records cut short, garbage appended, a link type nobody supports) and fed
to relayhound.  Each run must end by itself with status 0 or 1 (never a
signal: under the sanitizer build a memory error aborts), every output line
must be a JSON object, and the final stats event must be there.  Prints
"N passed, N failed".
"""
import atexit
import json
import os
import random
import struct
import shutil
import subprocess
import sys
import tempfile

ITER = int(os.environ.get('RH_MUTATE_ITER', '150'))


def run(rh, path, workers, rules=True):
    extra = [] if rules else ['--no-default-rules']
    p = subprocess.run([rh, '-r', path, '-o', '-', '--workers', str(workers)]
                       + extra,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=60)
    lines = p.stdout.decode('utf-8').splitlines()  # must be UTF-8
    evs = [json.loads(l) for l in lines]
    return p.returncode, evs, p.stderr.decode('utf-8', 'replace')


def records(data):
    """Offsets of (record header, caplen) in a classic pcap."""
    out, off = [], 24
    while off + 16 <= len(data):
        caplen = struct.unpack_from('<I', data, off + 8)[0]
        out.append((off, caplen))
        off += 16 + caplen
    return out


def mutate(rng, data):
    b = bytearray(data)
    recs = records(data)
    kind = rng.randrange(6)
    if kind == 0:  # random flips anywhere past the file header
        for _ in range(rng.randrange(1, 40)):
            i = rng.randrange(24, len(b))
            b[i] = rng.randrange(256)
    elif kind == 1:  # flips inside link/IP/TCP headers
        for _ in range(rng.randrange(1, 20)):
            off, caplen = rng.choice(recs)
            i = off + 16 + rng.randrange(min(caplen, 60))
            b[i] = rng.randrange(256)
    elif kind == 2:  # IP total length / TCP offset lies
        for _ in range(rng.randrange(1, 10)):
            off, caplen = rng.choice(recs)
            if caplen > 20:
                p = off + 16 + 14
                struct.pack_into('>H', b, p + 2, rng.randrange(65536))
                if caplen > 48:
                    b[p + 32] = rng.randrange(256)
    elif kind == 3:  # cut the file anywhere
        b = b[:rng.randrange(24, len(b))]
    elif kind == 4:  # a record header whose caplen lies
        off, caplen = rng.choice(recs)
        struct.pack_into('<I', b, off + 8, rng.choice([0, 1, 65535, 262144, 0x7fffffff]))
    else:  # payload bytes replaced with random junk
        for _ in range(rng.randrange(1, 8)):
            off, caplen = rng.choice(recs)
            if caplen > 60:
                s = off + 16 + 54
                e = off + 16 + caplen
                for i in range(s, e):
                    b[i] = rng.randrange(256)
    return bytes(b)


def main():
    rh, rhgen, scripts = sys.argv[1], sys.argv[2], sys.argv[3]
    tmp = tempfile.mkdtemp(prefix='rhmut-')
    atexit.register(shutil.rmtree, tmp, True)
    bases = []
    for name, extra in [('basic.smtp', []), ('pipelining.smtp', ['--mss', '40']),
                        ('bdat.smtp', ['--vlan', '7']), ('multi.smtp', ['--frag', '64']),
                        ('auth.smtp', ['--ipv6']), ('hostile.smtp', [])]:
        out = os.path.join(tmp, name + '.pcap')
        subprocess.run([rhgen, '-o', out] + extra + [os.path.join(scripts, name)],
                       check=True, stderr=subprocess.DEVNULL)
        bases.append(open(out, 'rb').read())
    passed = failed = 0
    rng = random.Random(20261123)
    path = os.path.join(tmp, 'm.pcap')
    for it in range(ITER):
        data = mutate(rng, rng.choice(bases))
        open(path, 'wb').write(data)
        try:
            # Compiling the rules costs more than a small capture, so most
            # runs go without them; every fifth runs the detection path too.
            rc, evs, err = run(rh, path, 1 + it % 2, it % 5 == 0)
            ok = rc in (0, 1) and evs and evs[-1].get('event_type') == 'stats'
            why = 'rc=%d stderr=%s' % (rc, err.strip()[-300:])
        except Exception as ex:  # bad JSON, bad UTF-8, timeout
            ok, why = False, '%s: %s' % (type(ex).__name__, ex)
        if ok:
            passed += 1
        else:
            failed += 1
            keep = os.path.join(tmp, 'fail-%d.pcap' % it)
            open(keep, 'wb').write(data)
            print('FAIL iteration %d (%s): %s' % (it, keep, why))
    # a link type nobody supports: refused with a one-line reason
    b = bytearray(bases[0])
    struct.pack_into('<I', b, 20, 147)
    open(path, 'wb').write(bytes(b))
    rc, evs, err = run(rh, path, 1)
    if rc == 1 and 'unsupported link type 147' in err and len(err.strip().splitlines()) == 2:
        passed += 1
    else:
        failed += 1
        print('FAIL unsupported link type: rc=%d stderr=%r' % (rc, err))
    print('%d passed, %d failed' % (passed, failed))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
