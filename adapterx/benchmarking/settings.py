"""What a benchmark run measures and how."""
from dataclasses import dataclass
from typing import Optional

import torch

# --amp values and the autocast dtype each stands for.
AMP_DTYPES = {'bf16': torch.bfloat16, 'fp16': torch.float16}


@dataclass
class BenchmarkSettings:
    device: str = 'cpu'
    batch_size: int = 8
    img_size: Optional[int] = None
    num_points: Optional[int] = None
    steps: int = 10
    warmup: int = 3
    amp: Optional[str] = None  # autocast dtype: AMP_DTYPES
    compile: bool = False
    # torch.compile's backend: 'inductor' (generated kernels), or 'eager'
    # / 'aot_eager' (graph capture only: quick, for dry runs).
    compile_backend: str = 'inductor'
    check_frozen_grads: bool = False
    # Count the graph breaks of the model's forward (torch._dynamo.explain).
    explain_graph_breaks: bool = False

    def __post_init__(self):
        if self.steps < 1:
            raise ValueError(f'steps must be >= 1, got {self.steps}')
        if self.warmup < (1 if self.compile else 0):
            raise ValueError(
                f'warmup must be >= {1 if self.compile else 0} '
                f'{"with --compile (the first call compiles)" * self.compile}'
                f', got {self.warmup}')
        if self.amp is not None and self.amp not in AMP_DTYPES:
            raise ValueError(f'amp must be None or one of {list(AMP_DTYPES)}'
                             f', got {self.amp!r}')
