#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Prints per-image statistics of a topic's frames, computed by NumPy on the
shared buffers themselves (no copy).

    python3 stats_subscriber.py cams --count 100
"""

import argparse

import numpy as np

import pixshare


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("topic")
    ap.add_argument("--count", type=int, default=0, help="stop after N frames (0: until the "
                    "stream ends)")
    ap.add_argument("--qos", default="latest", help="latest, queue:N or reliable")
    ap.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for a frame")
    args = ap.parse_args()

    n = 0
    with pixshare.Subscriber(args.topic, qos=args.qos, timeout=args.timeout,
                             connect_timeout=args.timeout) as sub:
        print(f"{args.topic}: {sub.topic_info()['pool_size']} slots")
        for frame in sub:  # each frame is released when the loop advances
            parts = []
            for i, img in enumerate(frame.images):
                if img is None:
                    parts.append(f"{i}: absent")
                    continue
                # Planar formats (NV12) give one array per plane: luma first.
                y = img[0] if isinstance(img, tuple) else img
                # Reductions over the view read the shared memory in place;
                # per channel for packed colour (XRGB: B, G, R, X; YUYV: Y, C).
                mean = np.mean(y, axis=(0, 1)) if y.ndim == 3 else np.mean(y)
                parts.append(f"{i}: mean {np.array2string(np.round(mean, 1))} "
                             f"min {np.min(y)} max {np.max(y)}")
            print(f"frame {frame.sequence} (dropped before {frame.dropped_before}): "
                  + "; ".join(parts), flush=True)
            n += 1
            if n == args.count:
                break
    print(f"{n} frames")


if __name__ == "__main__":
    main()
