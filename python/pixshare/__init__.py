# SPDX-License-Identifier: MIT
"""pixshare for Python: zero-copy camera-frame sharing with NumPy views.

A binding of libpixshare (ctypes), not a second implementation of its
protocol. Subscribers get each image as a read-only NumPy array viewing the
publisher's shared buffer; publishers write into slots through writable
arrays. Conversions are explicit copies (Frame.to_rgb(), Slot.write_rgb()).

    import pixshare
    with pixshare.Subscriber("cams", qos="latest", timeout=1.0) as sub:
        for frame in sub:                 # released when the loop advances
            y = frame.images[0]           # read-only view, no copy
            print(frame.sequence, y.mean())

    pub = pixshare.Publisher("cams", ((480, 640), "NV12"))
    with pub.acquire() as slot:
        y, uv = slot.images[0]            # planar formats: one array per plane
        y[:] = 128; uv[:] = 128
        slot.publish()

The library is found through PIXSHARE_LIBRARY (the path of libpixshare.so),
else where `cmake --install` put it, else <checkout>/build/, else the
dynamic loader's path. See subscriber.py for the lifetime of frames and of
arrays that outlive them.
"""

from . import _ffi
from ._ffi import Error
from ._layout import ImageLayout, Layout, PlaneGeometry, format_from_name, format_name, formats
from .publisher import AcquireTimeout, Publisher, Slot
from .subscriber import Frame, FrameReleased, LeasesExhausted, StreamEnded, Subscriber

library_path = _ffi.library_path
MAX_IMAGES = _ffi.PX_MAX_IMAGES


def version():
    """The C library's version, "major.minor.micro"."""
    return _ffi.px_version().decode()


def now_ns():
    """CLOCK_MONOTONIC in ns: the clock of every pixshare timestamp."""
    return _ffi.px_now_ns()


__all__ = ["Publisher", "Slot", "Subscriber", "Frame", "Layout", "ImageLayout",
           "PlaneGeometry", "Error", "AcquireTimeout", "FrameReleased", "LeasesExhausted",
           "StreamEnded", "formats", "format_name", "format_from_name", "version", "now_ns",
           "library_path", "MAX_IMAGES"]
