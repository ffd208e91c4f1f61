"""Running measurements as child processes: with a time limit that ends
the whole process group, and taking the device in turn.

Processes that measure in parallel (tools/analysis_tools/gpu_check.py
runs several so that one's torch.compile overlaps another's timing) hold
:func:`exclusive_device` while they time, so no two timed sections
overlap.
"""
import contextlib
import fcntl
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from typing import Optional, Sequence


@contextlib.contextmanager
def exclusive_device(lock_path: Optional[str]):
    """Hold the lock file ``lock_path`` (an exclusive ``flock``, freed by
    the kernel if the holder dies) for the duration; no lock if None."""
    if lock_path is None:
        yield
        return
    with open(lock_path, 'a') as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@dataclass
class CommandResult:
    returncode: Optional[int]  # None: killed at the time limit
    seconds: float
    output: str  # stdout and stderr, interleaved

    @property
    def timed_out(self) -> bool:
        return self.returncode is None

    def tail(self, chars: int = 4000) -> str:
        return self.output[-chars:]


def run_command(command: Sequence[str], timeout: Optional[float] = None,
                env: Optional[dict] = None,
                cwd: Optional[str] = None) -> CommandResult:
    """Run ``command`` in a session of its own; past ``timeout`` seconds
    the whole group is killed (torch.compile's and the data loader's
    worker processes too, which would otherwise hold the device)."""
    start = time.perf_counter()
    process = subprocess.Popen([str(part) for part in command], env=env,
                               cwd=cwd, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True,
                               start_new_session=True)
    try:
        output, _ = process.communicate(timeout=timeout)
        returncode = process.returncode
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        returncode = None
    return CommandResult(returncode, time.perf_counter() - start, output)
