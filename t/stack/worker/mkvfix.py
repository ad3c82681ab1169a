#!/usr/bin/python3
"""Rewrites a Matroska file the way real-world muxers leave them, for the
audio tests (t/stack/worker-audio.sh):

  mkvfix.py IN OUT [--lace N] [--glitch AT_MS:TO_MS] [--track T]

--lace N      the audio track's frames Xiph-laced N per block, as older
              mkvmerge writes them: only a lace's first frame has a
              timestamp, and the track has no DefaultDuration;
--glitch A:B  the first audio block at or after A ms carries the
              timestamp B ms instead (a broken muxer);
and always: no SeekHead and no Cues (nothing to seek by)."""
import sys

SEGMENT, SEEKHEAD, CUES = 0x18538067, 0x114D9B74, 0x1C53BB6B
CLUSTER = 0x1F43B675
TIMECODE, SIMPLEBLOCK = 0xE7, 0xA3


def vint(d, i, keep_marker):
    b, n, m = d[i], 1, 0x80
    while not b & m:
        n += 1
        m >>= 1
    v = b if keep_marker else b & (m - 1)
    for k in range(1, n):
        v = (v << 8) | d[i + k]
    return v, i + n, (1 << (7 * n)) - 1


def elements(d, i, end):
    while i < end:
        eid, j, _ = vint(d, i, True)
        size, k, unknown = vint(d, j, False)
        if size == unknown:
            size = end - k
        yield eid, d[i:j], d[k:k + size]
        i = k + size


def el(idbytes, payload):
    return idbytes + b'\x01' + len(payload).to_bytes(7, 'big') + payload


def laced(blocks):
    track, tc, frames = blocks[0][0], blocks[0][1], [b[2] for b in blocks]
    if len(frames) == 1:
        return bytes([0x80 | track]) + tc + b'\x80' + frames[0]
    head = bytes([0x80 | track]) + tc + bytes([0x80 | 0x02, len(frames) - 1])
    for f in frames[:-1]:
        head += b'\xff' * (len(f) // 255) + bytes([len(f) % 255])
    return head + b''.join(frames)


def main():
    args = sys.argv[1:]
    src, dst, per, glitch, audio = args[0], args[1], 1, None, 2
    for i, a in enumerate(args):
        if a == '--lace':
            per = int(args[i + 1])
        elif a == '--glitch':
            glitch = [int(x) for x in args[i + 1].split(':')]
        elif a == '--track':
            audio = int(args[i + 1])

    d = open(src, 'rb').read()
    out = b''
    for eid, idb, body in elements(d, 0, len(d)):
        if eid != SEGMENT:
            out += el(idb, body)
            continue
        seg = b''
        for sid, sidb, sbody in elements(body, 0, len(body)):
            if sid in (SEEKHEAD, CUES):
                continue
            if sid != CLUSTER:
                seg += el(sidb, sbody)
                continue
            cl, pend, ctc = b'', [], 0

            def flush():
                nonlocal cl, pend
                if pend:
                    cl += el(b'\xa3', laced(pend))
                    pend = []
            for cid, cidb, cbody in elements(sbody, 0, len(sbody)):
                if cid == TIMECODE:
                    ctc = int.from_bytes(cbody, 'big')
                if cid == SIMPLEBLOCK:
                    track, j, _ = vint(cbody, 0, False)
                    if track == audio:
                        tc = cbody[j:j + 2]
                        rel = int.from_bytes(tc, 'big', signed=True)
                        if glitch and ctc + rel >= glitch[0]:
                            tc = (glitch[1] - ctc).to_bytes(2, 'big',
                                                            signed=True)
                            glitch = None
                        pend.append((track, tc, cbody[j + 3:]))
                        if len(pend) == per:
                            flush()
                        continue
                cl += el(cidb, cbody)
            flush()
            seg += el(sidb, cl)
        out += el(idb, seg)
    open(dst, 'wb').write(out)


main()
