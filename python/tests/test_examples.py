# SPDX-License-Identifier: MIT
"""The examples in python/examples, run end to end against a publisher, as
the C examples are: the statistics subscriber, the OpenCV subscriber (PNG),
the image-file publisher (read back and compared), the viewer headless."""

import os
import subprocess
import sys

import numpy as np
import pytest

import pixshare
from conftest import ToolPublisher

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                        "examples")


def run(name, *args, timeout=60):
    env = dict(os.environ, PYTHONPATH=os.path.dirname(EXAMPLES), MPLBACKEND="Agg")
    env.pop("DISPLAY", None)
    p = subprocess.run([sys.executable, os.path.join(EXAMPLES, name), *map(str, args)],
                       capture_output=True, text=True, timeout=timeout, env=env)
    assert p.returncode == 0, p.stdout + p.stderr
    return p.stdout


@pytest.fixture
def pattern(tool, topic):
    with ToolPublisher(tool, topic, "--images", "2", "--size", "96x64", "--format", "NV12",
                       "--rate", "100"):
        yield topic


def test_stats_subscriber(pattern):
    out = run("stats_subscriber.py", pattern, "--count", "5")
    lines = [ln for ln in out.splitlines() if ln.startswith("frame ")]
    assert len(lines) == 5 and out.rstrip().endswith("5 frames"), out
    assert all("0: mean" in ln and "1: mean" in ln for ln in lines)


def test_opencv_subscriber(pattern, tmp_path):
    cv2 = pytest.importorskip("cv2")
    png = tmp_path / "frame.png"
    run("opencv_subscriber.py", pattern, "--image", "1", "--out", png)
    img = cv2.imread(str(png))
    assert img is not None and img.shape == (64, 96, 3)
    # The rectangle drawn: pure green (BGR) on its top edge.
    assert (img[8, 20:76] == (0, 255, 0)).all()


def test_viewer_headless(pattern, tmp_path):
    pytest.importorskip("matplotlib")
    png = tmp_path / "view.png"
    out = run("viewer.py", pattern, "--frames", "3", "--save", png)
    assert "3 frames" in out and png.stat().st_size > 1000


@pytest.mark.parametrize("fmt,tolerance", [("XRGB8888", 0), ("NV12", 3)])
def test_publish_image(fmt, tolerance, topic, tmp_path):
    cv2 = pytest.importorskip("cv2")
    bgr = np.zeros((40, 60, 3), np.uint8)
    bgr[:20] = (255, 0, 0)
    bgr[20:, 30:] = (0, 128, 255)
    bgr[20:, :30] = (30, 200, 90)  # flat 2x2 blocks: NV12 keeps them within rounding
    src = tmp_path / "in.png"
    cv2.imwrite(str(src), bgr)
    env = dict(os.environ, PYTHONPATH=os.path.dirname(EXAMPLES))
    proc = subprocess.Popen([sys.executable, os.path.join(EXAMPLES, "publish_image.py"), topic,
                             str(src), "--format", fmt, "--rate", "50", "--count", "500"],
                            stdout=subprocess.PIPE, env=env)
    try:
        with pixshare.Subscriber(topic, timeout=5, connect_timeout=10) as sub:
            with sub.receive() as frame:
                assert frame.layout.images[0].format == fmt
                got = frame.to_bgr(0).astype(int)
        assert np.abs(got - bgr).max() <= tolerance
    finally:
        proc.terminate()
        proc.wait(10)
        proc.stdout.close()
