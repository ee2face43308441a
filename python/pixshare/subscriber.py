# SPDX-License-Identifier: MIT
"""The subscriber side: frames as read-only NumPy views of the shared pool.

Lifetime of a frame's memory (the lease)
----------------------------------------
A received frame is a lease on one slot of the publisher's pool: until it
is released the publisher does not write into that slot, so the pixels a
view shows are the frame's. NumPy cannot be told that memory went away, so
this module never lets a view outlive its lease: every array of
``frame.images`` holds the lease (through its ``base``), and the slot is
given back to the publisher when the frame is released **and** the last
array viewing it (or any slice or view of one) is gone — at once in
CPython, by reference counting.

- ``frame.release()`` (or leaving ``with frame:``) ends the frame: its
  ``images``, ``to_rgb()`` and friends raise ``FrameReleased`` from then on.
  Its metadata (sequence, timestamps, mask) are copies and stay readable.
- An array taken before the release stays valid and keeps showing the
  frame's pixels, because it keeps the lease. A kept array therefore costs
  a lease: the publisher grants a few (topic_info()["max_leases"], 2 by
  default), and when they are all kept ``receive()`` raises
  ``LeasesExhausted`` instead of waiting for a frame that cannot come. Keep
  pixels beyond the frame with an explicit copy (``np.array(a)``,
  ``frame.to_rgb()``).
- A closed subscriber stays connected, holding its pool mapped, while such
  arrays remain; it disconnects when the last one goes.

The alternative, invalidating views at release, is not possible without
copying: NumPy has no way to revoke an array's pointer, and unmapping or
remapping the pool under it would turn a stale read into a crash.
"""

import ctypes
import threading
import time
import weakref

import numpy as np

from . import _ffi
from ._ffi import Error, check
from ._layout import Layout, _Memory

_QOS = {"latest": _ffi.PX_QOS_LATEST, "queue": _ffi.PX_QOS_QUEUE,
        "reliable": _ffi.PX_QOS_RELIABLE}


class FrameReleased(RuntimeError):
    """A frame's pixels were used after frame.release()."""


class StreamEnded(EOFError):
    """The publisher ended the stream or died, and reconnection is off."""


class LeasesExhausted(Error):
    """Every lease the publisher granted is held (frames not released, or
    arrays of released frames still alive): no frame can arrive."""


def parse_qos(qos):
    """(px_qos, queue_depth) from "latest", "reliable" or "queue:N"."""
    if isinstance(qos, tuple):
        return qos
    name, _, depth = qos.partition(":")
    if name not in _QOS:
        raise ValueError(f"qos: {qos!r}: expected latest, reliable or queue:N")
    if name == "queue":
        if not depth.isdigit() or not 1 <= int(depth) <= _ffi.PX_MAX_SLOTS:
            raise ValueError(f"qos: {qos!r}: queue:N with N from 1 to {_ffi.PX_MAX_SLOTS}")
        return _QOS[name], int(depth)
    if depth:
        raise ValueError(f"qos: {qos!r}: only queue takes a depth")
    return _QOS[name], 0


def _ms(timeout):
    return -1 if timeout is None else max(0, int(timeout * 1000 + 0.5))


class _SubHandle:
    """Owns the C subscriber. Destroyed when closed and no lease is left.

    The C subscriber is not thread-safe, and a lease may end in any thread
    (wherever the last array is dropped): releases that find the subscriber
    busy in another thread are queued and done by the next call there."""

    def __init__(self, ptr):
        self.ptr = ptr
        self.lock = threading.Lock()
        self.leases = 0
        self.pending = []
        self.closed = False

    def release(self, frame_ptr):
        if self.lock.acquire(blocking=False):
            try:
                self._release(frame_ptr)
                self._drain()
            finally:
                self.lock.release()
        else:
            self.pending.append(frame_ptr)  # atomic under the GIL

    def _release(self, frame_ptr):
        _ffi.px_frame_release(frame_ptr)
        self.leases -= 1
        if self.closed and self.leases == 0:
            self._destroy()

    def _drain(self):
        # With the lock held.
        while self.pending:
            self._release(self.pending.pop())

    def _destroy(self):
        if self.ptr:
            ptr, self.ptr = self.ptr, None
            _ffi.px_subscriber_destroy(ptr)

    def close(self):
        with self.lock:
            self._drain()
            self.closed = True
            if self.leases == 0:
                self._destroy()

    def __del__(self):
        try:
            self._destroy()
        except Exception:  # interpreter shutdown
            pass


