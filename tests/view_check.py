#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Helpers of test_view.sh: reads X window dumps (xwd) and the PNG files that
pixshare writes, compares a dump of `pixshare view` with the images it shows,
and types keys into an X display through XTEST.

usage:
  view_check.py tiles SHOT.xwd PNG...       the window shows the PNGs tiled
  view_check.py single SHOT.xwd K PNG...    the window shows PNG K (from 1) alone
  view_check.py png PNG...                  the files decode as PNG
  view_check.py keys SHOT.xwd KEY...        moves the pointer into the window of
                                            SHOT and types the keys (X keysym
                                            names: 2, Escape, space, s, q)
Exit status 0 when the check holds, 1 with the reason on stderr when not.

The layout checked is the one `pixshare view --help` documents, computed here
independently: ceil(sqrt(N)) columns, as many rows as needed, each image the
largest rectangle of its aspect in its cell, centred, with whole-pixel edges.
The window's background is grey (0.1). The overlay line at the top left (its
rows, OVERLAY_ROWS) is left out. Images are compared pixel by pixel, each
screen pixel against the nearest source pixel: the viewer samples packed YUV
nearest, so at whole scales they agree up to the YUV to RGB rounding.
"""
import ctypes
import math
import struct
import sys
import zlib

OVERLAY_ROWS = 20
BACKGROUND = 26  # 0.1 × 255, rounded either way
TOLERANCE = 6  # per channel: BT.601 in floats (shader) against integers (PNG writer)
MEAN_TOLERANCE = 1.5


class Image:
    def __init__(self, width, height, rgb, x=0, y=0):
        self.width, self.height, self.rgb = width, height, rgb
        self.x, self.y = x, y  # a window's position on the screen

    def pixel(self, x, y):
        i = (y * self.width + x) * 3
        return self.rgb[i : i + 3]


def fail(msg):
    print("view_check: " + msg, file=sys.stderr)
    sys.exit(1)


def read_xwd(path):
    data = open(path, "rb").read()
    if len(data) < 100:
        fail(f"{path}: too short for an XWD file")
    h = struct.unpack(">25I", data[:100])
    (header_size, version, fmt, depth, width, height, _, byte_order, _, _, _, bpp, bpl) = h[:13]
    red, green, blue = h[14:17]
    ncolors = h[19]
    win_x, win_y = struct.unpack(">2i", data[88:96])
    if version != 7 or fmt != 2:
        fail(f"{path}: not an XWD v7 ZPixmap (version {version}, format {fmt})")
    if bpp != 32 or (red, green, blue) != (0xFF0000, 0xFF00, 0xFF):
        fail(f"{path}: {bpp} bits per pixel, masks {red:#x} {green:#x} {blue:#x}: "
             "only 32-bit x8r8g8b8 is read here")
    off = header_size + ncolors * 12
    if len(data) < off + bpl * height:
        fail(f"{path}: cut short")
    rgb = bytearray(width * height * 3)
    order = (2, 1, 0) if byte_order == 0 else (1, 2, 3)  # LSB first: B G R X
    for y in range(height):
        row = data[off + y * bpl : off + y * bpl + width * 4]
        for c in range(3):
            rgb[y * width * 3 + c : (y + 1) * width * 3 : 3] = row[order[c] :: 4]
    return Image(width, height, bytes(rgb), win_x, win_y)


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else b if pb <= pc else c


def read_png(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        fail(f"{path}: no PNG signature")
    pos, idat, ihdr = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + n]
        crc = struct.unpack(">I", data[pos + 8 + n : pos + 12 + n])[0]
        if zlib.crc32(kind + body) != crc:
            fail(f"{path}: bad CRC in chunk {kind!r}")
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
        pos += 12 + n
    if not ihdr:
        fail(f"{path}: no IHDR")
    width, height, bits, colour, _, _, interlace = ihdr
    if bits != 8 or colour not in (0, 2) or interlace:
        fail(f"{path}: only 8-bit grey or RGB without interlace is read here")
    ch = 3 if colour == 2 else 1
    raw = zlib.decompress(idat)
    stride = width * ch
    if len(raw) != (stride + 1) * height:
        fail(f"{path}: {len(raw)} bytes of pixel data, not {(stride + 1) * height}")
    out, prev = bytearray(), bytearray(stride)
    for y in range(height):
        f = raw[y * (stride + 1)]
        row = bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        if f > 4:
            fail(f"{path}: row {y}: unknown filter {f}")
        for i in range(stride if f else 0):
            a = row[i - ch] if i >= ch else 0
            b, c = prev[i], prev[i - ch] if i >= ch else 0
            row[i] = (row[i] + (0, a, b, (a + b) // 2, paeth(a, b, c))[f]) & 0xFF
        out += row if ch == 3 else bytes(v for v in row for _ in range(3))
        prev = row
    return Image(width, height, bytes(out))


def place(img_w, img_h, cx, cy, cw, ch):
    """The image's rectangle in a cell, as the viewer computes it."""
    s = min(cw / img_w, ch / img_h)
    w, h = math.floor(img_w * s), math.floor(img_h * s)
    return math.floor(cx + (cw - w) / 2), math.floor(cy + (ch - h) / 2), w, h


