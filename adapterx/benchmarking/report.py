"""Benchmark results as ratios to a reference method and as a Markdown
table."""
from typing import Dict, Optional

# The measured quantities a ratio is taken of (lower is better for all but
# throughput).
RATIO_KEYS = ('train_step_ms', 'samples_per_second', 'peak_memory_mib',
              'inference_ms')


def ratios_to(results: Dict[str, dict], reference: str) -> Dict[str, dict]:
    """Each method's :data:`RATIO_KEYS` divided by ``reference``'s."""
    if reference not in results:
        raise KeyError(f'Reference method {reference!r} is not among the '
                       f'benchmarked methods {sorted(results)}')
    base = results[reference]
    return {
        name: {key: result[key] / base[key] for key in RATIO_KEYS}
        for name, result in results.items()
    }


def markdown_report(results: Dict[str, dict], command: str,
                    settings: dict, reference: Optional[str] = None) -> str:
    """The table (trainable parameters in both conventions, step time,
    throughput, peak memory, inference latency, and the ratios to
    ``reference``), the exact command and the settings."""
    ratios = ratios_to(results, reference) if reference else None
    memory_kinds = sorted({r['memory_kind'] for r in results.values()})
    header = ['method', 'trainable w/o head (% of backbone)',
              'trainable with head (% of model)', 'train step (ms)',
              'samples/s', f'peak memory (MiB, {", ".join(memory_kinds)})',
              'inference (ms)']
    if ratios:
        header += [f'step / {reference}', f'memory / {reference}',
                   f'inference / {reference}']
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    for name, result in results.items():
        cells = [
            name,
            f'{result["trainable_without_head"]:,} '
            f'({result["percent_of_backbone_without_head"]:.2f}%)',
            f'{result["trainable_with_head"]:,} '
            f'({result["percent_of_model_with_head"]:.2f}%)',
            f'{result["train_step_ms"]:.1f}',
            f'{result["samples_per_second"]:.1f}',
            f'{result["peak_memory_mib"]:.1f}',
            f'{result["inference_ms"]:.1f}',
        ]
        if ratios:
            cells += [f'{ratios[name][key]:.2f}x' for key in
                      ('train_step_ms', 'peak_memory_mib', 'inference_ms')]
        lines.append('| ' + ' | '.join(cells) + ' |')
    checks = {
        name: result['frozen_gradients']['summary']
        for name, result in results.items() if 'frozen_gradients' in result
    }
    text = ['```', command, '```', '',
            ', '.join(f'{key}={value}' for key, value in settings.items()),
            '', *lines]
    if checks:
        text += ['', 'Frozen-weight gradients (torch.profiler, one '
                 'eager backward):', '']
        text += [f'- {name}: {summary}' for name, summary in checks.items()]
    return '\n'.join(text) + '\n'
