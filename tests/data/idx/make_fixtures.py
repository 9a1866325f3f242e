#!/usr/bin/env python3
"""Writes the small IDX fixtures of tests/data_tests/test_idx.cpp (committed; rerun to regenerate)."""
import gzip
import struct


def idx(type_code, dims, payload):
    return bytes([0, 0, type_code, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + payload


def gz(data):
    return gzip.compress(data, mtime=0)


def write(name, data):
    with open(name, "wb") as f:
        f.write(data)


# 3 images of 2x3 pixels: image k holds k*10 + position (0..5), except pixel (1,2) of image 2 = 255.
pixels = [k * 10 + p for k in range(3) for p in range(6)]
pixels[-1] = 255
images = idx(0x08, [3, 2, 3], bytes(pixels))
labels = idx(0x08, [3], bytes([0, 9, 4]))
write("images-3x2x3.idx", images)
write("images-3x2x3.idx.gz", gz(images))
write("labels-3.idx.gz", gz(labels))
write("labels-4.idx", idx(0x08, [4], bytes([1, 2, 3, 4])))
write("labels-2d.idx", idx(0x08, [3, 1], bytes([1, 2, 3])))

write("values-i16.idx", idx(0x0B, [2, 2], struct.pack(">4h", -2, 300, -32768, 7)))
write("values-i32.idx", idx(0x0C, [3], struct.pack(">3i", -70000, 0, 16777216)))
write("values-f32.idx", idx(0x0D, [2], struct.pack(">2f", 1.5, -0.25)))
write("values-f64.idx", idx(0x0E, [1, 2], struct.pack(">2d", 3.25, -1e-3)))

write("bad-magic.idx", b"PK\x03\x04" + bytes(20))
write("bad-type.idx", bytes([0, 0, 0x07, 1, 0, 0, 0, 1, 5]))
write("empty.idx", b"")
write("truncated-header.idx", bytes([0, 0, 0x08, 3, 0, 0, 0, 3, 0, 0]))
write("truncated.idx", images[:-8])
write("trailing.idx", images + b"\x00")
write("truncated.idx.gz", gz(images)[:-12])
corrupt = bytearray(gz(images))
corrupt[14:20] = b"\xff" * 6
write("corrupt.idx.gz", bytes(corrupt))

# A Fashion-MNIST-shaped folder with only the training files (t10k-* missing on purpose).
write("fashion-mini/train-images-idx3-ubyte.gz", gz(images))
write("fashion-mini/train-labels-idx1-ubyte.gz", gz(labels))
