# SPDX-License-Identifier: MIT
"""The publisher side: slots of the pool as writable NumPy views.

``with pub.acquire() as slot:`` hands out a slot no subscriber holds; its
``images`` are writable arrays over the pool's memory, with the strides of
px_publisher_get_layout() (the allocator's, which may pad rows). Write every
image the frame carries, then ``slot.publish()``. Leaving the block without
publishing (or by an exception) cancels the slot.

After publish() or cancel() the slot belongs to the publisher again:
``slot.images`` raises, and the arrays handed out are made read-only, so a
late write raises ValueError instead of changing a frame subscribers read.
(Views derived from those arrays before that — slices, reshapes — cannot be
reached and stay writable: do not keep them past publish().) The pool stays
mapped while any such array lives, even after close().
"""

import ctypes
import weakref

import numpy as np

from . import _ffi
from ._ffi import Error, check
from ._layout import Layout, _Memory, as_layout, format_from_name


class AcquireTimeout(Error, TimeoutError):
    """No slot became free in time (reliable subscribers hold them)."""


class _PubHandle:
    """Owns the C publisher; destroyed by close() when no array of its pool
    lives, else when the last one goes (arrays hold this object)."""

    def __init__(self, ptr):
        self.ptr = ptr
        self.memories = weakref.WeakSet()

    def close(self):
        if not self.memories:
            self.destroy()

    def destroy(self):
        if self.ptr:
            ptr, self.ptr = self.ptr, None
            _ffi.px_publisher_destroy(ptr)

    def __del__(self):
        try:
            self.destroy()
        except Exception:  # interpreter shutdown
            pass


class Slot:
    """A slot acquired for writing. ``images``: one writable array per image
    (a tuple of plane arrays for planar formats; see PlaneGeometry for
    shapes); ``index``; publish(), cancel(), write_rgb()."""

    def __init__(self, pub, c_slot):
        self._pub = pub
        self._h = pub._h  # the slot works (cancel) even after pub.close()
        self._c = c_slot
        self.index = c_slot.contents.index
        self._images = None
        self._arrays = []

    def _live(self):
        if self._c is None or not self._h.ptr:
            raise ValueError("the slot was published or cancelled: it is the publisher's now")
        return self._c

    @property
    def images(self):
        c = self._live()
        if self._images is None:
            h = self._h
            out = []
            for i, il in enumerate(self._pub.layout.images):
                arrays = []
                for p, geom in enumerate(il.geometry):
                    addr = _ffi.px_slot_plane(c, i, p)
                    if not addr:
                        raise Error(19, f"image {i} plane {p}: the pool has no CPU mapping")
                    shape = None
                    if il.compressed:
                        shape = (self._pub.layout.buffer_sizes[geom.buffer] - geom.offset,)
                    mem = _Memory(addr, geom, False, h, shape)
                    h.memories.add(mem)
                    a = np.asarray(mem)
                    self._arrays.append(weakref.ref(a))
                    arrays.append(a)
                out.append(tuple(arrays) if il.planar else arrays[0])
            self._images = tuple(out)
        return self._images

    def write_rgb(self, i, pixels, bt709=False, full_range=False, order="rgb"):
        """COPIES `pixels` into image `i`, converting with px_image_write():
        a (height, width, 3) uint8 array, bytes R, G, B (order="bgr": B, G,
        R, as OpenCV's), or (height, width) uint8 grey, into the image's
        format (RGB formats, grey, YUYV, UYVY, NV12; BT.601 limited range
        unless told otherwise)."""
        c = self._live()
        il = self._pub.layout.images[i]
        a = np.asarray(pixels)
        if a.dtype != np.uint8 or a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] != 3):
            raise ValueError("write_rgb: a (height, width, 3) or (height, width) uint8 array")
        if a.shape[:2] != (il.height, il.width):
            raise ValueError(f"write_rgb: image {i} is {il.height}x{il.width} (h x w), "
                             f"the array {a.shape[0]}x{a.shape[1]}")
        if a.strides[-1] != 1 or (a.ndim == 3 and a.strides[1] != 3):
            a = np.ascontiguousarray(a)
        if a.ndim == 2:
            fmt = format_from_name("R8")
        else:
            fmt = _ffi.PX_FORMAT_RGB888 if order == "bgr" else _ffi.PX_FORMAT_BGR888
        src = _ffi.px_cpu_image(fmt, il.width, il.height)
        src.strides[0] = a.strides[0]
        src.planes[0] = a.ctypes.data
        planes = (ctypes.c_void_p * _ffi.PX_MAX_PLANES)()
        for p in range(len(il.planes)):
            planes[p] = _ffi.px_slot_plane(c, i, p)
        flags = (_ffi.PX_IMAGE_BT709 if bt709 else 0) | (
            _ffi.PX_IMAGE_FULL_RANGE if full_range else 0)
        check(_ffi.px_image_write(ctypes.byref(il._c), planes, ctypes.byref(src), flags),
              f"px_image_write of image {i} ({il.format})")

    def publish(self, timestamps=None, sequences=None, mask=0, sizes=None):
        """Publishes the slot. `timestamps`: capture time of each image in
        CLOCK_MONOTONIC ns (pixshare.now_ns()), a sequence or one int for
        all (None: now); `sequences`: each image's own frame counter;
        `mask`: which images are present (0: all); `sizes`: compressed
        images' bytes (MJPEG). Frames are numbered 1, 2, … in publish
        order."""
        c = self._live()
        info = None
        if timestamps is not None or sequences is not None or mask or sizes is not None:
            n = self._pub.layout.n_images
            info = _ffi.px_publish_info(valid_mask=mask)
            ts = timestamps
            if ts is None:
                ts = _ffi.px_now_ns()
            for i in range(n):
                info.images[i].timestamp_ns = ts if isinstance(ts, int) else ts[i]
                if sequences is not None:
                    info.images[i].sequence = sequences if isinstance(sequences, int) \
                        else sequences[i]
                if sizes is not None:
                    info.images[i].bytes = sizes[i]
            info = ctypes.byref(info)
        ret = _ffi.px_publisher_publish(self._h.ptr, c, info)
        self._end()
        check(ret, f"{self._pub.topic}: publish")

    def cancel(self):
        """Gives the slot back unpublished."""
        if self._c is not None:
            if self._h.ptr:
                _ffi.px_publisher_cancel(self._h.ptr, self._c)
            self._end()

    def _end(self):
        self._c = None
        self._images = None
        for ref in self._arrays:
            a = ref()
            if a is not None:
                a.flags.writeable = False
        self._arrays = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.cancel()


