# SPDX-License-Identifier: MIT
"""ctypes declarations of libpixshare: the structs of include/pixshare/*.h
and the prototypes of the functions the package calls.

Every struct here mirrors its C declaration field for field; the test
python/tests/test_abi.py compares sizes, alignments and every field's offset
and size with tests/contract/abi-table.h, so a header change that this file
does not follow fails a test instead of corrupting memory.

Functions that take an extensible struct (params, stats, info) are called
through their exported ``px_x_sized`` symbol with ``ctypes.sizeof`` of the
struct declared here, as common.h asks of bindings: the library reads and
writes only that many bytes, so this module stays correct against a newer
library that added fields.

Where the library is found (first match wins):
1. the environment variable PIXSHARE_LIBRARY: the path of libpixshare.so;
2. the path recorded at installation (pixshare/_config.py, written by
   ``cmake --install``);
3. a build tree next to the package's source tree: <checkout>/build/;
4. the dynamic loader's search (LD_LIBRARY_PATH, ldconfig) for the SONAME.
"""

import ctypes
import errno as _errno
import os

from ctypes import (POINTER, Structure, c_bool, c_char, c_char_p, c_double, c_int, c_int32,
                    c_size_t, c_uint8, c_uint32, c_uint64, c_void_p)

PX_MAX_IMAGES = 16
PX_MAX_PLANES = 4
PX_MAX_BUFFERS = PX_MAX_IMAGES * PX_MAX_PLANES
PX_MAX_SLOTS = 64
PX_MAX_LEASES = 16
PX_MAX_SUBSCRIBERS = 64
PX_TOPIC_MAX = 64

# The SONAME of the release this binding was written for (common.h: while
# the major version is 0 it is libpixshare.so.0.MINOR).
SONAME = "libpixshare.so.0.2"

# enum px_qos
PX_QOS_LATEST = 0
PX_QOS_QUEUE = 1
PX_QOS_RELIABLE = 2

# enum px_allocator_type
PX_ALLOCATOR_AUTO = 0
PX_ALLOCATOR_EXTERNAL = 6

PX_SUBSCRIBER_NO_RECONNECT = 1 << 0

PX_PACK_PER_IMAGE = 0
PX_PACK_BATCH = 1

PX_IMAGE_BT709 = 1 << 0
PX_IMAGE_FULL_RANGE = 1 << 1

PX_MODIFIER_LINEAR = 0
PX_MODIFIER_INVALID = 0x00FFFFFFFFFFFFFF


def fourcc(code):
    """The DRM fourcc of a four-character string, e.g. fourcc("NV12")."""
    b = code.encode("ascii")
    if len(b) != 4:
        raise ValueError(f"a fourcc has 4 characters: {code!r}")
    return b[0] | b[1] << 8 | b[2] << 16 | b[3] << 24


PX_FORMAT_BGR888 = fourcc("BG24")  # bytes R, G, B
PX_FORMAT_RGB888 = fourcc("RG24")  # bytes B, G, R
PX_FORMAT_MJPEG = fourcc("MJPG")


# --- layout.h -------------------------------------------------------------

class px_plane(Structure):
    _fields_ = [("buffer", c_uint32), ("stride", c_uint32), ("offset", c_uint64)]


class px_image_layout(Structure):
    _fields_ = [("fourcc", c_uint32), ("width", c_uint32), ("height", c_uint32),
                ("n_planes", c_uint32), ("modifier", c_uint64),
                ("planes", px_plane * PX_MAX_PLANES)]


class px_set_layout(Structure):
    _fields_ = [("n_images", c_uint32), ("n_buffers", c_uint32),
                ("buffer_sizes", c_uint64 * PX_MAX_BUFFERS),
                ("images", px_image_layout * PX_MAX_IMAGES)]


class px_format_info(Structure):
    _fields_ = [("fourcc", c_uint32), ("name", c_char_p), ("n_planes", c_uint32),
                ("cpp", c_uint32 * PX_MAX_PLANES), ("block_w", c_uint32 * PX_MAX_PLANES),
                ("hsub", c_uint32), ("vsub", c_uint32), ("is_yuv", c_bool),
                ("compressed", c_bool)]


class px_image_desc(Structure):
    _fields_ = [("fourcc", c_uint32), ("width", c_uint32), ("height", c_uint32)]


