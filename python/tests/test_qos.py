# SPDX-License-Identifier: MIT
"""QoS as Python sees it: latest drops (and skips to the newest), queue:N
keeps the newest N, reliable never drops — in process, and against the
pixshare tool in another process."""

import time

import pytest

import pixshare
from conftest import ToolPublisher, connect


def publish(pub, n):
    for _ in range(n):
        with pub.acquire(timeout=1) as slot:
            slot.images[0][:] = 0
            slot.publish()
        pub.dispatch(0)


def drain(sub, pub):
    """Every frame that comes, the publisher (same thread) serving releases
    meanwhile, until none came for 0.3 s."""
    out, idle = [], 0
    while idle < 3:
        pub.dispatch(0.02)
        f = sub.receive(timeout=0.08)
        if f is None:
            idle += 1
            continue
        idle = 0
        out.append(f.sequence)
        f.release()
    return out


def test_qos_parsing():
    from pixshare.subscriber import parse_qos
    assert parse_qos("latest") == (0, 0) and parse_qos("reliable") == (2, 0)
    assert parse_qos("queue:5") == (1, 5)
    for bad in ("queue", "queue:0", "queue:x", "fast", "latest:2"):
        with pytest.raises(ValueError):
            parse_qos(bad)


def test_latest_skips_to_the_newest(topic):
    with pixshare.Publisher(topic, ((8, 8), "R8"), allocator="memfd") as pub, \
            connect(pub, topic, qos="latest", timeout=1) as sub:
        publish(pub, 10)
        got = drain(sub, pub)
        assert got[-1] == 10 and len(got) < 10, got
        assert pub.subscribers()[0]["dropped_replaced"] > 0
        st = sub.stats()
        assert st["dropped_publisher"] + st["dropped_superseded"] > 0


def test_queue_keeps_the_newest(topic):
    with pixshare.Publisher(topic, ((8, 8), "R8"), allocator="memfd", pool_size=12) as pub, \
            connect(pub, topic, qos="queue:3", max_leases=1, timeout=1) as sub:
        publish(pub, 10)
        got = drain(sub, pub)
        assert got == sorted(got) and got[-1] == 10 and len(got) <= 4, got
        assert pub.subscribers()[0]["dropped_queue"] > 0


def test_reliable_never_drops(topic):
    with pixshare.Publisher(topic, ((8, 8), "R8"), allocator="memfd") as pub, \
            connect(pub, topic, qos="reliable", timeout=1) as sub:
        got = []
        for _ in range(50):
            publish(pub, 1)
            got += drain(sub, pub) if len(got) % 7 == 0 else [sub.receive().sequence]
        got += drain(sub, pub)
        assert got == list(range(1, 51))
        assert pub.subscribers()[0]["dropped_replaced"] == 0


def test_reliable_holds_the_publisher_up(topic):
    with pixshare.Publisher(topic, ((8, 8), "R8"), allocator="memfd", pool_size=6) as pub, \
            connect(pub, topic, qos="reliable", timeout=1) as sub:
        with pytest.raises(pixshare.AcquireTimeout):
            publish(pub, 10)  # nobody reads: the pool fills
        published = pub.stats()["published"]
        assert 2 <= published < 10 and pub.stats()["acquire_timeouts"] == 1
        assert drain(sub, pub) == list(range(1, published + 1))


@pytest.mark.parametrize("qos", ["latest", "reliable"])
def test_against_the_tool(qos, tool, topic):
    """A slow Python reader of a 400 Hz publisher in another process."""
    with ToolPublisher(tool, topic, "--images", "2", "--size", "64x48", "--format", "NV12",
                       "--rate", "400"):
        with pixshare.Subscriber(topic, qos=qos, timeout=2, connect_timeout=5) as sub:
            seqs, dropped = [], 0
            for frame in sub:
                y, uv = frame.images[1]
                assert y.shape == (48, 64) and uv.shape == (24, 32, 2)
                seqs.append(frame.sequence)
                dropped += frame.dropped_before
                time.sleep(0.01)  # 100 Hz: slower than the publisher
                if len(seqs) == 40:
                    break
    steps = {b - a for a, b in zip(seqs[1:], seqs[2:])}  # after the replayed first frame
    if qos == "reliable":
        assert steps == {1} and dropped == 0, seqs
    else:
        assert max(steps) > 1 and dropped > 0, seqs
