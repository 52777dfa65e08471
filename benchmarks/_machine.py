"""What every benchmark prints first: the machine the figures were measured on."""

from __future__ import annotations

import os
import platform
import resource
import sys


def describe_machine() -> str:
    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as handle:
            cpu = next(line.split(":", 1)[1].strip() for line in handle if "model name" in line)
    except (OSError, StopIteration):
        pass
    return (
        f"machine: {cpu}, {os.cpu_count()} cores, {memory_gib:.0f} GiB, "
        f"Python {sys.version.split()[0]}, {platform.system()} {platform.release()}"
    )


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
