#!/usr/bin/env python3
"""Fails (exit 1) when a PNG screenshot is blank: too few non-white pixels, too few colours, or a colour
that must be drawn (a chart's first series colour) missing. Standard library only (zlib): reads 8-bit
RGB/RGBA non-interlaced PNGs, which is what Chromium writes.

    png_check.py report.png "#4e79a7"
"""
import struct
import sys
import zlib


def pixels(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        sys.exit(f"{path}: not a PNG")
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
            if depth != 8 or colour not in (2, 6) or interlace:
                sys.exit(f"{path}: unsupported PNG (depth {depth}, colour type {colour}, interlace {interlace})")
            bpp = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * bpp
    prev = bytearray(stride)
    out = []
    for y in range(height):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1: line[i] = (line[i] + a) & 255
            elif f == 2: line[i] = (line[i] + b) & 255
            elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        out.append(bytes(line))
        prev = line
    return width, height, bpp, out


def main():
    path, want = sys.argv[1], sys.argv[2].lstrip("#")
    want = tuple(int(want[i:i + 2], 16) for i in (0, 2, 4))
    width, height, bpp, rows = pixels(path)
    non_white, colours, hits = 0, set(), 0
    for row in rows:
        for x in range(0, width * bpp, bpp):
            px = tuple(row[x:x + 3])
            colours.add(px)
            non_white += px != (255, 255, 255)
            hits += px == want
    share = non_white / (width * height)
    print(f"png_check: {width}x{height}, {share:.1%} non-white, {len(colours)} colours, {hits} pixels of #{sys.argv[2].lstrip('#')}")
    problems = []
    if share < 0.01: problems.append("under 1% of the pixels are not white")
    if len(colours) < 16: problems.append("fewer than 16 colours")
    if hits < 50: problems.append(f"the series colour {sys.argv[2]} is (almost) not drawn")
    for p in problems: print("png_check: " + p)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
