#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""How many sets per second a Python subscriber takes: it iterates frames
(reliable QoS, so every set counts) and reads one pixel of every image
through its NumPy view, against `pixshare pub-test` publishing as fast as it
may (--rate 10000, its most), or against a Python publisher in another
process (--python-publisher).

    PIXSHARE_LIBRARY=build/libpixshare.so PYTHONPATH=python \\
        python3 python/bench_subscriber.py --tool build/tools/pixshare

Prints one line: "python subscriber: N sets/s (…)".
"""

import argparse
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pixshare  # noqa: E402


def python_publisher(topic, images, size, fmt):
    """Publishes as fast as slots free up, writing one pixel per image."""
    w, h = map(int, size.split("x"))
    pub = pixshare.Publisher(topic, [((h, w), fmt)] * images)
    n = 0
    try:
        while True:
            try:
                with pub.acquire(timeout=0.5) as slot:
                    for img in slot.images:
                        (img[0] if isinstance(img, tuple) else img)[0, 0] = n & 0xFF
                    slot.publish()
                    n += 1
            except pixshare.AcquireTimeout:
                pub.dispatch(0)
    except KeyboardInterrupt:
        pass


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tool", default=os.environ.get("PIXSHARE_TOOL", "build/tools/pixshare"))
    ap.add_argument("--images", type=int, default=6)
    ap.add_argument("--size", default="640x480")
    ap.add_argument("--format", default="YUYV")
    ap.add_argument("--qos", default="reliable")
    ap.add_argument("--duration", type=float, default=3.0)
    ap.add_argument("--python-publisher", action="store_true",
                    help="publish from Python in another process instead of the tool")
    args = ap.parse_args()

    topic = f"bench-py-{os.getpid()}"
    if args.python_publisher:
        cmd = [sys.executable, os.path.abspath(__file__), "--publish", topic, str(args.images),
               args.size, args.format]
        source = "a Python publisher"
    else:
        cmd = [args.tool, "pub-test", topic, "--images", str(args.images), "--size", args.size,
               "--format", args.format, "--rate", "10000", "--quiet"]
        source = "pixshare pub-test --rate 10000"
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        with pixshare.Subscriber(topic, qos=args.qos, timeout=5, connect_timeout=10) as sub:
            n, pixels, t0, first, last = 0, 0, None, None, None
            for frame in sub:
                for img in frame.images:  # one pixel per image, read in place
                    pixels += (img[0] if isinstance(img, tuple) else img).item(0)
                n += 1
                if n == 100:  # warm-up done
                    t0, first = time.perf_counter(), frame.sequence
                elif t0 is not None and time.perf_counter() - t0 >= args.duration:
                    last = frame.sequence
                    break
            elapsed = time.perf_counter() - t0
            sets = n - 100
            st = sub.stats()
    finally:
        proc.terminate()
        proc.wait(10)
    gaps = (last - first) - sets
    print(f"python subscriber: {sets / elapsed:.0f} sets/s ({sets} sets of {args.images} "
          f"{args.size} {args.format} in {elapsed:.2f} s, qos {args.qos}, from {source}; "
          f"{gaps} sequence numbers skipped, held at end {st['held']})")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--publish":
        python_publisher(sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5])
    else:
        main()
