# Test helper: sets the display matrix of the first tkhd of an MP4 to a
# 90 degree rotation (ffmpeg 5.1 cannot write one without re-muxing a
# rotated source).
import sys, struct
# set the display matrix of the first video tkhd to a 90 degree rotation
data = bytearray(open(sys.argv[1], 'rb').read())
i = data.find(b'tkhd')
assert i > 0
ver = data[i + 4]
off = i + 4 + 4 + (32 if ver == 1 else 20) + 8 + 8
m = [0, 0x10000, 0, -0x10000 & 0xffffffff, 0, 0, 0, 0, 0x40000000]
data[off:off + 36] = struct.pack('>9I', *m)
open(sys.argv[2], 'wb').write(data)
