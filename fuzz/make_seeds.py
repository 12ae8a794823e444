#!/usr/bin/env python3
"""Write the seed inputs of the fuzz targets to fuzz/seeds/<target>/.

Usage: python3 fuzz/make_seeds.py [outdir]     (default: fuzz/seeds next to
this script).  Standard library only; the output is deterministic, so the
committed seeds can always be regenerated and diffed.  Each seed directory
is emptied first.  The input formats are described at the top of each
fuzz/fuzz_<target>.c.
"""
import os
import struct
import sys

# ---------------------------------------------------------------- packets


def csum(b):
    if len(b) % 2:
        b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff


def tcp(sport, dport, seq, ack, flags, payload=b'', opts=b''):
    opts += b'\0' * (-len(opts) % 4)
    off = (20 + len(opts)) // 4
    return struct.pack('!HHIIBBHHH', sport, dport, seq, ack, off << 4, flags,
                       65535, 0, 0) + opts + payload


def ipv4(src, dst, proto, payload, ident=1, df=True, mf=False, frag=0,
         opts=b'', totlen=None):
    opts += b'\0' * (-len(opts) % 4)
    ihl = (20 + len(opts)) // 4
    if totlen is None:
        totlen = 20 + len(opts) + len(payload)
    ff = (0x4000 if df else 0) | (0x2000 if mf else 0) | (frag // 8)
    h = struct.pack('!BBHHHBBH4s4s', 0x40 | ihl, 0, totlen, ident, ff, 64,
                    proto, 0, bytes(src), bytes(dst)) + opts
    h = h[:10] + struct.pack('!H', csum(h)) + h[12:]
    return h + payload


def ipv6(src, dst, nh, payload, plen=None):
    if plen is None:
        plen = len(payload)
    return struct.pack('!IHBB16s16s', 6 << 28, plen, nh, 64, bytes(src),
                       bytes(dst)) + payload


def v6ext(nh, body=b''):
    """Hop-by-hop / destination options header, padded to 8 bytes."""
    pad = -(2 + len(body)) % 8
    if pad == 1:
        body += b'\x00'
    elif pad > 1:
        body += bytes([1, pad - 2]) + b'\0' * (pad - 2)
    return bytes([nh, (len(body) + 2) // 8 - 1]) + body


def v6frag(nh, off, more, ident):
    return struct.pack('!BBHI', nh, 0, (off // 8) << 3 | (1 if more else 0),
                       ident)


def eth(payload, etype=0x0800, tags=()):
    h = b'\x00\x11\x22\x33\x44\x55' + b'\x00\x66\x77\x88\x99\xaa'
    for tpid, vid in tags:
        h += struct.pack('!HH', tpid, vid)
    return h + struct.pack('!H', etype) + payload


def sll(payload, proto=0x0800):
    return struct.pack('!HHH8sH', 0, 1, 6, b'\x00\x11\x22\x33\x44\x55\0\0',
                       proto) + payload


def sll2(payload, proto=0x86dd):
    return struct.pack('!HHIHBB8s', proto, 0, 2, 1, 0, 6,
                       b'\x00\x11\x22\x33\x44\x55\0\0') + payload


A4 = [192, 0, 2, 1]
B4 = [198, 51, 100, 25]
A6 = [0x20, 0x01, 0x0d, 0xb8] + [0] * 11 + [1]
B6 = [0x20, 0x01, 0x0d, 0xb8] + [0] * 11 + [0x25]

SYN, FIN, RST, PSH, ACK = 0x02, 0x01, 0x04, 0x08, 0x10
TCPOPTS = (b'\x02\x04\x05\xb4' + b'\x01\x03\x03\x07' + b'\x04\x02' +
           b'\x08\x0a\x00\x00\x00\x01\x00\x00\x00\x00')
BANNER = b'220 mx.example.net ESMTP Postfix\r\n'

# link type index of byte 0 in fuzz_pkt.c
DLT_NULL, DLT_EN10MB, DLT_RAW, DLT_RAW_OBSD, DLT_LOOP = 0, 1, 2, 3, 4
DLT_SLL, DLT_LRAW, DLT_IPV4, DLT_IPV6, DLT_SLL2 = 5, 6, 7, 8, 9
W_EQ, W_ZERO, W_SNAP, W_LIE = 0, 1, 2, 3
MULTI, JUMP = 0x40, 0x80


def pseed(idx, frame, wmode=W_EQ):
    return bytes([idx | wmode << 4]) + frame


def pmulti(idx, frames, wmode=W_EQ, jump=False):
    out = bytes([idx | wmode << 4 | MULTI | (JUMP if jump else 0)])
    for f in frames:
        out += struct.pack('<H', len(f)) + f
    return out


def v4frags(payload, ident, cut, proto=6, order=(0, 1)):
    a = ipv4(A4, B4, proto, payload[:cut], ident=ident, df=False, mf=True)
    b = ipv4(A4, B4, proto, payload[cut:], ident=ident, df=False,
             frag=cut)
    fr = [a, b]
    return [fr[i] for i in order]


def v6frags(payload, ident, cut):
    a = ipv6(A6, B6, 44, v6frag(6, 0, True, ident) + payload[:cut])
    b = ipv6(A6, B6, 44, v6frag(6, cut, False, ident) + payload[cut:])
    return [a, b]


def pkt_seeds():
    s = {}
    seg = tcp(40000, 25, 1000, 2000, PSH | ACK, b'EHLO client.example\r\n')
    s['eth_ipv4_tcp'] = pseed(DLT_EN10MB, eth(ipv4(A4, B4, 6, seg)))
    s['eth_ipv4_syn_opts'] = pseed(DLT_EN10MB, eth(ipv4(
        A4, B4, 6, tcp(40000, 25, 999, 0, SYN, opts=TCPOPTS))))
    s['eth_ipv4_ipopts'] = pseed(DLT_EN10MB, eth(ipv4(
        A4, B4, 6, seg, opts=b'\x94\x04\x00\x00' + b'\x01\x00')))
    s['eth_pad'] = pseed(DLT_EN10MB, eth(ipv4(A4, B4, 6, tcp(
        25, 40000, 2000, 1000, ACK))) + b'\0' * 6)
    s['eth_qinq'] = pseed(DLT_EN10MB, eth(ipv4(A4, B4, 6, seg),
                                          tags=((0x88a8, 100),
                                                (0x8100, 200))))
    s['eth_vlan_ipv6'] = pseed(DLT_EN10MB, eth(
        ipv6(A6, B6, 6, seg), etype=0x86dd, tags=((0x8100, 7),)))
    mpls = struct.pack('!I', 16 << 12 | 64) + struct.pack(
        '!I', 17 << 12 | 1 << 8 | 64)
    s['eth_mpls'] = pseed(DLT_EN10MB, eth(mpls + ipv4(A4, B4, 6, seg),
                                          etype=0x8847))
    s['eth_ipv6_ext'] = pseed(DLT_EN10MB, eth(ipv6(
        A6, B6, 0, v6ext(43) + bytes([60, 0, 0, 0]) + b'\0' * 4 +
        v6ext(6) + seg), etype=0x86dd))
    s['eth_arp'] = pseed(DLT_EN10MB, eth(b'\x00\x01\x08\x00\x06\x04\x00\x01'
                                         + b'\0' * 20, etype=0x0806))
    s['eth_udp'] = pseed(DLT_EN10MB, eth(ipv4(
        A4, B4, 17, struct.pack('!HHHH', 53, 53, 12, 0) + b'abcd')))
    s['sll_ipv4'] = pseed(DLT_SLL, sll(ipv4(A4, B4, 6, seg)))
    s['sll2_ipv6'] = pseed(DLT_SLL2, sll2(ipv6(A6, B6, 6, seg)))
    s['null_ipv4'] = pseed(DLT_NULL, struct.pack('<I', 2) +
                           ipv4(A4, B4, 6, seg))
    s['null_be_ipv6'] = pseed(DLT_NULL, struct.pack('>I', 24) +
                              ipv6(A6, B6, 6, seg))
    s['loop_ipv6'] = pseed(DLT_LOOP, struct.pack('>I', 30) +
                           ipv6(A6, B6, 6, seg))
    s['raw_ipv4'] = pseed(DLT_RAW, ipv4(A4, B4, 6, seg))
    s['raw_openbsd_ipv6'] = pseed(DLT_RAW_OBSD, ipv6(A6, B6, 6, seg))
    s['linktype_raw'] = pseed(DLT_LRAW, ipv4(A4, B4, 6, seg))
    s['dlt_ipv4'] = pseed(DLT_IPV4, ipv4(A4, B4, 6, seg))
    s['dlt_ipv6'] = pseed(DLT_IPV6, ipv6(A6, B6, 6, seg))
    full = eth(ipv4(A4, B4, 6, tcp(25, 40000, 2000, 1000, PSH | ACK,
                                   BANNER * 8)))
    s['snaplen_cut'] = pseed(DLT_EN10MB, full[:96], W_SNAP)
    s['wirelen_zero'] = pseed(DLT_EN10MB, full[:96], W_ZERO)
    s['totlen_lie'] = pseed(DLT_RAW, ipv4(A4, B4, 6, seg, totlen=1400))
    s['unknown_dlt'] = pseed(15, eth(ipv4(A4, B4, 6, seg)))
    data = tcp(40000, 25, 5000, 2000, PSH | ACK,
               b'MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\n')
    s['frag4_pair'] = pmulti(DLT_RAW, v4frags(data, 77, 24))
    s['frag4_reverse'] = pmulti(DLT_RAW, v4frags(data, 78, 32,
                                                 order=(1, 0)))
    fr = v4frags(data, 79, 24)
    s['frag4_overlap'] = pmulti(DLT_RAW, [fr[0], ipv4(
        A4, B4, 6, b'X' * 16, ident=79, df=False, mf=True, frag=16), fr[1]])
    s['frag4_timeout'] = pmulti(DLT_RAW, v4frags(data, 80, 24)[:1],
                                jump=True)
    s['frag4_first_only'] = pseed(DLT_RAW, v4frags(data, 81, 16)[0])
    s['frag4_last_only'] = pseed(DLT_RAW, v4frags(data, 81, 16)[1])
    s['frag6_pair'] = pmulti(DLT_IPV6, v6frags(data, 0x1234, 32))
    s['frag6_eth'] = pmulti(DLT_EN10MB, [eth(f, etype=0x86dd)
                                         for f in v6frags(data, 9, 16)])
    hbh = v6ext(44)
    s['frag6_hbh'] = pmulti(DLT_IPV6, [
        ipv6(A6, B6, 0, hbh + v6frag(6, 0, True, 5) + data[:24]),
        ipv6(A6, B6, 0, hbh + v6frag(6, 24, False, 5) + data[24:])])
    # far offsets: each datagram claims ~60 KB, the 128 KiB table evicts
    s['frag4_memcap'] = pmulti(DLT_RAW, [
        ipv4(A4, B4, 6, b'M' * 8, ident=200 + i, df=False, mf=True,
             frag=60000) for i in range(4)])
    s['frag4_odd_len'] = pmulti(DLT_RAW, [
        ipv4(A4, B4, 6, data[:21], ident=90, df=False, mf=True),
        ipv4(A4, B4, 6, data[16:], ident=90, df=False, frag=16)])
    s['flow_dialogue'] = pmulti(DLT_RAW, [
        ipv4(A4, B4, 6, tcp(40000, 25, 999, 0, SYN, opts=TCPOPTS)),
        ipv4(B4, A4, 6, tcp(25, 40000, 1999, 1000, SYN | ACK,
                            opts=TCPOPTS)),
        ipv4(A4, B4, 6, tcp(40000, 25, 1000, 2000, ACK)),
        ipv4(B4, A4, 6, tcp(25, 40000, 2000, 1000, PSH | ACK, BANNER)),
        ipv4(A4, B4, 6, tcp(40000, 25, 1000, 2035, RST)),
    ])
    return s

# ---------------------------------------------------------------- tcp


def tseed(cfg, isn0, isn1, recs):
    out = struct.pack('<BII', cfg, isn0, isn1)
    for r in recs:
        d, flags, sd, ad, payload = r[:5]
        big = r[5] if len(r) > 5 else 0
        n = len(payload) if isinstance(payload, bytes) else payload
        ln = n // 16 if big else n
        out += struct.pack('<BhbB', d | flags << 1 | big << 7, sd, ad, ln)
        if isinstance(payload, bytes):
            out += payload
    return out


def tcp_seeds():
    s = {}
    caps = 3 | 3 << 2          # 1 MiB / 1 MiB
    s['handshake_dialogue'] = tseed(caps, 1000, 5000, [
        (0, SYN, 0, 0, b''), (1, SYN | ACK, 0, 0, b''),
        (0, ACK, 0, 0, b''),
        (1, PSH | ACK, 0, 0, BANNER),
        (0, PSH | ACK, 0, 0, b'EHLO c.example\r\n'),
        (1, PSH | ACK, 0, 0, b'250 ok\r\n'),
        (0, FIN | ACK, 0, 0, b'QUIT\r\n'),
        (1, FIN | ACK, 0, 0, b'221 bye\r\n'),
        (0, ACK, 0, 0, b''),
    ])
    a, b, c = b'MAIL FROM:<a@x>\r\n', b'RCPT TO:<b@y>\r\n', b'DATA\r\n'
    s['out_of_order'] = tseed(caps, 7, 9, [
        (0, SYN, 0, 0, b''), (1, SYN | ACK, 0, 0, b''),
        (0, ACK | PSH, len(a), 0, b),
        (0, ACK | PSH, 0, 0, c),
        (0, ACK | PSH, -(len(a) + len(b) + len(c)), 0, a),
        (0, ACK, len(b) + len(c), 0, b''),
    ])
    s['overlap_diff'] = tseed(caps, 1, 2, [
        (0, SYN, 0, 0, b''), (1, SYN | ACK, 0, 0, b''),
        (0, ACK, 0, 0, b'hello world\r\n'),
        (0, ACK, -8, 0, b'WORLD\r\nmore'),
        (0, ACK, 0, 0, b'tail'),
    ])
    s['consistent_wrap'] = tseed(caps | 0x10, 0xfffffff0, 0xffffff00, [
        (0, SYN, 0, 0, 0), (1, SYN | ACK, 0, 0, 0),
        (0, ACK, 20, 0, 30), (0, ACK, -50, 0, 20), (0, ACK, -10, 0, 40),
        (1, ACK, 0, 0, 64, 1), (1, ACK, 100, 0, 10), (1, ACK, -120, 0, 100),
        (0, FIN | ACK, 0, 0, 5), (1, FIN | ACK, 0, 0, 0),
    ])
    s['ack_gap'] = tseed(caps, 100, 200, [
        (0, SYN, 0, 0, b''), (1, SYN | ACK, 0, 0, b''),
        (0, ACK, 0, 0, b'DATA\r\n'),
        (1, ACK, 0, 0, b'354 go\r\n'),
        (0, ACK, 500, 0, b'lost body here\r\n'),
        (1, ACK, 0, 100, b'250 queued\r\n'),
    ])
    s['midstream'] = tseed(caps, 123456, 654321, [
        (0, ACK | PSH, 0, 0, b'RCPT TO:<x@y>\r\n'),
        (1, ACK | PSH, 0, 0, b'250 ok\r\n'),
        (0, ACK | PSH, 0, 0, b'DATA\r\n'),
    ])
    recs = [(0, SYN, 0, 0, b''), (1, SYN | ACK, 0, 0, b'')]
    for i in range(12):
        recs.append((0, ACK, 10, 0, bytes([65 + i]) * 10))
    recs.append((0, ACK, -240, 0, b'z' * 10))
    s['memcap_small'] = tseed(0 | 1 << 2, 5, 6, recs)
    s['consistent_ooo_cap'] = tseed(1 | 0 << 2 | 0x10, 42, 43,
                                    [(0, SYN, 0, 0, 0)] +
                                    [(0, ACK, 7, 0, 13)] * 10 +
                                    [(0, ACK, -200, 0, 60)])
    s['rst'] = tseed(caps, 1, 2, [
        (0, SYN, 0, 0, b''), (0, ACK, 0, 0, b'abc'),
        (1, RST, 0, 0, b''), (0, ACK, 0, 0, b'def'),
    ])
    s['second_syn'] = tseed(caps, 1, 2, [
        (0, SYN, 0, 0, b''), (0, SYN, 1000, 0, b'x'),
        (0, ACK, -1001, 0, b'abc'),
    ])
    return s

# ---------------------------------------------------------------- smtp


def schunks(d, data):
    """Chunks of dir d in the control-byte format of fuzz_smtp.c."""
    out = b''
    while data:
        if len(data) > 125:
            piece = data[:4000]
            out += bytes([d | 126 << 1]) + struct.pack('<H', len(piece))
        else:
            piece = data
            out += bytes([d | len(piece) << 1])
        out += piece
        data = data[len(piece):]
    return out


def sgap(d, n):
    return bytes([d | 127 << 1, n - 1])


def sseed(cfg, steps):
    out = bytes([cfg])
    for st in steps:
        if st[0] == 'gap':
            out += sgap(st[1], st[2])
        elif st[0] == 'bytes':           # one chunk per byte
            for i in range(len(st[2])):
                out += schunks(st[1], st[2][i:i + 1])
        else:
            out += schunks(st[0], st[1])
    return out


C, S = 0, 1
MSG = (b'Received: from c.example (c.example [192.0.2.1])\r\n'
       b'\tby mx.example.net with ESMTP id ABC123\r\n'
       b'From: =?UTF-8?B?w4lsaXNl?= <elise@example.org>\r\n'
       b'To: "Bob B." <bob@example.net>, carol@example.net (Carol)\r\n'
       b'Cc: undisclosed-recipients:;\r\n'
       b'Subject: =?ISO-8859-1?Q?caf=E9?= test\r\n'
       b'Message-ID: <1@example.org>\r\n'
       b'Date: Mon, 1 Jan 2024 00:00:00 +0000\r\n'
       b'\r\n'
       b'Body line\r\n..stuffed dot\r\n')


def smtp_seeds():
    s = {}
    hello = [(S, BANNER), (C, b'EHLO c.example\r\n'),
             (S, b'250-mx.example.net\r\n250-PIPELINING\r\n250-CHUNKING\r\n'
              b'250-STARTTLS\r\n250 AUTH PLAIN LOGIN\r\n')]
    s['basic'] = sseed(0, hello + [
        (C, b'MAIL FROM:<elise@example.org> SIZE=100\r\n'),
        (S, b'250 2.1.0 Ok\r\n'),
        (C, b'RCPT TO:<bob@example.net>\r\n'), (S, b'250 2.1.5 Ok\r\n'),
        (C, b'RCPT TO:<nobody@example.net>\r\n'),
        (S, b'550 5.1.1 unknown\r\n'),
        (C, b'DATA\r\n'), (S, b'354 End data with <CR><LF>.<CR><LF>\r\n'),
        (C, MSG + b'.\r\n'), (S, b'250 2.0.0 Ok: queued as 4Ab1Cd\r\n'),
        (C, b'QUIT\r\n'), (S, b'221 2.0.0 Bye\r\n')])
    s['pipelined'] = sseed(0, hello + [
        (C, b'MAIL FROM:<>\r\nRCPT TO:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n'),
        (S, b'250 ok\r\n250 ok\r\n451 later\r\n354 go\r\n'),
        (C, b'Subject: x\r\n\r\nhi\r\n.\r\nMAIL FROM:<e@f>\r\n'
         b'RCPT TO:<g@h>\r\nRSET\r\n'),
        (S, b'250 queued as Q1\r\n250 ok\r\n250 ok\r\n250 reset\r\n')])
    s['bdat'] = sseed(0, hello + [
        (C, b'MAIL FROM:<a@b>\r\n'), (S, b'250 ok\r\n'),
        (C, b'RCPT TO:<c@d>\r\n'), (S, b'250 ok\r\n'),
        (C, b'BDAT 19\r\nSubject: bdat\r\n\r\nab'), (S, b'250 19 ok\r\n'),
        (C, b'BDAT 4 LAST\r\ncd\r\n'), (S, b'250 queued as B2\r\n'),
        (C, b'BDAT xyz\r\n'), (S, b'501 bad\r\n')])
    s['auth_starttls'] = sseed(0, hello + [
        (C, b'AUTH LOGIN\r\n'), (S, b'334 VXNlcm5hbWU6\r\n'),
        (C, b'dXNlcg==\r\n'), (S, b'334 UGFzc3dvcmQ6\r\n'),
        (C, b'cGFzcw==\r\n'), (S, b'235 2.7.0 ok\r\n'),
        (C, b'STARTTLS\r\n'), (S, b'220 2.0.0 Ready to start TLS\r\n'),
        (C, b'\x16\x03\x01\x00\x05hello'), (S, b'\x16\x03\x03\x00\x02hi')])
    s['auth_plain_fail'] = sseed(0, hello + [
        (C, b'AUTH PLAIN AGFiYwBkZWY=\r\n'), (S, b'535 5.7.8 no\r\n'),
        (C, b'QUIT\r\n'), (S, b'221 bye\r\n')])
    s['gap_in_data'] = sseed(0, hello + [
        (C, b'MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n'),
        (S, b'250 ok\r\n250 ok\r\n354 go\r\n'),
        (C, b'Subject: gap\r\n\r\nsome'), ('gap', C, 200),
        (C, b'more\r\n.\r\nMAIL FROM:<x@y>\r\n'),
        (S, b'250 queued\r\n'), ('gap', S, 10), (S, b'250 ok\r\n')])
    s['midstream'] = sseed(1, [
        (C, b'RCPT TO:<c@d>\r\n'), (S, b'250 ok\r\n'),
        (C, b'DATA\r\n'), (S, b'354 go\r\n'),
        (C, b'From: x@y\r\n\r\n.\r\n'), (S, b'250 ok\r\n')])
    s['bare_lf'] = sseed(0, hello + [
        (C, b'MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n'),
        (S, b'250 ok\r\n250 ok\r\n354 go\r\n'),
        (C, b'Subject: smuggle\r\n\r\nx\n.\nMAIL FROM:<evil@x>\r\n'
         b'RCPT TO:<v@y>\r\nDATA\r\nSubject: 2\r\n\r\n.\r\n'),
        (S, b'250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n250 ok\r\n')])
    s['data_refused'] = sseed(0, hello + [
        (C, b'MAIL FROM:<a@b>\r\nDATA\r\nSubject: early\r\n\r\n.\r\n'),
        (S, b'250 ok\r\n554 no valid recipients\r\n500 what\r\n')])
    s['caps_small'] = sseed(0x02 | 0x04 | 0x08 | 0x10 | 0x20 | 0x40,
                            hello + [
        (C, b'MAIL FROM:<' + b'a' * 100 + b'@b>\r\n'),
        (C, b''.join(b'RCPT TO:<r%d@x>\r\n' % i for i in range(6))),
        (S, b'250 ok\r\n' * 7),
        (C, b'DATA\r\n'), (S, b'354 go\r\n'),
        (C, b''.join(b'X-H%d: %s\r\n' % (i, b'v' * 40) for i in range(12))
         + b'\r\nbody\r\n.\r\n'),
        (S, b'250 ok\r\n')])
    s['bytewise'] = sseed(0x80, [
        ('bytes', S, BANNER), ('bytes', C, b'HELO x\r\nMAIL FROM:<a@b>\r\n'),
        ('bytes', S, b'250 hi\r\n250 ok\r\n'),
        ('bytes', C, b'RCPT TO:<c@d>\r\nDATA\r\n'),
        ('bytes', S, b'250 ok\r\n354 go\r\n'),
        ('bytes', C, b'Subject: a\r\n\r\n.\r\n'), ('bytes', S, b'250 ok\r\n')])
    s['queue_ids'] = sseed(0, hello + [
        (C, b'MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n'),
        (S, b'250 ok\r\n250 ok\r\n354 go\r\n'),
        (C, b'X: 1\r\n\r\n.\r\nMAIL FROM:<e@f>\r\nRCPT TO:<g@h>\r\n'
         b'DATA\r\n'),
        (S, b'250 OK id=1rAbCd-000123-Xy\r\n250 ok\r\n250 ok\r\n'
         b'354 go\r\n'),
        (C, b'X: 2\r\n\r\n.\r\n'),
        (S, b'250 2.0.0 3A8F1C2D9 Message accepted for delivery\r\n')])
    s['bdat_gap'] = sseed(0, hello + [
        (C, b'MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nBDAT 300 LAST\r\n'
         b'Subject: big\r\n\r\n'), ('gap', C, 100),
        (C, b'y' * 50), ('gap', C, 200), (C, b'RSET\r\n'),
        (S, b'250 ok\r\n250 ok\r\n250 queued as Z\r\n250 reset\r\n')])
    s['no_mail'] = sseed(0, [(S, BANNER), (C, b'EHLO \xff\xfe\x00bad\r\n'),
                             (S, b'250 hi\r\n'), (C, b'NOOP\r\nXYZZY\r\n'),
                             (S, b'250 ok\r\n502 unknown\r\n')])
    return s

# ---------------------------------------------------------------- msghdr


def mseed(cfg, chunks):
    out = bytes([cfg])
    for c in chunks:
        if len(c) >= 255:
            out += b'\xff' + struct.pack('<H', len(c))
        else:
            out += bytes([len(c)])
        out += c
    return out


def split(b, n):
    return [b[i:i + n] for i in range(0, len(b), n)]


HDR_WORDS = (
    b'Subject: =?UTF-8?B?8J+Ygg==?= =?UTF-8?Q?a_b?= plain\r\n'
    b'From: =?ISO-2022-JP?B?GyRCJUYlOSVIGyhC?= <jp@example.jp>\r\n'
    b'X-Mailer: =?gb2312?B?1tDOxA==?= =?big5?B?pKSk5Q==?=\r\n'
    b'Reply-To: =?koi8-r?Q?=F4=C5=D3=D4?= <r@example.ru>\r\n'
    b'Return-Path: =?windows-1252?Q?=93q=94?= <w@x>\r\n'
    b'Comments: =?x-unknown?B?AAAA?= =?utf-8?B?broken\r\n'
    b'Keywords: =?euc-kr?B?x9Gx2w==?= =?shift_jis?B?g2WDWINn?=\r\n'
    b'\r\n')
HDR_ADDRS = (
    b'To: "Last, First" <first.last@example.com>, plain@example.com,\r\n'
    b' (comment) c@example.com, <@route.example:r@example.com>,\r\n'
    b'\tfriends: a@x, "q x"@y;, undisclosed-recipients:;\r\n'
    b'Cc: a . b @ c . d, Display Only, <>, "unterminated\r\n'
    b'From: Mary Smith <mary@x.test>, jdoe@example.org\r\n'
    b'Bcc: =?utf-8?Q?J=C3=B6rg?= <j@example.de>\r\n'
    b'\r\n')


def msghdr_seeds():
    s = {}
    s['basic_whole'] = mseed(0x10, [MSG])
    s['basic_split7'] = mseed(0x10, split(MSG, 7))
    s['basic_bytewise'] = mseed(0x00, split(MSG[:200], 1))
    s['encoded_words'] = mseed(0x10, [HDR_WORDS])
    s['addresses'] = mseed(0x10, split(HDR_ADDRS, 33))
    s['mbox_junk'] = mseed(0x10, [
        b'From sender@example.org Mon Jan  1 00:00:00 2024\n'
        b'X-Bare: lf\nX-Fold: a\n b\n'
        b'junk line without colon\r\n'
        b'Name With Space: v\r\n'
        b'X-CR: a\rb\r\n\n'
        b'body: not a header\r\n'])
    s['empty_lines'] = mseed(0x10, [b'\r\n\r\n', b'X: y\r\n'])
    s['lf_crlf'] = mseed(0x00, [b'A: b\n\r\nbody'])
    s['no_blank'] = mseed(0x10, [b'A: 1\r\nB: 2\r\n C\r\n'])
    s['byte_cap'] = mseed(0x01 | 0x10, [HDR_ADDRS])
    s['field_cap'] = mseed(0x04 | 0x10, [HDR_WORDS])
    s['long_field'] = mseed(0x10 | 0x40, [b'X-Long: ' + b'L' * 20000 +
                                         b'\r\n\r\n'])
    s['many_fields'] = mseed(0x0c | 0x10, [b''.join(
        b'F%d: %d\r\n' % (i, i) for i in range(600)) + b'\r\n'])
    s['arena_one_block'] = mseed(0x03 | 0x10 | 0x60, [b''.join(
        b'X-%d: %s\r\n' % (i, b'y' * 900) for i in range(20))])
    return s

# ---------------------------------------------------------------- main


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here,
                                                                  'seeds')
    for target, seeds in (('pkt', pkt_seeds()), ('tcp', tcp_seeds()),
                          ('smtp', smtp_seeds()),
                          ('msghdr', msghdr_seeds())):
        d = os.path.join(outdir, target)
        os.makedirs(d, exist_ok=True)
        for old in os.listdir(d):
            p = os.path.join(d, old)
            if os.path.isfile(p):
                os.unlink(p)
        for name, data in sorted(seeds.items()):
            with open(os.path.join(d, name), 'wb') as f:
                f.write(data)
        print('%s: %d seeds, %d bytes' % (target, len(seeds),
                                          sum(len(v) for v in seeds.values())))


if __name__ == '__main__':
    main()
