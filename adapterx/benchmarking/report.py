"""Benchmark results as ratios to a reference method and as a Markdown
table."""
from typing import Dict, List, Optional, Tuple

# The measured quantities a ratio is taken of (lower is better for all but
# throughput). The *_cpu_ms ones (process CPU time) exist on CPU only.
RATIO_KEYS = ('train_step_ms', 'train_step_cpu_ms', 'samples_per_second',
              'peak_memory_mib', 'inference_ms', 'inference_cpu_ms')
# Ratio columns of the table: (key, title).
RATIO_COLUMNS = (('train_step_ms', 'step'),
                 ('train_step_cpu_ms', 'step CPU time'),
                 ('peak_memory_mib', 'memory'), ('inference_ms', 'inference'),
                 ('inference_cpu_ms', 'inference CPU time'))


def ratios_to(results: Dict[str, dict], reference: str) -> Dict[str, dict]:
    """Each method's :data:`RATIO_KEYS` (those measured) divided by
    ``reference``'s."""
    if reference not in results:
        raise KeyError(f'Reference method {reference!r} is not among the '
                       f'benchmarked methods {sorted(results)}')
    base = results[reference]
    return {
        name: {
            key: result[key] / base[key]
            for key in RATIO_KEYS
            if result.get(key) is not None and base.get(key) is not None
        }
        for name, result in results.items()
    }


def results_table(results: Dict[str, dict],
                  reference: Optional[str] = None
                  ) -> Tuple[List[str], List[List[str]]]:
    """The header and formatted rows of the benchmark table: trainable
    parameters in both conventions, step time, throughput, peak memory,
    inference latency, and the ratios to ``reference``."""
    ratios = ratios_to(results, reference) if reference else None
    with_cpu_time = all(
        r.get('train_step_cpu_ms') is not None for r in results.values())
    memory_kinds = sorted({r['memory_kind'] for r in results.values()})
    columns = [('train step (ms)', 'train_step_ms', '.1f')]
    if with_cpu_time:
        columns.append(('train step CPU time (ms)', 'train_step_cpu_ms',
                        '.1f'))
    columns += [('samples/s', 'samples_per_second', '.1f'),
                (f'peak memory (MiB, {", ".join(memory_kinds)})',
                 'peak_memory_mib', '.1f'),
                ('inference (ms)', 'inference_ms', '.1f')]
    if with_cpu_time:
        columns.append(('inference CPU time (ms)', 'inference_cpu_ms',
                        '.1f'))
    ratio_columns = [(key, title) for key, title in RATIO_COLUMNS
                     if ratios and key in ratios[reference]]
    header = (['method', 'trainable w/o head (% of backbone)',
               'trainable with head (% of model)'] +
              [title for title, _, _ in columns] +
              [f'{title} / {reference}' for _, title in ratio_columns])
    rows = []
    for name, result in results.items():
        cells = [
            name,
            f'{result["trainable_without_head"]:,} '
            f'({result["percent_of_backbone_without_head"]:.2f}%)',
            f'{result["trainable_with_head"]:,} '
            f'({result["percent_of_model_with_head"]:.2f}%)',
        ]
        cells += [format(result[key], spec) for _, key, spec in columns]
        cells += [f'{ratios[name][key]:.2f}x' for key, _ in ratio_columns]
        rows.append(cells)
    return header, rows


def markdown_report(results: Dict[str, dict], command: str,
                    settings: dict, reference: Optional[str] = None) -> str:
    """The table of :func:`results_table`, the exact command and the
    settings."""
    header, rows = results_table(results, reference)
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    lines += ['| ' + ' | '.join(row) + ' |' for row in rows]
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
    groupings = {name: result['grouping'] for name, result in results.items()
                 if 'grouping' in result}
    if groupings:
        text += ['', 'Grouping (furthest point sampling by the path the '
                 'model takes, kNN), timed alone:', '']
        text += [
            f'- {name}: FPS ({g["fps_backend"]}) {g["fps_ms"]:.2f} ms, kNN '
            f'{g["knn_ms"]:.2f} ms: {100 * g["share_of_train_step"]:.1f}% '
            'of the training step' +
            (f'; FPS by the PyTorch path {g["fps_torch_ms"]:.2f} ms'
             if 'fps_torch_ms' in g else '')
            for name, g in groupings.items()
        ]
    explained = {name: result['graph_breaks']
                 for name, result in results.items()
                 if 'graph_breaks' in result}
    if explained:
        text += ['', 'torch.compile of the inference forward '
                 '(torch._dynamo.explain):', '']
        text += [
            f'- {name}: {e["graphs"]} graph(s), {e["graph_breaks"]} graph '
            'break(s)' + (f' ({"; ".join(e["reasons"])})'
                          if e['reasons'] else '')
            for name, e in explained.items()
        ]
    return '\n'.join(text) + '\n'
