"""Speed, memory and trainable parameters of PEFT methods on synthetic
inputs (tools/analysis_tools/benchmark.py), and the profiler check that
frozen weights get no gradient."""
from .frozen_gradients import FrozenGradientReport, check_frozen_gradients
from .measure import BenchmarkSettings, benchmark_config
from .model_setup import build_frozen_model, input_shape, synthetic_batch
from .report import RATIO_KEYS, markdown_report, ratios_to

__all__ = [
    'BenchmarkSettings', 'FrozenGradientReport', 'RATIO_KEYS',
    'benchmark_config', 'build_frozen_model', 'check_frozen_gradients',
    'input_shape', 'markdown_report', 'ratios_to', 'synthetic_batch'
]
