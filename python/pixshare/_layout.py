# SPDX-License-Identifier: MIT
"""Formats, set layouts, and the NumPy view of an image's planes."""

import ctypes

from . import _ffi
from ._ffi import Error, check

# Formats whose samples are 16-bit little-endian words; every other format
# is bytes. The rest of an array's geometry comes from px_format_get_info():
# channels = bytes per pixel / sample size, where bytes per pixel is
# cpp / block_w (YUYV: 4 bytes per 2 pixels, so 2 channels: Y and U or V).
_WORD_FORMATS = {_ffi.fourcc("R16 "), _ffi.fourcc("P010")}


def format_from_name(name):
    """The fourcc of a format name ("NV12", "XRGB8888", "GRAY8", "RGB", a raw
    fourcc such as "XR24"; see px_format_from_name()), or the int given."""
    if isinstance(name, int):
        return name
    out = ctypes.c_uint32()
    if _ffi.px_format_from_name(name.encode(), ctypes.byref(out)):
        raise ValueError(f"unknown pixel format {name!r}")
    return out.value


def format_name(fourcc):
    """The name of a fourcc, e.g. "NV12" (or "0x…" for an unknown one)."""
    buf = ctypes.create_string_buffer(32)
    return _ffi.px_format_name(fourcc, buf, len(buf)).decode()


def formats():
    """The names of the supported pixel formats (px_format_list(): MJPEG,
    which has no pixels, is not listed)."""
    n = _ffi.px_format_list(None, 0)
    arr = (ctypes.c_uint32 * n)()
    _ffi.px_format_list(arr, n)
    return [format_name(f) for f in arr]


class PlaneGeometry:
    """How one plane looks as a NumPy array: shape, strides (bytes), typestr.

    The shape is (rows, width, channels), or (rows, width) for one channel,
    where width is the row's bytes divided by the bytes of a pixel:
    XRGB8888 (h, w, 4) uint8 in memory order (B, G, R, X); RGB888 (h, w, 3)
    (B, G, R); R8 (h, w) uint8; R16 (h, w) uint16; YUYV and UYVY (h, w', 2)
    uint8, w' = w rounded up to even (OpenCV's layout for COLOR_YUV2*_YUYV);
    NV12 planes (h, w) and (⌈h/2⌉, ⌈w/2⌉, 2) uint8; P010 the same in uint16.
    MJPEG: one dimension, the frame's bytes. Strides are the layout's.
    """

    __slots__ = ("shape", "strides", "typestr", "offset", "buffer", "rows", "row_bytes")

    def __init__(self, image_layout, plane):
        il = image_layout
        info = _ffi.px_format_get_info(il.fourcc)
        p = il.planes[plane]
        self.offset = p.offset
        self.buffer = p.buffer
        self.rows = _ffi.px_image_plane_rows(ctypes.byref(il), plane)
        self.row_bytes = _ffi.px_image_row_bytes(ctypes.byref(il), plane)
        if not info:
            # A format this package does not know: its rows as bytes.
            self.typestr, self.shape, self.strides = "|u1", (self.rows, self.row_bytes), (p.stride, 1)
            return
        info = info.contents
        if info.compressed:
            # The shape is per frame (px_image_info.bytes): set by the caller.
            self.typestr, self.shape, self.strides = "|u1", (0,), (1,)
            return
        word = 2 if il.fourcc in _WORD_FORMATS else 1
        self.typestr = "<u2" if word == 2 else "|u1"
        cpp, block_w = info.cpp[plane], info.block_w[plane]
        pixel_bytes = cpp // block_w if cpp % block_w == 0 else cpp
        channels = pixel_bytes // word
        width = self.row_bytes // pixel_bytes
        if channels == 1:
            self.shape, self.strides = (self.rows, width), (p.stride, word)
        else:
            self.shape = (self.rows, width, channels)
            self.strides = (p.stride, pixel_bytes, word)


