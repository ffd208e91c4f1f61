"""Speed, memory and trainable parameters of PEFT methods on synthetic
inputs (tools/analysis_tools/benchmark.py), and the profiler check that
frozen weights get no gradient.

The measuring itself (:mod:`.measure`, :mod:`.model_setup`) builds models
and so imports every registered component; it is imported from its module
where needed, so that the process that only gathers and tabulates the
results stays light.
"""
from .frozen_gradients import FrozenGradientReport, check_frozen_gradients
from .report import RATIO_KEYS, markdown_report, ratios_to
from .settings import BenchmarkSettings

__all__ = [
    'BenchmarkSettings', 'FrozenGradientReport', 'RATIO_KEYS',
    'check_frozen_gradients', 'markdown_report', 'ratios_to'
]
