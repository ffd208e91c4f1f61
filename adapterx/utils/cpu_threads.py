"""How many CPU threads torch uses in the tools and demos.

torch defaults to one intra-op thread per core. On a small machine that
other work shares, those threads wait on each other: the digits demo ran
35x slower per iteration with torch's default on a busy 2-core machine
than with one thread. The tools therefore use half the cores this process
may run on (at least one), unless the user set ``OMP_NUM_THREADS``, which
wins.
"""
import os

import torch


def configure_cpu_threads() -> int:
    """Set torch's intra-op thread count as described above; returns it.

    Raises:
        ValueError: ``OMP_NUM_THREADS`` is set to something other than a
            positive whole number (naming it).
    """
    requested = os.environ.get('OMP_NUM_THREADS')
    if requested:
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