class ImageLayout:
    """One image of a set layout (a copy of px_image_layout): ``fourcc``,
    ``format`` (its name), ``width``, ``height``, ``modifier``, and
    ``planes``: (buffer, offset, stride) per plane."""

    def __init__(self, c_image):
        self._c = _ffi.px_image_layout.from_buffer_copy(c_image)
        self.fourcc = c_image.fourcc
        self.format = format_name(c_image.fourcc)
        self.width = c_image.width
        self.height = c_image.height
        self.modifier = c_image.modifier
        self.planes = tuple((c_image.planes[p].buffer, c_image.planes[p].offset,
                             c_image.planes[p].stride) for p in range(c_image.n_planes))
        self.geometry = tuple(PlaneGeometry(self._c, p) for p in range(c_image.n_planes))
        info = _ffi.px_format_get_info(c_image.fourcc)
        self.compressed = bool(info and info.contents.compressed)

    @property
    def planar(self):
        """True for formats of more than one plane (NV12, P010): their
        arrays come as a tuple, one per plane."""
        return len(self.planes) > 1

    def __repr__(self):
        return f"<ImageLayout {self.format} {self.width}x{self.height} planes={self.planes}>"


class Layout:
    """A set layout (px_set_layout): N images and the buffers they lie in.

    Make one with Layout.packed(), or pass (shape, format) pairs where one is
    taken (Publisher). ``images`` lists ImageLayout; ``n_buffers`` and
    ``buffer_sizes`` describe the buffers."""

    def __init__(self, c_layout):
        self._c = _ffi.px_set_layout.from_buffer_copy(c_layout)
        self.images = tuple(ImageLayout(self._c.images[i]) for i in range(self._c.n_images))
        self.n_buffers = self._c.n_buffers
        self.buffer_sizes = tuple(self._c.buffer_sizes[b] for b in range(self.n_buffers))

    @classmethod
    def packed(cls, images, row_align=64, batch=False):
        """A linear packed layout (px_layout_init_packed()). `images`: a
        list of (shape, format) where shape is (height, width) and format a
        name or fourcc, e.g. [((800, 1280), "YUYV")] * 6. Rows are aligned
        to `row_align` bytes; `batch` puts every image in one buffer."""
        images = list(images)
        descs = (_ffi.px_image_desc * max(1, len(images)))()
        for i, (shape, fmt) in enumerate(images):
            h, w = shape[0], shape[1]
            descs[i] = _ffi.px_image_desc(format_from_name(fmt), w, h)
        c = _ffi.px_set_layout()
        check(_ffi.px_layout_init_packed(ctypes.byref(c), len(images), descs, row_align,
                                         _ffi.PX_PACK_BATCH if batch else _ffi.PX_PACK_PER_IMAGE),
              "px_layout_init_packed")
        return cls(c)

    @property
    def n_images(self):
        return len(self.images)

    def __eq__(self, other):
        return isinstance(other, Layout) and bytes(self._c) == bytes(other._c)

    def __repr__(self):
        return "<Layout " + ", ".join(f"{i.format} {i.width}x{i.height}"
                                      for i in self.images) + ">"


def as_layout(spec):
    """A Layout from a Layout, a (shape, format) pair, or a list of pairs."""
    if isinstance(spec, Layout):
        return spec
    if (isinstance(spec, tuple) and len(spec) == 2 and isinstance(spec[1], (str, int))
            and not isinstance(spec[0], (str, int))):
        return Layout.packed([spec])
    return Layout.packed(spec)


class _Memory:
    """The owner of one NumPy view: holds what keeps its memory mapped and
    valid (`keep`: a frame's lease or a publisher's handle) for as long as
    any array viewing it lives, since NumPy keeps its base alive."""

    __slots__ = ("__array_interface__", "keep", "__weakref__")

    def __init__(self, address, geometry, readonly, keep, shape=None):
        self.__array_interface__ = {
            "version": 3, "data": (address, readonly), "typestr": geometry.typestr,
            "shape": shape or geometry.shape, "strides": geometry.strides,
        }
        self.keep = keep


__all__ = ["Layout", "ImageLayout", "PlaneGeometry", "format_from_name", "format_name",
           "formats", "Error"]
