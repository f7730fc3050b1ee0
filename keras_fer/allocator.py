"""A memory allocator that suits TensorFlow's CPU training on Linux.

Every training step allocates and frees activations of tens of MB (64 x 48 x 48 x 64 floats is
38 MB at 96 px). glibc's malloc serves blocks over its mmap threshold (32 MB at most) with a
fresh mmap and unmaps them when freed, so each step faults its activations in again; on a
virtual machine the kernel time can exceed the compute (BENCHMARKS.md, "Memory allocator").
tcmalloc keeps freed memory for reuse. `keras_fer train` therefore restarts itself once, before
any work, with tcmalloc preloaded where it is installed (Debian and Ubuntu:
libtcmalloc-minimal4), and otherwise with glibc tunables that keep malloc off mmap.
KERAS_FER_MALLOC=system keeps the process as started.
"""

import ctypes.util
import os
import sys

CHOICE = "KERAS_FER_MALLOC"  # "system": leave the allocator alone
CHOSEN = "KERAS_FER_MALLOC_CHOSEN"  # set in the restarted process: which one it got
# No mmap for any size, and no returning of the heap's top to the system.
GLIBC_TUNABLES = "glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=68719476736"


def find_tcmalloc():
    """The soname of an installed tcmalloc (e.g. "libtcmalloc_minimal.so.4"), or None."""
    return ctypes.util.find_library("tcmalloc_minimal") or ctypes.util.find_library("tcmalloc")


def allocator_environment(environ, tcmalloc, platform=sys.platform):
    """(name, environment) to restart with, or None to keep this process as it is."""
    if not platform.startswith("linux") or environ.get(CHOICE) == "system" or CHOSEN in environ:
        return None
    preload = environ.get("LD_PRELOAD", "")
    if "malloc" in preload:  # the user preloads an allocator of their own
        return None
    env = dict(environ)
    if tcmalloc:
        name = "tcmalloc"
        env["LD_PRELOAD"] = f"{tcmalloc}:{preload}" if preload else tcmalloc
    else:
        name = "glibc-without-mmap"
        tunables = environ.get("GLIBC_TUNABLES")
        env["GLIBC_TUNABLES"] = f"{tunables}:{GLIBC_TUNABLES}" if tunables else GLIBC_TUNABLES
    env[CHOSEN] = name
    return name, env


def restart_with_training_allocator():
    """Replace this process by the same command under the allocator above (no return), or return
    at once where there is nothing to change."""
    choice = allocator_environment(os.environ, find_tcmalloc())
    if choice is None:
        return
    name, env = choice
    print(f"keras_fer: restarting under {name} for faster CPU training "
          f"({CHOICE}=system to keep the system's)", file=sys.stderr)
    sys.stdout.flush()
    sys.stderr.flush()
    # orig_argv keeps "-m keras_fer" or the console script's path, whichever started us.
    os.execve(sys.executable, [sys.executable, *sys.orig_argv[1:]], env)
