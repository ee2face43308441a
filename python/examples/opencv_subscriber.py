#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Takes one frame of a topic, draws on a copy of one image with OpenCV and
saves it as a PNG. The shared image is read-only: drawing needs a copy, and
frame.to_bgr() makes it (converting YUV to BGR on the way).

    python3 opencv_subscriber.py cams --image 0 --out frame.png
"""

import argparse

import cv2

import pixshare


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("topic")
    ap.add_argument("--image", type=int, default=0, help="which image of the set")
    ap.add_argument("--out", default="frame.png")
    ap.add_argument("--timeout", type=float, default=5.0)
    args = ap.parse_args()

    with pixshare.Subscriber(args.topic, timeout=args.timeout,
                             connect_timeout=args.timeout) as sub:
        frame = sub.receive()
        if frame is None:
            raise SystemExit(f"{args.topic}: no frame within {args.timeout} s")
        with frame:
            bgr = frame.to_bgr(args.image)  # an explicit copy, ours to draw on
            seq = frame.sequence
    h, w = bgr.shape[:2]
    cv2.rectangle(bgr, (w // 8, h // 8), (w - w // 8, h - h // 8), (0, 255, 0), 2)
    cv2.putText(bgr, f"#{seq}", (w // 8 + 4, h // 8 + 24), cv2.FONT_HERSHEY_SIMPLEX, 0.8,
                (0, 0, 255), 2)
    if not cv2.imwrite(args.out, bgr):
        raise SystemExit(f"cannot write {args.out}")
    print(f"frame {seq}: image {args.image} ({w}x{h}) with a rectangle -> {args.out}")


if __name__ == "__main__":
    main()
