# SPDX-License-Identifier: MIT
"""Lifetimes: a killed publisher ends the iteration (or, with reconnect, the
stream goes on from its successor); no fd or lease leaks over 1,000 frames;
leases kept by arrays; releases from other threads; fileno()."""

import gc
import selectors
import threading

import numpy as np
import pytest

import pixshare
from conftest import ToolPublisher, connect, open_fds, wait_for


def test_killed_publisher_ends_the_iteration(tool, topic):
    pubp = ToolPublisher(tool, topic, "--images", "6", "--size", "32x16", "--format", "YUYV",
                         "--rate", "200")
    with pubp, pixshare.Subscriber(topic, qos="latest", timeout=5, connect_timeout=5) as sub:
        n = 0
        for frame in sub:
            assert len(frame.images) == 6 and frame.images[5].shape == (16, 32, 2)
            n += 1
            if n == 20:
                pubp.kill(9)
        # Frames already received are handed out, then the loop ends: no
        # TimeoutError (5 s), no hang.
        assert 20 <= n < 40
        assert not sub.connected
        with pytest.raises(pixshare.StreamEnded):
            sub.receive(timeout=1)


def test_reconnect_continues_with_a_successor(tool, topic):
    args = ("--images", "1", "--size", "16x16", "--format", "R8", "--rate", "100")
    with ToolPublisher(tool, topic, *args) as first:
        sub = pixshare.Subscriber(topic, timeout=5, connect_timeout=5, reconnect=True)
        pools = []
        for frame in sub:
            pools.append(frame.pool_id)
            if len(pools) == 5:
                first.kill(9)
                second = ToolPublisher(tool, topic, *args)
            if len(set(pools)) == 2 and pools[-3:] == [pools[-1]] * 3:
                break  # three frames of the successor's pool
            assert len(pools) < 500
        second.kill(15)
        assert sub.stats()["connects"] == 2 and sub.stats()["disconnects"] == 1
        sub.close()


def test_no_fd_or_lease_leak_over_1000_frames(topic):
    fds0 = open_fds()
    pub = pixshare.Publisher(topic, [((24, 32), "NV12")] * 6, allocator="memfd")
    sub = connect(pub, topic, qos="reliable", timeout=2)
    total = 0
    for i in range(1000):
        with pub.acquire() as slot:
            slot.images[i % 6][0][0, 0] = i % 251
            slot.publish()
        frame = sub.receive()
        if i % 2:
            with frame:  # released explicitly
                total += int(frame.images[i % 6][0][0, 0])
        else:  # released when the last reference goes
            y = frame.images[i % 6][0]
            total += int(y[0, 0])
            frame.release()
            del y
        if i == 10:
            fds10 = open_fds()
    pub.dispatch(0.05)
    assert total == sum(i % 251 for i in range(1000))
    assert open_fds() == fds10
    assert sub.leases == 0 and sub.stats()["held"] == 0
    info = pub.subscribers()[0]
    assert info["leases"] == 0 and info["delivered"] == info["released"] >= 1000
    sub.close()
    pub.close()
    gc.collect()
    assert open_fds() == fds0


def test_kept_arrays_exhaust_the_leases(topic):
    with pixshare.Publisher(topic, ((4, 4), "R8"), allocator="memfd") as pub, \
            connect(pub, topic, qos="latest", timeout=0.5) as sub:
        assert sub.topic_info()["max_leases"] == 2
        kept = []
        for k in range(2):
            with pub.acquire() as slot:
                slot.images[0][:] = k
                slot.publish()
            pub.dispatch(0.02)
            with sub.receive() as frame:
                kept.append(frame.images[0])
        with pytest.raises(pixshare.LeasesExhausted):
            sub.receive()
        kept.pop(0)
        with pub.acquire() as slot:
            slot.publish()
        pub.dispatch(0.02)
        assert sub.receive() is not None


def test_release_from_another_thread(topic):
    with pixshare.Publisher(topic, ((4, 4), "R8"), allocator="memfd") as pub, \
            connect(pub, topic, qos="latest", timeout=0.3) as sub:
        with pub.acquire() as slot:
            slot.publish()
        frame = sub.receive()
        arrays = [frame.images[0]]
        frame.release()
        t = threading.Thread(target=arrays.clear)  # the lease ends in that thread
        t.start()
        t.join()
        assert sub.leases == 0
        pub.dispatch(0.05)
        assert pub.subscribers()[0]["leases"] == 0


def test_closed_subscriber_keeps_arrays_valid(topic):
    with pixshare.Publisher(topic, ((4, 4), "R8"), allocator="memfd") as pub:
        sub = connect(pub, topic, timeout=1)
        with pub.acquire() as slot:
            slot.images[0][:] = 42
            slot.publish()
        with sub.receive() as frame:
            a = frame.images[0]
        sub.close()
        del sub
        gc.collect()
        pub.dispatch(0.05)
        assert len(pub.subscribers()) == 1  # still connected: `a` needs the pool
        assert (a == 42).all()
        del a
        assert wait_for(lambda: pub.dispatch(0.01) >= 0 and not pub.subscribers())


def test_fileno_in_a_selector(topic):
    with pixshare.Publisher(topic, ((4, 4), "R8"), allocator="memfd") as pub, \
            connect(pub, topic, timeout=1) as sub:
        sel = selectors.DefaultSelector()
        sel.register(sub, selectors.EVENT_READ)
        while sub.receive(timeout=0) is not None:  # what the connection brought
            pass
        assert sel.select(0.05) == []
        with pub.acquire() as slot:
            slot.images[0][:] = 5
            slot.publish()
        assert sel.select(1.0)
        with sub.receive(timeout=0) as frame:
            assert frame.sequence == 1 and (np.asarray(frame.images[0]) == 5).all()
        sel.close()


def test_fileno_with_asyncio(topic):
    import asyncio

    with pixshare.Publisher(topic, ((4, 4), "R8"), allocator="memfd") as pub, \
            connect(pub, topic, timeout=1) as sub:
        while sub.receive(timeout=0) is not None:
            pass

        async def main():
            loop = asyncio.get_running_loop()
            got = loop.create_future()

            def readable():
                while (frame := sub.receive(timeout=0)) is not None:
                    with frame:
                        if not got.done():
                            got.set_result((frame.sequence, int(frame.images[0][3, 3])))

            loop.add_reader(sub.fileno(), readable)
            with pub.acquire() as slot:
                slot.images[0][:] = 77
                slot.publish()
            try:
                return await asyncio.wait_for(got, 2)
            finally:
                loop.remove_reader(sub.fileno())

        assert asyncio.run(main()) == (1, 77)
