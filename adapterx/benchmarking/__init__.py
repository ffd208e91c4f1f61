"""Speed, memory and trainable parameters of PEFT methods on synthetic
inputs (tools/analysis_tools/benchmark.py), and the profiler check that
frozen weights get no gradient.

The measuring itself (:mod:`.measure`, :mod:`.model_setup`) builds models
and so imports every registered component; it is imported from its module
where needed, so that the process that only gathers and tabulates the
results stays light.
"""
from .capability import compile_problem, device_problem
from .frozen_gradients import FrozenGradientReport, check_frozen_gradients
from .report import RATIO_KEYS, markdown_report, ratios_to, results_table
from .scheduling import CommandResult, exclusive_device, run_command
from .settings import AMP_DTYPES, BenchmarkSettings

__all__ = [
    'AMP_DTYPES', 'BenchmarkSettings', 'CommandResult',
    'FrozenGradientReport', 'RATIO_KEYS', 'check_frozen_gradients',
    'compile_problem', 'device_problem', 'exclusive_device',
    'markdown_report', 'ratios_to', 'results_table', 'run_command'
]
