"""keras_fer.allocator: which allocator a training process restarts under, and the restart itself."""

import os
import pathlib
import subprocess
import sys

import pytest

from keras_fer import allocator
from keras_fer.allocator import CHOSEN, GLIBC_TUNABLES, allocator_environment

TCMALLOC = "libtcmalloc_minimal.so.4"


def test_tcmalloc_is_preloaded_before_what_the_user_preloads():
    name, env = allocator_environment({"PATH": "/bin"}, TCMALLOC, "linux")
    assert name == "tcmalloc" and env == {"PATH": "/bin", "LD_PRELOAD": TCMALLOC, CHOSEN: "tcmalloc"}
    _, env = allocator_environment({"LD_PRELOAD": "libfoo.so"}, TCMALLOC, "linux")
    assert env["LD_PRELOAD"] == f"{TCMALLOC}:libfoo.so"


def test_without_tcmalloc_glibc_is_kept_off_mmap_beside_the_users_tunables():
    name, env = allocator_environment({}, None, "linux")
    assert name == "glibc-without-mmap" and env == {"GLIBC_TUNABLES": GLIBC_TUNABLES, CHOSEN: name}
    assert "glibc.malloc.mmap_max=0" in GLIBC_TUNABLES
    _, env = allocator_environment({"GLIBC_TUNABLES": "glibc.cpu.x86_avx=0"}, None, "linux")
    assert env["GLIBC_TUNABLES"] == f"glibc.cpu.x86_avx=0:{GLIBC_TUNABLES}"


@pytest.mark.parametrize("environ, platform", [
    ({"KERAS_FER_MALLOC": "system"}, "linux"),  # the user's opt-out
    ({CHOSEN: "tcmalloc"}, "linux"),  # already restarted: never twice
    ({"LD_PRELOAD": "/usr/lib/libjemalloc.so.2"}, "linux"),  # an allocator of the user's own
    ({}, "darwin"), ({}, "win32"),  # no LD_PRELOAD or glibc there
])
def test_no_restart(environ, platform):
    assert allocator_environment(environ, TCMALLOC, platform) is None


# The restart as a real process: a script that calls it, loading the module by path so that the
# process does not import Keras (the restart comes before any work in `keras_fer train`).
# HIDE_TCMALLOC takes the glibc branch on a machine that has tcmalloc.
SCRIPT = f"""
import importlib.util, os, sys
spec = importlib.util.spec_from_file_location("allocator", {str(pathlib.Path(allocator.__file__))!r})
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
if os.environ.get("HIDE_TCMALLOC"):
    module.find_tcmalloc = lambda: None
module.restart_with_training_allocator()
maps = open("/proc/self/maps").read()
print(os.environ.get(module.CHOSEN, "none"), "tcmalloc" in maps, os.environ.get("GLIBC_TUNABLES", "-"),
      sys.argv[1:])
"""


def run_script(**environ):
    env = {k: v for k, v in os.environ.items() if k not in (CHOSEN, "KERAS_FER_MALLOC", "LD_PRELOAD")}
    result = subprocess.run([sys.executable, "-c", SCRIPT, "train", "--x"], capture_output=True, text=True,
                            env={**env, **environ}, timeout=60)
    assert result.returncode == 0, result.stderr
    chosen, mapped, tunables, argv = result.stdout.strip().split(" ", 3)
    assert argv == "['train', '--x']"
    return chosen, mapped == "True", tunables, result.stderr.count("keras_fer: restarting under")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the restart is for Linux only")
def test_the_process_restarts_once_under_the_allocator_with_its_arguments():
    chosen, mapped, tunables, restarts = run_script(HIDE_TCMALLOC="1")
    assert (chosen, mapped, restarts) == ("glibc-without-mmap", False, 1) and GLIBC_TUNABLES in tunables
    assert run_script(KERAS_FER_MALLOC="system")[:3] == ("none", False, "-")
    if not allocator.find_tcmalloc():
        pytest.skip("tcmalloc is not installed here (Debian/Ubuntu: libtcmalloc-minimal4)")
    chosen, mapped, tunables, restarts = run_script()
    assert (chosen, mapped, restarts) == ("tcmalloc", True, 1)
