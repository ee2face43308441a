#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Publishes an image file (or a cv2.VideoCapture source) on a topic.

    python3 publish_image.py cams photo.png --format NV12 --rate 30
    python3 publish_image.py cams 0 --capture        # camera 0 through OpenCV

The picture is converted into the topic's format by Slot.write_rgb(), a
copy into the shared slot (px_image_write()); the subscribers then read that
slot without copying.
"""

import argparse
import time

import cv2

import pixshare


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("topic")
    ap.add_argument("source", help="an image file, or with --capture a cv2.VideoCapture "
                    "source (a camera index or a video file)")
    ap.add_argument("--capture", action="store_true", help="read frames with cv2.VideoCapture")
    ap.add_argument("--format", default="XRGB8888", help="the topic's pixel format (default "
                    "XRGB8888; NV12, YUYV, RGB888, R8 …)")
    ap.add_argument("--rate", type=float, default=30.0, help="frames per second")
    ap.add_argument("--count", type=int, default=0, help="stop after N frames (0: never)")
    ap.add_argument("--allocator", default="auto")
    args = ap.parse_args()

    if args.capture:
        cap = cv2.VideoCapture(int(args.source) if args.source.isdigit() else args.source)
        ok, bgr = cap.read()
        if not ok:
            raise SystemExit(f"cannot read from {args.source}")
    else:
        cap = None
        bgr = cv2.imread(args.source, cv2.IMREAD_COLOR)
        if bgr is None:
            raise SystemExit(f"cannot read {args.source}")
    h, w = bgr.shape[:2]
    # Subsampled formats want even sizes for an exact picture; any size works.
    with pixshare.Publisher(args.topic, ((h, w), args.format), allocator=args.allocator,
                            description="publish_image.py") as pub:
        print(f"{args.topic}: {w}x{h} {args.format} ({pub.allocator}) at {args.rate} Hz",
              flush=True)
        period, n, next_t = 1.0 / args.rate, 0, time.monotonic()
        while not args.count or n < args.count:
            if cap is not None and n:
                ok, bgr = cap.read()
                if not ok:
                    break
            with pub.acquire() as slot:
                slot.write_rgb(0, bgr, order="bgr")  # converts and copies into the slot
                slot.publish()
            n += 1
            next_t += period
            # Serve subscribers (connections, releases) until the next frame.
            while (left := next_t - time.monotonic()) > 0:
                pub.dispatch(left)
    print(f"{n} frames published")


if __name__ == "__main__":
    main()
