# SPDX-License-Identifier: MIT
"""Shared set-up: a topic directory of the session's own, the pixshare tool,
and helpers to connect a subscriber to an in-process publisher."""

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.environ.get("PIXSHARE_SOURCE_DIR", os.path.dirname(os.path.dirname(HERE)))
sys.path.insert(0, os.path.dirname(HERE))  # the package, also without PYTHONPATH

# Every topic of this session lives here (the library and the tool read it).
_dir = tempfile.mkdtemp(prefix="pixshare-pytest-")
os.environ["PIXSHARE_DIR"] = _dir

import pixshare  # noqa: E402


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(_dir, ignore_errors=True)


def tool_path():
    path = os.environ.get("PIXSHARE_TOOL")
    if not path:
        build = os.environ.get("PIXSHARE_BUILD_DIR", os.path.join(SOURCE, "build"))
        path = os.path.join(build, "tools", "pixshare")
    return path


@pytest.fixture
def tool():
    path = tool_path()
    if not os.access(path, os.X_OK):
        pytest.fail(f"no pixshare tool at {path} (set PIXSHARE_TOOL)")
    return path


_n = [0]


@pytest.fixture
def topic(request):
    """A topic name of this test's own."""
    _n[0] += 1
    return f"py{os.getpid()}-{_n[0]}"


def connect(pub, topic, **kw):
    """A Subscriber of `pub`'s topic: the handshake needs the publisher to
    dispatch, so the subscriber is made in a thread meanwhile."""
    out = []

    def make():
        try:
            out.append(pixshare.Subscriber(topic, **kw))
        except BaseException as e:  # handed to the caller
            out.append(e)

    th = threading.Thread(target=make)
    th.start()
    while th.is_alive():
        pub.dispatch(0.01)
    th.join()
    if isinstance(out[0], BaseException):
        raise out[0]
    return out[0]


class ToolPublisher:
    """`pixshare pub-test` in a subprocess."""

    def __init__(self, tool, topic, *args):
        self.proc = subprocess.Popen([tool, "pub-test", topic, "--quiet", *args],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.topic = topic

    def kill(self, sig=9):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        self.proc.wait(10)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.kill(15)
        self.proc.stderr.close()


def open_fds():
    return len(os.listdir("/proc/self/fd"))


def wait_for(cond, timeout=5.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.01)
    return cond()