# --- publisher.h ----------------------------------------------------------

class px_buffer(Structure):
    _fields_ = [("fd", c_int), ("size", c_uint64), ("data", c_void_p)]


class px_slot(Structure):
    _fields_ = [("index", c_uint32), ("n_buffers", c_uint32), ("buffers", POINTER(px_buffer)),
                ("layout", POINTER(px_set_layout))]


class px_image_info(Structure):
    _fields_ = [("timestamp_ns", c_uint64), ("sequence", c_uint64), ("bytes", c_uint64)]


class px_publish_info(Structure):
    _fields_ = [("valid_mask", c_uint32), ("flags", c_uint32),
                ("images", px_image_info * PX_MAX_IMAGES)]


class px_publisher_params(Structure):  # extensible
    _fields_ = [("topic", c_char_p), ("dir", c_char_p), ("layout", POINTER(px_set_layout)),
                ("allocator", c_int), ("device", c_char_p), ("pool_size", c_uint32),
                ("max_subscribers", c_uint32), ("max_leases", c_uint32),
                ("socket_mode", c_uint32),  # mode_t
                ("description", c_char_p),
                ("external", c_void_p),  # const struct px_external_pool *: not used here
                ("allow_uids", POINTER(c_uint32)), ("n_allow_uids", c_uint32),
                ("allow_gids", POINTER(c_uint32)), ("n_allow_gids", c_uint32),
                ("release_timeout_ms", c_uint32), ("stall_policy", c_int),
                ("handshake_timeout_ms", c_uint32), ("writable_dmabufs", c_bool),
                ("min_pool_size", c_uint32)]


class px_publisher_stats(Structure):  # extensible
    _fields_ = [("published", c_uint64), ("acquire_waits", c_uint64),
                ("acquire_timeouts", c_uint64), ("n_subscribers", c_uint32),
                ("subscribers_total", c_uint64), ("refused", c_uint64),
                ("protocol_errors", c_uint64), ("free_slots", c_uint32), ("rate_hz", c_double),
                ("stalled", c_uint64), ("pool_size", c_uint32), ("pool_grows", c_uint64),
                ("pool_shrinks", c_uint64)]


class px_subscriber_info(Structure):  # extensible
    _fields_ = [("id", c_uint64), ("pid", c_int32), ("name", c_char * 32), ("qos", c_int),
                ("queue_depth", c_uint32), ("max_leases", c_uint32), ("leases", c_uint32),
                ("pending", c_uint32), ("delivered", c_uint64), ("released", c_uint64),
                ("dropped_replaced", c_uint64), ("dropped_queue", c_uint64)]


# --- subscriber.h ---------------------------------------------------------

class px_frame_buffer(Structure):
    _fields_ = [("fd", c_int), ("size", c_uint64), ("data", c_void_p)]


class px_frame(Structure):
    # Made by the library only and read through its pointer (it may grow at
    # its end); declared whole so that the ABI test pins every field.
    _fields_ = [("layout", POINTER(px_set_layout)), ("slot", c_uint32), ("n_buffers", c_uint32),
                ("buffers", POINTER(px_frame_buffer)), ("seq", c_uint64),
                ("publish_ns", c_uint64), ("receive_ns", c_uint64), ("valid_mask", c_uint32),
                ("acquire_fence", c_int), ("dropped_before", c_uint32), ("replayed", c_bool),
                ("images", px_image_info * PX_MAX_IMAGES), ("pool_id", c_uint64),
                ("device", c_uint64), ("dmabuf", c_bool), ("vulkan", c_void_p),
                ("priv", c_void_p)]


class px_subscriber_params(Structure):  # extensible
    _fields_ = [("topic", c_char_p), ("dir", c_char_p), ("qos", c_int),
                ("queue_depth", c_uint32), ("max_leases", c_uint32), ("flags", c_uint32),
                ("connect_timeout_ms", c_int), ("name", c_char_p),
                ("on_frame", c_void_p), ("on_event", c_void_p),  # callbacks: not used here
                ("userdata", c_void_p), ("publisher_uid", c_uint32),
                ("handshake_timeout_ms", c_uint32), ("spin_us", c_uint32)]