def compare(shot, img, rect, what):
    x0, y0, w, h = rect
    worst, total, n = 0, 0, 0
    for y in range(max(y0, OVERLAY_ROWS), y0 + h):
        sy = (y - y0) * img.height // h
        for x in range(x0, x0 + w):
            sx = (x - x0) * img.width // w
            a, b = shot.pixel(x, y), img.pixel(sx, sy)
            d = max(abs(a[0] - b[0]), abs(a[1] - b[1]), abs(a[2] - b[2]))
            if d > TOLERANCE:
                fail(f"{what}: window pixel ({x}, {y}) is {tuple(a)}, the image's "
                     f"({sx}, {sy}) {tuple(b)}")
            worst, total, n = max(worst, d), total + d, n + 1
    if n == 0:
        fail(f"{what}: nothing to compare in {rect}")
    if total / n > MEAN_TOLERANCE:
        fail(f"{what}: mean difference {total / n:.2f} > {MEAN_TOLERANCE}")
    return n, worst, total / n


def check_background(shot, rects):
    n = 0
    for y in range(OVERLAY_ROWS, shot.height):
        for x in range(shot.width):
            if any(rx <= x < rx + rw and ry <= y < ry + rh for rx, ry, rw, rh in rects):
                continue
            p = shot.pixel(x, y)
            if max(abs(v - BACKGROUND) for v in p) > 2:
                fail(f"window pixel ({x}, {y}) outside the images is {tuple(p)}, not the "
                     "background")
            n += 1
    return n


def check_overlay(shot):
    """The overlay: white text on black at the top left."""
    row = [shot.pixel(x, y) for y in range(2, 16) for x in range(0, 60)]
    white = sum(1 for p in row if min(p) > 240)
    black = sum(1 for p in row if max(p) < 15)
    if white < 20 or black < 20:
        fail(f"no overlay text at the top left ({white} white, {black} black pixels)")


def cmd_tiles(args):
    shot = read_xwd(args[0])
    imgs = [read_png(p) for p in args[1:]]
    cols = math.ceil(math.sqrt(len(imgs)))
    rows = math.ceil(len(imgs) / cols)
    cw, ch = shot.width / cols, shot.height / rows
    rects = []
    for i, img in enumerate(imgs):
        r = place(img.width, img.height, (i % cols) * cw, (i // cols) * ch, cw, ch)
        n, worst, mean = compare(shot, img, r, f"tile {i}")
        print(f"tile {i} at {r}: {n} pixels, max difference {worst}, mean {mean:.2f}")
        rects.append(r)
    print(f"background: {check_background(shot, rects)} pixels")
    check_overlay(shot)


def cmd_single(args):
    shot = read_xwd(args[0])
    k = int(args[1])
    img = read_png(args[1 + k])
    r = place(img.width, img.height, 0, 0, shot.width, shot.height)
    n, worst, mean = compare(shot, img, r, f"image {k}")
    print(f"image {k} alone at {r}: {n} pixels, max difference {worst}, mean {mean:.2f}")
    print(f"background: {check_background(shot, [r])} pixels")
    check_overlay(shot)


def cmd_png(args):
    for p in args:
        img = read_png(p)
        print(f"{p}: {img.width}x{img.height}")


def cmd_keys(args):
    shot = read_xwd(args[0])
    try:
        x11 = ctypes.CDLL("libX11.so.6")
        xtst = ctypes.CDLL("libXtst.so.6")
    except OSError as e:
        fail(f"no libX11 or libXtst: {e}")
    x11.XOpenDisplay.restype = ctypes.c_void_p
    x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
    x11.XStringToKeysym.restype = ctypes.c_ulong
    x11.XStringToKeysym.argtypes = [ctypes.c_char_p]
    x11.XKeysymToKeycode.restype = ctypes.c_ubyte
    x11.XKeysymToKeycode.argtypes = [ctypes.c_void_p, ctypes.c_ulong]
    x11.XFlush.argtypes = [ctypes.c_void_p]
    x11.XSync.argtypes = [ctypes.c_void_p, ctypes.c_int]
    x11.XCloseDisplay.argtypes = [ctypes.c_void_p]
    xtst.XTestFakeKeyEvent.argtypes = [ctypes.c_void_p, ctypes.c_uint, ctypes.c_int,
                                       ctypes.c_ulong]
    xtst.XTestFakeMotionEvent.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int,
                                          ctypes.c_int, ctypes.c_ulong]
    d = x11.XOpenDisplay(None)
    if not d:
        fail("cannot open the X display")
    # No window manager: the keyboard follows the pointer (PointerRoot).
    xtst.XTestFakeMotionEvent(d, -1, shot.x + shot.width // 2, shot.y + shot.height // 2, 0)
    for name in args[1:]:
        code = x11.XKeysymToKeycode(d, x11.XStringToKeysym(name.encode()))
        if not code:
            fail(f"no key code for {name}")
        xtst.XTestFakeKeyEvent(d, code, 1, 0)
        xtst.XTestFakeKeyEvent(d, code, 0, 0)
    x11.XSync(d, 0)
    x11.XCloseDisplay(d)


def main():
    cmds = {"tiles": cmd_tiles, "single": cmd_single, "png": cmd_png, "keys": cmd_keys}
    if len(sys.argv) < 3 or sys.argv[1] not in cmds:
        fail(__doc__.split("\n\n")[1])
    cmds[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    main()
