# SPDX-License-Identifier: MIT
"""The installed package: `cmake --install` puts it in the site directory
with the installed library's path recorded, and it imports from there with
no environment variable."""

import os
import subprocess
import sys

import pytest

BUILD = os.environ.get("PIXSHARE_BUILD_DIR")


def test_installed_package_finds_the_installed_library(tmp_path):
    if not BUILD:
        pytest.fail("PIXSHARE_BUILD_DIR is not set (CTest sets it)")
    prefix = tmp_path / "prefix"
    # The python component alone: the library's own installation is
    # tests/test_install.sh's. It is put where the recorded path says.
    subprocess.run(["cmake", "--install", BUILD, "--prefix", str(prefix), "--component",
                    "python"], check=True, capture_output=True)
    configs = list(prefix.rglob("pixshare/_config.py"))
    assert len(configs) == 1, list(prefix.rglob("*"))
    site = configs[0].parent.parent
    assert (site / "pixshare" / "__init__.py").exists()
    ns = {}
    exec(configs[0].read_text(), ns)
    lib = ns["library"]
    assert lib.startswith(str(prefix) + "/") and "libpixshare.so." in lib
    os.makedirs(os.path.dirname(lib), exist_ok=True)
    built = os.path.join(BUILD, os.path.basename(lib))
    assert os.path.exists(built), built
    os.symlink(built, lib)
    env = {k: v for k, v in os.environ.items() if k not in ("PIXSHARE_LIBRARY", "PYTHONPATH")}
    env["PYTHONPATH"] = str(site)
    out = subprocess.run([sys.executable, "-c", "import pixshare; print(pixshare.__file__); "
                          "print(pixshare.library_path); print(pixshare.Layout.packed("
                          "[((4, 4), 'NV12')]))"],
                         cwd=str(tmp_path), env=env, check=True, capture_output=True,
                         text=True).stdout.split("\n")
    assert out[0].startswith(str(site)) and out[1] == lib and "NV12 4x4" in out[2]
