"""How many CPU threads torch uses in the tools and demos.

torch defaults to one intra-op thread per core. On a small machine that
other work shares, those threads wait on each other: the digits demo ran
35x slower per iteration with torch's default on a busy 2-core machine
than with one thread. The tools therefore use half the cores this process
may run on (at least one), unless the user set ``OMP_NUM_THREADS``, which
wins, or gave a tool's ``--threads``, which wins over both.
"""
import os
from typing import Optional

import torch


def configure_cpu_threads(threads: Optional[int] = None) -> int:
    """Set torch's intra-op thread count as described above; returns it.

    Args:
        threads: an explicit count (a tool's ``--threads``), or None.

    Raises:
        ValueError: ``threads`` or ``OMP_NUM_THREADS`` is not a positive
            whole number (naming it).
    """
    if threads is not None:
        if threads < 1:
            raise ValueError(f'--threads {threads}: give a positive number '
                             'of threads, e.g. --threads 1')
    elif os.environ.get('OMP_NUM_THREADS'):
        requested = os.environ['OMP_NUM_THREADS']
        try:
            threads = int(requested)
        except ValueError:
            threads = 0
        if threads < 1:
            raise ValueError(
                f'OMP_NUM_THREADS={requested!r} is not a positive whole '
                'number of threads; unset it or set e.g. OMP_NUM_THREADS=1')
    else:
        threads = max(1, len(os.sched_getaffinity(0)) // 2)
    torch.set_num_threads(threads)
    return threads


def configure_cpu_threads_without_gpu() -> Optional[int]:
    """:func:`configure_cpu_threads` for a tool that runs on the GPU when
    there is one: on a machine without CUDA it sets and returns the count;
    with CUDA it leaves torch's default and returns None."""
    if torch.cuda.is_available():
        return None
    return configure_cpu_threads()
