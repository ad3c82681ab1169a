#!/usr/bin/python3
"""Downloads an HLS tree from S3 by following its playlists and checks it.

    hls_check.py BASE_URL OUT_DIR SEGMENT_SECONDS

BASE_URL is .../output/<sub>/<id>/hls (path-style, public read on the local
S3). Prints one "ok|not ok - what" line per check; the tree is left in
OUT_DIR for ffprobe.
"""
import os
import re
import sys
import urllib.request

base, out, seg = sys.argv[1], sys.argv[2], float(sys.argv[3])


def report(ok, what):
    print("%s - %s" % ("ok" if ok else "not ok", what))


def fetch(rel):
    try:
        data = urllib.request.urlopen(base + "/" + rel, timeout=30).read()
    except Exception as e:          # noqa: BLE001 - reported as a failure
        return None, str(e)
    path = os.path.join(out, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    return data, None


master, err = fetch("index.m3u8")
report(master is not None,
       "master playlist index.m3u8 is in S3 %s" % (err or ""))
if master is None:
    sys.exit(0)
lines = master.decode().splitlines()
report(lines[0] == "#EXTM3U", "master playlist starts with #EXTM3U")

variants = []
for i, line in enumerate(lines):
    if line.startswith("#EXT-X-STREAM-INF:"):
        attrs = dict(re.findall(r'([A-Z-]+)=("[^"]*"|[^,]*)', line[18:]))
        variants.append((attrs, lines[i + 1]))
print("# renditions: " + " ".join(v[1] for v in variants))
print("RENDITIONS=" + ",".join(v[1].split("/")[0] for v in variants))

for attrs, uri in variants:
    name = uri.split("/")[0]
    report(int(attrs.get("BANDWIDTH", "0")) > 0
           and int(attrs.get("AVERAGE-BANDWIDTH", "0")) > 0
           and int(attrs["AVERAGE-BANDWIDTH"]) <= int(attrs["BANDWIDTH"]),
           "%s: BANDWIDTH %s >= AVERAGE-BANDWIDTH %s > 0" % (
               name, attrs.get("BANDWIDTH"), attrs.get("AVERAGE-BANDWIDTH")))
    report(re.fullmatch(r"\d+x\d+", attrs.get("RESOLUTION", "")) is not None,
           "%s: RESOLUTION %s" % (name, attrs.get("RESOLUTION")))
    codecs = attrs.get("CODECS", "").strip('"')
    report(re.fullmatch(r"avc1\.[0-9a-f]{6}(,mp4a\.40\.\d+)?", codecs)
           is not None, "%s: CODECS \"%s\"" % (name, codecs))

    media, err = fetch(uri)
    report(media is not None,
           "%s: media playlist in S3 %s" % (name, err or ""))
    if media is None:
        continue
    mlines = media.decode().splitlines()
    durs, missing, n = [], [], 0
    d = os.path.dirname(uri)
    for j, line in enumerate(mlines):
        m = re.match(r'#EXT-X-MAP:URI="([^"]+)"', line)
        if m:
            if fetch(d + "/" + m.group(1))[0] is None:
                missing.append(m.group(1))
        if line.startswith("#EXTINF:"):
            durs.append(float(line[8:].split(",")[0]))
            n += 1
            if fetch(d + "/" + mlines[j + 1])[0] is None:
                missing.append(mlines[j + 1])
    report(n > 1 and not missing,
           "%s: all %d segments (and init) are in S3 %s" % (name, n, missing))
    report(all(x <= seg + 0.5 for x in durs),
           "%s: every segment lasts <= %.1f s (%s)" % (
               name, seg + 0.5, ",".join("%.3f" % x for x in durs)))
    report(sum(durs) > 0 and all(x >= seg - 0.5 for x in durs[:-1]),
           "%s: every segment but the last lasts about %g s" % (name, seg))
