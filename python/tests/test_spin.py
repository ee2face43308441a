# SPDX-License-Identifier: MIT
"""Busy-poll as Python sees it: Subscriber(spin_us=…) receives every frame
of a steady stream from `pixshare pub-test` in another process, spins for
frames once their period is known (stats() counts it), and a budget past
the library's limit is refused."""

import errno

import pytest

import pixshare
from conftest import ToolPublisher


def test_spin_counts_and_delivers(tool, topic):
    with ToolPublisher(tool, topic, "--size", "64x16", "--images", "1", "--rate", "50",
                       "--count", "60", "--wait-subscribers", "1"):
        with pixshare.Subscriber(topic, "reliable", timeout=2, connect_timeout=5,
                                 spin_us=2000) as sub:
            seqs = []
            for _ in range(60):
                f = sub.receive()
                assert f is not None
                seqs.append(f.sequence)
                f.release()
            st = sub.stats()
    assert seqs == list(range(seqs[0], seqs[0] + 60))
    # The period is known after 5 frames; the 55 after are each waited for
    # by a spin (caught or missed) unless they came before it began.
    assert st["spin_caught"] >= 1
    assert st["spin_caught"] + st["spin_missed"] <= 55
    assert st["spin_ns"] > 0


def test_spin_refused_past_limit(topic):
    with pytest.raises(pixshare.Error) as e:
        pixshare.Subscriber(topic, connect_timeout=0, spin_us=10001)
    assert e.value.errno == errno.EINVAL
