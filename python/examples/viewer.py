#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A live matplotlib viewer of one image of a topic: the latest frame only
(QoS latest, so a slow window never holds the publisher up).

    python3 viewer.py cams --image 0                 # a window
    python3 viewer.py cams --frames 10 --save v.png  # headless (Agg): draw 10 frames, save

Each frame drawn is converted by frame.to_rgb(), an explicit copy: matplotlib
keeps what it is given, and the frame's buffer goes back to the publisher.
"""

import argparse
import os
import sys
import time

import matplotlib

import pixshare


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("topic")
    ap.add_argument("--image", type=int, default=0)
    ap.add_argument("--frames", type=int, default=0, help="stop after N frames (0: never)")
    ap.add_argument("--save", help="save the last frame drawn to this file; runs headless")
    ap.add_argument("--timeout", type=float, default=5.0)
    args = ap.parse_args()

    headless = bool(args.save) or not os.environ.get("DISPLAY") and not os.environ.get(
        "WAYLAND_DISPLAY")
    if headless:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if headless and not args.frames:
        args.frames = 1
        print("viewer: no display: drawing one frame (--frames N, --save FILE)",
              file=sys.stderr)
    fig, ax = plt.subplots()
    ax.set_axis_off()
    shown = None
    n, t0 = 0, time.monotonic()
    with pixshare.Subscriber(args.topic, qos="latest", timeout=args.timeout,
                             connect_timeout=args.timeout) as sub:
        for frame in sub:
            rgb = frame.to_rgb(args.image)
            if shown is None:
                shown = ax.imshow(rgb)
            else:
                shown.set_data(rgb)
            ax.set_title(f"{args.topic} #{frame.sequence}")
            frame.release()  # before drawing: the copy is ours
            if headless:
                fig.canvas.draw()
            else:
                plt.pause(0.001)
                if not plt.fignum_exists(fig.number):
                    break
            n += 1
            if n == args.frames:
                break
    if args.save:
        fig.savefig(args.save)
        print(f"viewer: {n} frames in {time.monotonic() - t0:.2f} s, last saved to {args.save}")


if __name__ == "__main__":
    main()
