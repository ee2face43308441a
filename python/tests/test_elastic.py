# SPDX-License-Identifier: MIT
"""An elastic pool as Python sees it: Publisher(min_pool_size=…) grows when a
subscriber joins and shrinks when it leaves; frames of the new slots read
right through NumPy, and the counters say what happened."""

import numpy as np

import pixshare
from conftest import connect


def publish(pub, value, spread):
    """Publishes frames filled with `value`: from up to `spread` slots
    acquired at once (so that the highest slots carry frames too), or one."""
    slots = [pub.acquire(timeout=1)]
    while len(slots) < spread:
        try:
            slots.append(pub.acquire(timeout=0))
        except pixshare.AcquireTimeout:
            break
    # Highest first: a latest subscriber with room takes the first frames.
    for slot in sorted(slots, key=lambda s: -s.index):
        slot.images[0][:] = value
        slot.publish()
    pub.dispatch(0)


def check(frame):
    img = frame.images[0]
    return bool(np.all(img == img.flat[0]))


def wait_pool(pub, n):
    for _ in range(200):
        if pub.pool_size == n:
            return
        pub.dispatch(0.01)
    assert pub.pool_size == n


def test_elastic_pool_grows_and_shrinks(topic):
    with pixshare.Publisher(topic, ((16, 32), "R8"), allocator="memfd",
                            min_pool_size=3) as pub:
        assert pub.pool_size == 3
        with connect(pub, topic, qos="latest", timeout=1) as a:
            wait_pool(pub, 5)
            with connect(pub, topic, qos="latest", timeout=1) as b:
                wait_pool(pub, 8)
                seen = set()
                for value in range(1, 30):
                    publish(pub, value, 7)
                    for sub in (a, b):
                        f = sub.receive(timeout=1)
                        while f is not None:
                            # No array kept: an array keeps its frame's
                            # lease, and the slot with it.
                            assert check(f), (f.slot, f.sequence)
                            seen.add(f.slot)
                            f.release()
                            f = sub.receive(timeout=0)
                assert max(seen) >= 5, seen  # slots that came after a joined
            # Slots a still holds stay: a takes the new frames (low slots)
            # and gives the old back.
            for _ in range(5):
                publish(pub, 1, 1)
                f = a.receive(timeout=1)
                while f is not None:
                    f.release()
                    f = a.receive(timeout=0)
            wait_pool(pub, 5)
            assert a.stats()["pool_grows"] == 1
            assert a.stats()["pool_shrinks"] == 1
        publish(pub, 1, 1)
        wait_pool(pub, 3)
        st = pub.stats()
        assert (st["pool_size"], st["pool_grows"], st["pool_shrinks"]) == (3, 2, 2)
