# SPDX-License-Identifier: MIT
"""The ctypes structs of pixshare._ffi against tests/contract/abi-table.h:
size, alignment, and every field's offset and size, so that the binding
cannot drift from the C headers."""

import ctypes
import os
import re

import pytest

from conftest import SOURCE
from pixshare import _ffi

TABLE = os.path.join(SOURCE, "tests", "contract", "abi-table.h")


def parse(path):
    structs, fields = {}, {}
    text = open(path).read()
    for m in re.finditer(r"PX_ABI_STRUCT\((\w+), (\d+), (\d+)\)", text):
        structs[m.group(1)] = (int(m.group(2)), int(m.group(3)))
    for m in re.finditer(r"PX_ABI_FIELD\((\w+), (\w+), (\d+), (\d+)\)", text):
        fields.setdefault(m.group(1), {})[m.group(2)] = (int(m.group(3)), int(m.group(4)))
    return structs, fields


def mismatches(name, cls, structs, fields):
    """Every difference between a ctypes struct and the table, as text."""
    out = []
    if name not in structs:
        return [f"{name}: not in {TABLE}"]
    size, align = structs[name]
    if ctypes.sizeof(cls) != size:
        out.append(f"{name}: size {ctypes.sizeof(cls)}, C {size}")
    if ctypes.alignment(cls) != align:
        out.append(f"{name}: alignment {ctypes.alignment(cls)}, C {align}")
    ours = {f[0]: (getattr(cls, f[0]).offset, getattr(cls, f[0]).size) for f in cls._fields_}
    theirs = fields.get(name, {})
    for f in sorted(set(ours) | set(theirs)):
        if f not in ours:
            out.append(f"{name}.{f}: missing in ctypes")
        elif f not in theirs:
            out.append(f"{name}.{f}: not a C field")
        elif ours[f] != theirs[f]:
            out.append(f"{name}.{f}: offset, size {ours[f]}, C {theirs[f]}")
    return out


@pytest.fixture(scope="module")
def table():
    structs, fields = parse(TABLE)
    assert len(structs) > 30 and sum(map(len, fields.values())) > 300, "table not parsed"
    return structs, fields


@pytest.mark.parametrize("name", sorted(_ffi.STRUCTS))
def test_struct_matches_c(name, table):
    assert mismatches(name, _ffi.STRUCTS[name], *table) == []


def test_every_struct_the_binding_passes_is_checked():
    # Each struct the binding hands to or reads from the library.
    used = {"px_plane", "px_image_layout", "px_set_layout", "px_format_info", "px_image_desc",
            "px_buffer", "px_slot", "px_image_info", "px_publish_info", "px_publisher_params",
            "px_publisher_stats", "px_subscriber_info", "px_frame_buffer", "px_frame",
            "px_subscriber_params", "px_topic_info", "px_subscriber_stats", "px_cpu_image"}
    assert used <= set(_ffi.STRUCTS)


def test_a_drifted_struct_is_caught(table):
    # The comparison itself: a field moved, one missing, a size changed.
    class px_image_info(ctypes.Structure):
        _fields_ = [("timestamp_ns", ctypes.c_uint64), ("sequence", ctypes.c_uint32),
                    ("bytes", ctypes.c_uint64)]
    found = mismatches("px_image_info", px_image_info, *table)
    assert any("sequence" in m for m in found) and any("size" in m for m in found)

    class px_plane(ctypes.Structure):
        _fields_ = [("buffer", ctypes.c_uint32), ("stride", ctypes.c_uint32)]
    assert any("offset: missing" in m for m in mismatches("px_plane", px_plane, *table))
