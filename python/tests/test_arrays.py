# SPDX-License-Identifier: MIT
"""NumPy views: shape, dtype and strides of every format against the layout,
zero copy (the array's pointer is the C frame's plane), read-only frames,
explicit conversions."""

import ctypes

import numpy as np
import pytest

import pixshare
from conftest import connect
from pixshare import _ffi

H, W = 17, 33  # odd sizes: subsampled planes round up
# The arrays each format must give at 33x17, written out here rather than
# derived, so that a geometry change fails: (shape, dtype) per plane.
EXPECTED = {
    "XRGB8888": [((H, W, 4), np.uint8)], "ARGB8888": [((H, W, 4), np.uint8)],
    "XBGR8888": [((H, W, 4), np.uint8)], "ABGR8888": [((H, W, 4), np.uint8)],
    "RGB888": [((H, W, 3), np.uint8)], "BGR888": [((H, W, 3), np.uint8)],
    "R8": [((H, W), np.uint8)], "R16": [((H, W), np.uint16)],
    "YUYV": [((H, W + 1, 2), np.uint8)], "UYVY": [((H, W + 1, 2), np.uint8)],
    "NV12": [((H, W), np.uint8), ((9, 17, 2), np.uint8)],
    "P010": [((H, W), np.uint16), ((9, 17, 2), np.uint16)],
    "YUV420": [((H, W), np.uint8), ((9, 17), np.uint8), ((9, 17), np.uint8)],
    "YUV422": [((H, W), np.uint8), ((H, 17), np.uint8), ((H, 17), np.uint8)],
}


def test_every_format_is_expected():
    assert sorted(pixshare.formats()) == sorted(EXPECTED)


def planes_of(img):
    return list(img) if isinstance(img, tuple) else [img]


def check_geometry(arrays, layout):
    """Each plane array against the C layout: rows, row bytes, strides."""
    for i, il in enumerate(layout.images):
        c = il._c
        for p, a in enumerate(arrays[i]):
            rows = _ffi.px_image_plane_rows(ctypes.byref(c), p)
            row_bytes = _ffi.px_image_row_bytes(ctypes.byref(c), p)
            assert a.shape[0] == rows
            assert a.strides[0] == c.planes[p].stride
            assert a.shape[1] * a.strides[1] == row_bytes  # a row is the row's bytes
            assert a.itemsize * (a.shape[2] if a.ndim == 3 else 1) == a.strides[1]
            assert a.dtype.byteorder in "<|="


@pytest.mark.parametrize("allocator", ["memfd", "auto"])
@pytest.mark.parametrize("fmt", sorted(EXPECTED))
def test_format_views(fmt, allocator, topic):
    rng = np.random.default_rng(abs(hash(fmt)) % 1000)
    images = [((H, W), fmt), ((H + 2, W + 4), fmt)]
    with pixshare.Publisher(topic, images, allocator=allocator) as pub, \
            connect(pub, topic, timeout=2) as sub:
        assert [il.format for il in pub.layout.images] == [fmt, fmt]
        written = []
        with pub.acquire() as slot:
            arrays = [planes_of(img) for img in slot.images]
            check_geometry(arrays, pub.layout)
            for i, planes in enumerate(arrays):
                for p, a in enumerate(planes):
                    assert a.flags.writeable
                    assert a.__array_interface__["data"][0] == _ffi.px_slot_plane(slot._c, i, p)
                    a[...] = rng.integers(0, np.iinfo(a.dtype).max, a.shape, a.dtype)
                    written.append(a.copy())
            shape0 = [(a.shape, a.dtype) for a in arrays[0]]
            assert shape0 == [(s, np.dtype(d)) for s, d in EXPECTED[fmt]]
            slot.publish()
        with sub.receive() as frame:
            assert frame.sequence == 1 and frame.mask == 0b11
            assert frame.layout == pub.layout
            arrays = [planes_of(img) for img in frame.images]
            check_geometry(arrays, frame.layout)
            k = 0
            for i, planes in enumerate(arrays):
                for p, a in enumerate(planes):
                    # Zero copy: the array views the library's mapping.
                    assert a.__array_interface__["data"][0] == frame.plane_address(i, p)
                    assert a.ctypes.data == frame.plane_address(i, p)
                    assert not a.flags.writeable and not a.flags.owndata
                    np.testing.assert_array_equal(a, written[k])
                    k += 1
                    with pytest.raises(ValueError):
                        a[0, 0] = 1
                    with pytest.raises(ValueError):
                        a.flags.writeable = True
                    with pytest.raises(ValueError):
                        a[1:, 1:][0, 0] = 1  # a view of a view


