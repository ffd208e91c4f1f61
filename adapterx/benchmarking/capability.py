"""Whether this machine can run a benchmark as asked: checked before any
model is built, and said in one line."""
from typing import Optional

import torch


def _first_lines(error: Exception, count: int = 2) -> str:
    lines = [line.strip() for line in str(error).splitlines()
             if line.strip()]
    return ' '.join(lines[:count])


def device_problem(device: str) -> Optional[str]:
    """Why ``device`` cannot be used here, or None."""
    if not device.startswith('cuda'):
        return None
    if not torch.cuda.is_available():
        return (f'--device {device}: torch {torch.__version__} sees no CUDA '
                'device on this machine; use --device cpu')
    index = torch.device(device).index
    if index is not None and index >= torch.cuda.device_count():
        return (f'--device {device}: this machine has '
                f'{torch.cuda.device_count()} CUDA device(s), numbered from '
                '0')
    return None


def compile_problem(device: str, backend: str = 'inductor') -> Optional[str]:
    """Why torch.compile cannot compile for ``device`` with ``backend``
    here, found by compiling a one-line function (seconds), or None."""
    try:
        compiled = torch.compile(lambda x: x * 2 + 1, backend=backend)
        compiled(torch.ones(4, device=device))
    except Exception as error:
        return (f'--compile: torch {torch.__version__} cannot compile for '
                f'{device} with the {backend!r} backend here '
                f'({type(error).__name__}: {_first_lines(error)}); run '
                'without --compile')
    return None