class _Lease:
    """One received frame, held from the library until this object dies.
    Referenced by the Frame until its release and by every array of it."""

    __slots__ = ("handle", "ptr", "__weakref__")

    def __init__(self, handle, ptr):
        self.handle = handle
        self.ptr = ptr

    def __del__(self):
        try:
            self.handle.release(self.ptr)
        except Exception:  # interpreter shutdown
            pass


class Frame:
    """A received set of images. Use it in ``with frame:`` (or call
    release()); see the module's documentation for what happens to arrays
    that outlive the frame.

    Attributes (copies, readable after release): ``sequence`` (the
    publisher's frame number, from 1), ``mask`` (bit i: image i present),
    ``timestamps`` (capture time of each image, CLOCK_MONOTONIC ns),
    ``image_sequences``, ``publish_ns``, ``receive_ns``, ``dropped_before``
    (frames the publisher dropped for this subscriber just before this one),
    ``replayed``, ``layout`` (Layout), ``slot``, ``dmabuf``.
    """

    __slots__ = ("_lease", "_lease_ref", "_images", "_info", "layout", "sequence", "mask",
                 "publish_ns", "receive_ns", "dropped_before", "replayed", "slot", "dmabuf",
                 "pool_id")

    def __init__(self, lease, layout):
        self._lease = lease
        self._lease_ref = None
        self._images = None
        c = _ffi.px_frame.from_buffer_copy(lease.ptr.contents)  # a snapshot of the metadata
        self._info = c.images
        self.layout = layout
        self.sequence = c.seq
        self.mask = c.valid_mask
        self.publish_ns = c.publish_ns
        self.receive_ns = c.receive_ns
        self.dropped_before = c.dropped_before
        self.replayed = c.replayed
        self.slot = c.slot
        self.dmabuf = c.dmabuf
        self.pool_id = c.pool_id

    @property
    def timestamps(self):
        return tuple(self._info[i].timestamp_ns for i in range(self.layout.n_images))

    @property
    def image_sequences(self):
        return tuple(self._info[i].sequence for i in range(self.layout.n_images))

    def _live(self):
        lease = self._lease
        if lease is None:
            raise FrameReleased(f"frame {self.sequence} was released: its pixels may have been "
                                "reused (copy what you keep before releasing)")
        return lease

    @property
    def images(self):
        """One read-only array per image, viewing the shared buffer (no
        copy); a tuple of plane arrays for planar formats (NV12: Y, UV);
        None for an image the frame does not carry (mask). Raises
        FrameReleased after release()."""
        lease = self._live()
        if self._images is None:
            self._images = tuple(self._image(lease, i) for i in range(self.layout.n_images))
        return self._images

    def _image(self, lease, i):
        if not self.mask >> i & 1:
            return None
        il = self.layout.images[i]
        arrays = []
        for p, geom in enumerate(il.geometry):
            addr = _ffi.px_frame_plane(lease.ptr, i, p)
            if not addr:
                raise Error(19, f"image {i} plane {p}: the frames of this topic have no CPU "
                            "mapping here (device memory): import them on a GPU")
            shape = (self._info[i].bytes,) if il.compressed else None
            arrays.append(np.asarray(_Memory(addr, geom, True, lease, shape)))
        return tuple(arrays) if il.planar else arrays[0]

    def plane_address(self, image, plane=0):
        """The C library's address of a plane (px_frame_plane()), for
        checking that arrays view it."""
        return _ffi.px_frame_plane(self._live().ptr, image, plane)

    def _read(self, i, fourcc, channels, bt709, full_range):
        lease = self._live()
        il = self.layout.images[i]
        out = np.empty((il.height, il.width, channels) if channels > 1
                       else (il.height, il.width), np.uint8)
        planes = (ctypes.c_void_p * _ffi.PX_MAX_PLANES)()
        for p in range(len(il.planes)):
            planes[p] = _ffi.px_frame_plane(lease.ptr, i, p)
        dst = _ffi.px_cpu_image(fourcc, il.width, il.height)
        dst.planes[0] = out.ctypes.data
        flags = (_ffi.PX_IMAGE_BT709 if bt709 else 0) | (
            _ffi.PX_IMAGE_FULL_RANGE if full_range else 0)
        check(_ffi.px_image_read(ctypes.byref(il._c), planes, ctypes.byref(dst), flags),
              f"px_image_read of image {i} ({il.format})")
        return out

    def to_rgb(self, i=0, bt709=False, full_range=False):
        """A COPY of image `i` as a new (height, width, 3) uint8 array, bytes
        R, G, B, converted by px_image_read(): from YUV (YUYV, UYVY, NV12;
        BT.601 limited range unless told otherwise), RGB or grey. P010 and
        MJPEG are not converted (Error ENOTSUP). The copy is independent of
        the frame and may be kept after release."""
        return self._read(i, _ffi.PX_FORMAT_BGR888, 3, bt709, full_range)

    def to_bgr(self, i=0, bt709=False, full_range=False):
        """As to_rgb(), bytes B, G, R (OpenCV's order): a COPY."""
        return self._read(i, _ffi.PX_FORMAT_RGB888, 3, bt709, full_range)

    def to_gray(self, i=0, bt709=False, full_range=False):
        """A COPY of image `i` as (height, width) uint8 luma (px_image_read()
        to R8)."""
        return self._read(i, _ffi.fourcc("R8  "), 1, bt709, full_range)

    def release(self):
        """Ends the frame. The slot goes back to the publisher now, or when
        the last array taken from ``images`` is gone. Idempotent."""
        lease = self._lease
        if lease is not None:
            self._lease_ref = weakref.ref(lease)
            self._lease = None
            self._images = None

    @property
    def released(self):
        return self._lease is None

    @property
    def lease_held(self):
        """Whether the slot is still held: before release(), or after it
        while arrays of this frame are alive."""
        return self._lease is not None or (self._lease_ref is not None
                                           and self._lease_ref() is not None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release()

    def __repr__(self):
        state = "released" if self._lease is None else "held"
        return f"<Frame {self.sequence} {state} {self.layout!r}>"


class Subscriber:
    """Subscribes to a topic.

    ``qos``: "latest" (default: the newest frame, older ones dropped),
    "queue:N" (up to N undelivered frames), or "reliable" (none dropped: the
    publisher waits for this subscriber). ``timeout``: how long receive()
    and iteration wait for a frame, in seconds (None: forever).
    ``connect_timeout``: how long to wait for the topic to appear.
    ``reconnect``: when the publisher goes away, wait for a new one of the
    topic (True) or end the stream (False, the default: receive() raises
    StreamEnded and iteration stops). ``max_leases``: frames held at once
    (0: the publisher's limit). ``spin_us``: busy-poll budget in µs for
    a steady stream (0, the default: none; px_subscriber_params.spin_us):
    receive() polls from spin_us before the next frame is due to spin_us
    after, trading CPU for the wake-up's delay; counted in stats().

    Iteration yields frames; each is released when the loop advances (and
    when it ends), unless arrays of it are still alive. Not thread-safe: use
    a subscriber from one thread at a time (arrays may go anywhere).
    """

    def __init__(self, topic, qos="latest", timeout=None, *, connect_timeout=2.0,
                 reconnect=False, max_leases=0, name=None, dir=None, spin_us=0):
        q, depth = parse_qos(qos)
        self.topic = topic
        self.timeout = timeout
        self._params = _ffi.px_subscriber_params(
            topic=topic.encode(), dir=dir.encode() if dir else None, qos=q, queue_depth=depth,
            max_leases=max_leases, flags=0 if reconnect else _ffi.PX_SUBSCRIBER_NO_RECONNECT,
            connect_timeout_ms=_ms(connect_timeout), name=name.encode() if name else None,
            spin_us=spin_us)
        ptr = ctypes.c_void_p()
        check(_ffi.px_subscriber_create_sized(ctypes.sizeof(self._params),
                                              ctypes.byref(self._params), ctypes.byref(ptr)),
              f"subscribe to {topic!r}")
        self._h = _SubHandle(ptr.value)
        self._layouts = {}
        self._max_leases = None

    def _handle(self):
        if self._h is None or self._h.closed:
            raise ValueError("subscriber is closed")
        return self._h

    def _limit(self):
        info = _ffi.px_topic_info()
        if _ffi.px_subscriber_get_topic_info_sized(ctypes.sizeof(info), self._h.ptr,
                                                   ctypes.byref(info)) == 0:
            self._max_leases = info.max_leases
        return self._max_leases

    def receive(self, timeout=...):
        """The next frame, or None if none came within `timeout` seconds
        (default: the subscriber's; None: wait forever). Raises StreamEnded
        when the stream ended (no reconnection), LeasesExhausted when every
        lease is held so that no frame can come."""
        h = self._handle()
        if timeout is ...:
            timeout = self.timeout
        frame_p = ctypes.POINTER(_ffi.px_frame)()
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            with h.lock:
                h._drain()
                if h.leases and self._max_leases is not None and h.leases >= self._max_leases \
                        and h.leases >= self._limit():
                    raise LeasesExhausted(
                        16, f"{self.topic}: all {h.leases} leases are held by frames not "
                        "released or by arrays of released frames that are still alive; "
                        "release frames and copy the pixels you keep (np.array(a))")
                left = None if deadline is None else max(0.0, deadline - time.monotonic())
                ret = _ffi.px_subscriber_receive(h.ptr, ctypes.byref(frame_p), _ms(left))
                if ret == 0:
                    h.leases += 1
            # A signal: its Python handler runs here (KeyboardInterrupt
            # propagates); otherwise wait on.
            if ret != -_ffi.EINTR:
                break
        if ret == -_ffi.ETIMEDOUT:
            return None
        if ret == -_ffi.EPIPE:
            raise StreamEnded(f"{self.topic}: the publisher went away")
        check(ret, f"{self.topic}: receive")
        lease = _Lease(h, frame_p)
        c = frame_p.contents
        layout = self._layouts.get(c.pool_id)
        if layout is None:
            layout = Layout(c.layout.contents)
            self._layouts = {c.pool_id: layout}
            self._limit()
        return Frame(lease, layout)

    def __iter__(self):
        frame = None
        try:
            while True:
                if frame is not None:
                    frame.release()
                    frame = None
                try:
                    frame = self.receive()
                except StreamEnded:
                    return
                if frame is None:
                    raise TimeoutError(f"{self.topic}: no frame within {self.timeout} s")
                yield frame
        finally:
            if frame is not None:
                frame.release()

    def fileno(self):
        """An fd that is readable when receive(timeout=0) may have work
        (selectors; asyncio: ``loop.add_reader(sub.fileno(), cb)`` where cb
        calls receive(timeout=0) until it gives None). Owned by the
        subscriber: do not close it."""
        return _ffi.px_subscriber_get_fd(self._handle().ptr)

    @property
    def connected(self):
        return bool(_ffi.px_subscriber_is_connected(self._handle().ptr))

    @property
    def leases(self):
        """Frames this subscriber holds from the publisher now, those kept
        by arrays of released frames included."""
        return self._h.leases if self._h else 0

    def topic_info(self):
        """What the subscriber knows of its publisher (px_topic_info) as a
        dict; raises Error(ENOTCONN) while disconnected."""
        info = _ffi.px_topic_info()
        with self._handle().lock:
            check(_ffi.px_subscriber_get_topic_info_sized(ctypes.sizeof(info), self._h.ptr,
                                                          ctypes.byref(info)), "topic info")
        return _as_dict(info)

    def stats(self):
        """The subscriber's counters (px_subscriber_stats) as a dict."""
        st = _ffi.px_subscriber_stats()
        with self._handle().lock:
            check(_ffi.px_subscriber_get_stats_sized(ctypes.sizeof(st), self._h.ptr,
                                                     ctypes.byref(st)), "stats")
        return _as_dict(st)

    def close(self):
        """Disconnects, once arrays of its frames are gone (see the module's
        documentation). Idempotent."""
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


def _as_dict(st):
    out = {}
    for name, _ in st._fields_:
        v = getattr(st, name)
        if isinstance(v, bytes):
            v = v.decode(errors="replace")
        elif isinstance(v, ctypes.Array):
            v = bytes(v)
        out[name] = v
    return out