class px_topic_info(Structure):  # extensible
    _fields_ = [("publisher_pid", c_int32), ("allocator", c_int), ("dmabuf", c_bool),
                ("device", c_uint64), ("pool_size", c_uint32), ("max_leases", c_uint32),
                ("vulkan_export", c_bool), ("vulkan_device_uuid", c_uint8 * 16),
                ("vulkan_driver_uuid", c_uint8 * 16), ("unmapped", c_bool),
                ("description", c_char * 64), ("read_only", c_bool)]


class px_subscriber_stats(Structure):  # extensible
    _fields_ = [("received", c_uint64), ("delivered", c_uint64), ("released", c_uint64),
                ("dropped_publisher", c_uint64), ("dropped_superseded", c_uint64),
                ("connects", c_uint64), ("disconnects", c_uint64),
                ("ended_cleanly", c_uint64), ("held", c_uint32), ("copies", c_uint64),
                ("copy_bytes", c_uint64), ("fence_waits", c_uint64), ("replayed", c_uint64),
                ("latency_last_ns", c_uint64), ("latency_max_ns", c_uint64),
                ("latency_sum_ns", c_uint64), ("imported_dmabuf", c_uint64),
                ("imported_host_memory", c_uint64), ("imported_upload", c_uint64),
                ("imported_opaque_fd", c_uint64), ("last_import_path", c_int),
                ("pool_grows", c_uint64), ("pool_shrinks", c_uint64),
                ("spin_caught", c_uint64), ("spin_missed", c_uint64), ("spin_ns", c_uint64)]


# --- image.h --------------------------------------------------------------

class px_cpu_image(Structure):
    _fields_ = [("fourcc", c_uint32), ("width", c_uint32), ("height", c_uint32),
                ("strides", c_uint32 * PX_MAX_PLANES), ("planes", c_void_p * PX_MAX_PLANES)]


# Every struct declared here, by its C name (the ABI test walks this).
STRUCTS = {cls.__name__: cls for cls in (
    px_plane, px_image_layout, px_set_layout, px_format_info, px_image_desc, px_buffer,
    px_slot, px_image_info, px_publish_info, px_publisher_params, px_publisher_stats,
    px_subscriber_info, px_frame_buffer, px_frame, px_subscriber_params, px_topic_info,
    px_subscriber_stats, px_cpu_image)}


# --- the library ----------------------------------------------------------

def _candidates():
    env = os.environ.get("PIXSHARE_LIBRARY")
    if env:
        # An explicit choice is used or fails: never replaced silently.
        return [env], True
    found = []
    try:
        from . import _config  # written by cmake --install
        found.append(_config.library)
    except ImportError:
        pass
    here = os.path.dirname(os.path.abspath(__file__))
    checkout = os.path.dirname(os.path.dirname(here))
    found.append(os.path.join(checkout, "build", SONAME))
    found.append(SONAME)
    return found, False


def _load():
    paths, explicit = _candidates()
    errors = []
    for path in paths:
        if os.sep in path and not os.path.exists(path) and not explicit:
            continue
        try:
            return ctypes.CDLL(path, use_errno=True), path
        except OSError as e:
            errors.append(f"{path}: {e}")
            if explicit:
                break
    raise ImportError("pixshare: cannot load libpixshare (set PIXSHARE_LIBRARY to the path "
                      "of libpixshare.so, e.g. build/libpixshare.so): " + "; ".join(errors))


lib, library_path = _load()


def _fn(name, restype, *argtypes):
    f = getattr(lib, name)
    f.restype = restype
    f.argtypes = list(argtypes)
    return f


_P = POINTER
px_version = _fn("px_version", c_char_p)
px_strerror = _fn("px_strerror", c_char_p, c_int)
px_now_ns = _fn("px_now_ns", c_uint64)

px_format_get_info = _fn("px_format_get_info", _P(px_format_info), c_uint32)
px_format_name = _fn("px_format_name", c_char_p, c_uint32, c_char_p, c_size_t)
px_format_from_name = _fn("px_format_from_name", c_int, c_char_p, _P(c_uint32))
px_format_list = _fn("px_format_list", c_size_t, _P(c_uint32), c_size_t)
px_layout_init_packed = _fn("px_layout_init_packed", c_int, _P(px_set_layout), c_uint32,
                            _P(px_image_desc), c_uint32, c_int)
