"""What a benchmark run measures and how."""
from dataclasses import dataclass
from typing import Optional


@dataclass
class BenchmarkSettings:
    device: str = 'cpu'
    batch_size: int = 8
    img_size: Optional[int] = None
    num_points: Optional[int] = None
    steps: int = 10
    warmup: int = 3
    amp: Optional[str] = None  # 'bf16': bfloat16 autocast
    compile: bool = False
    check_frozen_grads: bool = False

    def __post_init__(self):
        if self.steps < 1:
            raise ValueError(f'steps must be >= 1, got {self.steps}')
        if self.warmup < (1 if self.compile else 0):
            raise ValueError(
                f'warmup must be >= {1 if self.compile else 0} '
                f'{"with --compile (the first call compiles)" * self.compile}'
                f', got {self.warmup}')
        if self.amp not in (None, 'bf16'):
            raise ValueError(f"amp must be None or 'bf16', got {self.amp!r}")