def test_batch_layout_views(topic):
    layout = pixshare.Layout.packed([((H, W), "NV12"), ((8, 8), "R8"), ((5, 3), "YUYV")],
                                    row_align=256, batch=True)
    assert layout.n_buffers == 1
    with pixshare.Publisher(topic, layout, allocator="memfd") as pub, \
            connect(pub, topic, timeout=2) as sub:
        with pub.acquire() as slot:
            check_geometry([planes_of(x) for x in slot.images], pub.layout)
            slot.images[1][:] = np.arange(64, dtype=np.uint8).reshape(8, 8)
            slot.publish()
        with sub.receive() as frame:
            y, uv = frame.images[0]
            assert y.strides == (256, 1) and uv.strides == (256, 2, 1)
            np.testing.assert_array_equal(frame.images[1], np.arange(64).reshape(8, 8))
            assert frame.images[1].ctypes.data == frame.plane_address(1)


def test_released_frame_raises_and_arrays_keep_the_lease(topic):
    with pixshare.Publisher(topic, ((4, 4), "R8"), allocator="memfd") as pub, \
            connect(pub, topic, timeout=2) as sub:
        for v in (7, 9):
            with pub.acquire() as slot:
                slot.images[0][:] = v
                slot.publish()
        f1 = sub.receive()
        kept = f1.images[0][1:3]  # a view of a view keeps it too
        with f1:
            pass
        assert f1.released and f1.lease_held
        with pytest.raises(pixshare.FrameReleased):
            f1.images
        with pytest.raises(pixshare.FrameReleased):
            f1.to_rgb(0)
        assert f1.sequence in (1, 2) and len(f1.timestamps) == 1  # metadata are copies
        pub.dispatch(0.05)
        assert pub.subscribers()[0]["leases"] == 1 and sub.leases == 1
        assert (kept == (7 if f1.sequence == 1 else 9)).all()
        del kept
        assert not f1.lease_held and sub.leases == 0
        pub.dispatch(0.05)
        assert pub.subscribers()[0]["leases"] == 0


def test_slot_arrays_read_only_after_publish(topic):
    with pixshare.Publisher(topic, ((4, 4), "XRGB8888"), allocator="memfd") as pub:
        slot = pub.acquire()
        a = slot.images[0]
        a[:] = 1
        slot.publish()
        with pytest.raises(ValueError):
            a[:] = 2
        with pytest.raises(ValueError):
            slot.images
        with pub.acquire() as slot2:  # left without publishing: cancelled
            b = slot2.images[0]
        with pytest.raises(ValueError):
            b[0, 0, 0] = 3
        assert pub.stats()["published"] == 1


def test_to_rgb_is_a_converted_copy(topic):
    rng = np.random.default_rng(1)
    rgb = rng.integers(0, 256, (H, W, 3), np.uint8)
    with pixshare.Publisher(topic, [((H, W), "XRGB8888"), ((H, W), "NV12"),
                                    ((H, W), "YUYV")], allocator="memfd") as pub, \
            connect(pub, topic, timeout=2) as sub:
        with pub.acquire() as slot:
            x = slot.images[0]
            x[..., 0], x[..., 1], x[..., 2], x[..., 3] = rgb[..., 2], rgb[..., 1], rgb[..., 0], 255
            flat = np.empty_like(rgb)
            flat[:] = (200, 40, 90)  # flat: chroma subsampling loses nothing
            slot.write_rgb(1, flat)
            slot.write_rgb(2, flat[..., ::-1], order="bgr")
            slot.publish()
        with sub.receive() as frame:
            out = frame.to_rgb(0)
            assert out.flags.owndata and out.flags.writeable
            np.testing.assert_array_equal(out, rgb)  # exact: no YUV
            np.testing.assert_array_equal(frame.to_bgr(0), rgb[..., ::-1])
            for i in (1, 2):
                got = frame.to_rgb(i).astype(int)
                assert np.abs(got - (200, 40, 90)).max() <= 3, i
            gray = frame.to_gray(0)
            assert gray.shape == (H, W)
        assert out.sum() == rgb.astype(np.int64).sum()  # still valid after release