px_layout_validate = _fn("px_layout_validate", c_int, _P(px_set_layout), c_char_p, c_size_t)
px_image_row_bytes = _fn("px_image_row_bytes", c_uint64, _P(px_image_layout), c_uint32)
px_image_plane_rows = _fn("px_image_plane_rows", c_uint32, _P(px_image_layout), c_uint32)
px_allocator_name = _fn("px_allocator_name", c_char_p, c_int)
px_allocator_from_name = _fn("px_allocator_from_name", c_int, c_char_p, _P(c_int))

px_publisher_create_sized = _fn("px_publisher_create_sized", c_int, c_size_t,
                                _P(px_publisher_params), _P(c_void_p))
px_publisher_destroy = _fn("px_publisher_destroy", None, c_void_p)
px_publisher_get_layout = _fn("px_publisher_get_layout", _P(px_set_layout), c_void_p)
px_publisher_get_pool_size = _fn("px_publisher_get_pool_size", c_uint32, c_void_p)
px_publisher_get_allocator = _fn("px_publisher_get_allocator", c_int, c_void_p)
px_publisher_is_dmabuf = _fn("px_publisher_is_dmabuf", c_bool, c_void_p)
px_publisher_get_fd = _fn("px_publisher_get_fd", c_int, c_void_p)
px_publisher_dispatch = _fn("px_publisher_dispatch", c_int, c_void_p, c_int)
px_publisher_acquire = _fn("px_publisher_acquire", c_int, c_void_p, c_int, _P(_P(px_slot)))
px_slot_plane = _fn("px_slot_plane", c_void_p, _P(px_slot), c_uint32, c_uint32)
px_publisher_publish = _fn("px_publisher_publish", c_int, c_void_p, _P(px_slot),
                           _P(px_publish_info))
px_publisher_cancel = _fn("px_publisher_cancel", None, c_void_p, _P(px_slot))
px_publisher_get_stats_sized = _fn("px_publisher_get_stats_sized", c_int, c_size_t, c_void_p,
                                   _P(px_publisher_stats))
px_publisher_get_subscriber_sized = _fn("px_publisher_get_subscriber_sized", c_int, c_size_t,
                                        c_void_p, c_uint32, _P(px_subscriber_info))

px_subscriber_create_sized = _fn("px_subscriber_create_sized", c_int, c_size_t,
                                 _P(px_subscriber_params), _P(c_void_p))
px_subscriber_destroy = _fn("px_subscriber_destroy", None, c_void_p)
px_subscriber_get_fd = _fn("px_subscriber_get_fd", c_int, c_void_p)
px_subscriber_receive = _fn("px_subscriber_receive", c_int, c_void_p, _P(_P(px_frame)), c_int)
px_subscriber_is_connected = _fn("px_subscriber_is_connected", c_bool, c_void_p)
px_subscriber_get_topic_info_sized = _fn("px_subscriber_get_topic_info_sized", c_int, c_size_t,
                                         c_void_p, _P(px_topic_info))
px_subscriber_get_stats_sized = _fn("px_subscriber_get_stats_sized", c_int, c_size_t, c_void_p,
                                    _P(px_subscriber_stats))
px_frame_plane = _fn("px_frame_plane", c_void_p, _P(px_frame), c_uint32, c_uint32)
px_frame_release = _fn("px_frame_release", None, _P(px_frame))

px_image_write = _fn("px_image_write", c_int, _P(px_image_layout), _P(c_void_p),
                     _P(px_cpu_image), c_uint32)
px_image_read = _fn("px_image_read", c_int, _P(px_image_layout), _P(c_void_p),
                    _P(px_cpu_image), c_uint32)


class Error(OSError):
    """A pixshare call failed: ``errno`` is the positive errno, ``strerror``
    the library's text (px_strerror())."""


def check(ret, what):
    """Raises Error for a negative errno returned by a library call."""
    if ret < 0:
        raise Error(-ret, f"{what}: {px_strerror(ret).decode(errors='replace')}")
    return ret


ETIMEDOUT = _errno.ETIMEDOUT
EPIPE = _errno.EPIPE
EINTR = _errno.EINTR
EAGAIN = _errno.EAGAIN