class Publisher:
    """Publishes image sets on a topic.

    ``layout``: a Layout, a (shape, format) pair for one image — shape
    (height, width), format a name such as "NV12" or "XRGB8888" — or a list
    of pairs for several. ``allocator``: "auto" (default), "memfd",
    "udmabuf", "dma-heap", "dumb", "gbm". The real layout, with the
    allocator's strides, is ``pub.layout``. ``min_pool_size``: an elastic
    pool, which starts with that many slots (at least 3), grows as
    subscribers join up to ``pool_size`` (its default: what
    ``max_subscribers`` need) and shrinks as they leave; ``pool_size`` is
    the size now. Not thread-safe.
    """

    def __init__(self, topic, layout, allocator="auto", *, pool_size=0, max_subscribers=0,
                 max_leases=0, dir=None, device=None, description=None, socket_mode=0,
                 min_pool_size=0):
        self.topic = topic
        want = as_layout(layout)
        alloc = ctypes.c_int()
        if _ffi.px_allocator_from_name(allocator.encode(), ctypes.byref(alloc)):
            raise ValueError(f"unknown allocator {allocator!r}")
        c_layout = _ffi.px_set_layout.from_buffer_copy(want._c)
        params = _ffi.px_publisher_params(
            topic=topic.encode(), dir=dir.encode() if dir else None,
            layout=ctypes.pointer(c_layout), allocator=alloc.value,
            device=device.encode() if device else None, pool_size=pool_size,
            max_subscribers=max_subscribers, max_leases=max_leases, socket_mode=socket_mode,
            description=description.encode() if description else None,
            min_pool_size=min_pool_size)
        ptr = ctypes.c_void_p()
        check(_ffi.px_publisher_create_sized(ctypes.sizeof(params), ctypes.byref(params),
                                             ctypes.byref(ptr)), f"publish {topic!r}")
        self._h = _PubHandle(ptr.value)
        self.layout = Layout(_ffi.px_publisher_get_layout(ptr.value).contents)

    def _ptr(self):
        if self._h is None:
            raise ValueError("publisher is closed")
        return self._h.ptr

    def acquire(self, timeout=1.0):
        """A free slot (use it as ``with pub.acquire() as slot:``). Waits up
        to `timeout` seconds (None: forever); raises AcquireTimeout."""
        ms = -1 if timeout is None else max(0, int(timeout * 1000 + 0.5))
        slot = ctypes.POINTER(_ffi.px_slot)()
        ret = _ffi.px_publisher_acquire(self._ptr(), ms, ctypes.byref(slot))
        if ret == -_ffi.EAGAIN:
            raise AcquireTimeout(-ret, f"{self.topic}: no free slot within {timeout} s")
        check(ret, f"{self.topic}: acquire")
        return Slot(self, slot)

    def dispatch(self, timeout=0):
        """Serves subscribers (connections, releases), waiting up to
        `timeout` seconds for work. Returns the events handled."""
        ms = -1 if timeout is None else max(0, int(timeout * 1000 + 0.5))
        return check(_ffi.px_publisher_dispatch(self._ptr(), ms), f"{self.topic}: dispatch")

    def fileno(self):
        """Readable when dispatch() has work."""
        return _ffi.px_publisher_get_fd(self._ptr())

    @property
    def allocator(self):
        return _ffi.px_allocator_name(_ffi.px_publisher_get_allocator(self._ptr())).decode()

    @property
    def dmabuf(self):
        return bool(_ffi.px_publisher_is_dmabuf(self._ptr()))

    @property
    def pool_size(self):
        return _ffi.px_publisher_get_pool_size(self._ptr())

    def stats(self):
        """The publisher's counters (px_publisher_stats) as a dict."""
        from .subscriber import _as_dict
        st = _ffi.px_publisher_stats()
        check(_ffi.px_publisher_get_stats_sized(ctypes.sizeof(st), self._ptr(),
                                                ctypes.byref(st)), "stats")
        return _as_dict(st)

    def subscribers(self):
        """What the publisher knows of each streaming subscriber
        (px_subscriber_info) as dicts: pid, name, qos, leases, pending,
        delivered, released, drops."""
        from .subscriber import _as_dict
        out = []
        while True:
            info = _ffi.px_subscriber_info()
            ret = _ffi.px_publisher_get_subscriber_sized(ctypes.sizeof(info), self._ptr(),
                                                         len(out), ctypes.byref(info))
            if ret:
                return out
            out.append(_as_dict(info))

    def close(self):
        """Ends the stream and removes the topic (once no array of a slot
        lives; see the module's documentation). Idempotent."""
        if self._h is not None:
            self._h.close()
            self._h = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass
