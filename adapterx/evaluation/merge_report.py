"""The reports of tools/merge_vits.py: per-task accuracy and storage of the
individual models, each static merge and each dynamic merge, as JSON,
Markdown and a plot of mean accuracy against storage."""
import json
import os.path as osp
from dataclasses import asdict, dataclass, field
from typing import Dict, List, Optional


@dataclass
class MergeResult:
    """One row: a method's per-task accuracy (%) and its storage.

    Attributes:
        method (str): e.g. ``individual``, ``ties``, ``dynamic``.
        accuracies (dict[str, float]): Per task, in %.
        storage (int): Parameters to store, counted from the tensors.
        m (int, optional): Dynamic merges: attention / MLP units per kind
            merged dynamically.
        routing (str, optional): Dynamic merges: the routing mode.
        gate_accuracy (dict[str, float], optional): Dynamic merges: per
            task, % of its test images whose routed task is the task.
        dynamic_units (list[str]): Dynamic merges: the attention and MLP
            units merged dynamically (besides embeddings and norms).
        entropies (list[float]): AdaMerging: the entropy loss per step
            (:attr:`~adapterx.models.merging.AdaMergingResult.entropies`).
        coefficients (dict[str, float]): AdaMerging: per task its learned
            coefficient (mean over the tensors when layer-wise).
    """
    method: str
    accuracies: Dict[str, float]
    storage: int
    m: Optional[int] = None
    routing: Optional[str] = None
    gate_accuracy: Dict[str, float] = field(default_factory=dict)
    dynamic_units: List[str] = field(default_factory=list)
    entropies: List[float] = field(default_factory=list)
    coefficients: Dict[str, float] = field(default_factory=dict)

    @property
    def mean(self) -> float:
        return sum(self.accuracies.values()) / len(self.accuracies)

    @property
    def label(self) -> str:
        if self.m is None:
            return self.method
        return f'{self.method} m={self.m} ({self.routing})'


def markdown(results: List[MergeResult], similarity: Dict[str, float],
             settings: dict) -> str:
    tasks = list(results[0].accuracies)
    single = next((result.storage for result in results
                   if result.method == 'individual'), None)
    lines = [
        '# ViT merging report', '',
        'Accuracy (%) per task on its test set. Individual models and static '
        'merges use the task\'s own head (the task is known); dynamic merges '
        'use the head the gate routes to (a wrongly routed image counts as '
        'wrong); each task\'s test set is run on its own, so per-batch '
        'routing sees task-pure batches (its best case). Storage: '
        'parameters to store, counted from the tensors; for a dynamic merge '
        'the static part (parameters not merged dynamically) + T x the '
        'dynamic parameters + the T heads + the gate. AdaMerging rows '
        'learn their coefficients from the unlabeled test images of every '
        'task (the method\'s test-time adaptation protocol; no label is '
        'read), which the other rows never see; the gate trains on '
        'training images only.', '',
        '| method | ' + ' | '.join(tasks) +
        ' | mean | storage (params) | x individual |',
        '|---|' + '---|' * (len(tasks) + 3)
    ]
    for result in results:
        cells = [f'{result.accuracies[task]:.2f}' for task in tasks]
        ratio = f'{result.storage / single:.3f}' if single else '-'
        lines.append(f'| {result.label} | ' + ' | '.join(cells) +
                     f' | {result.mean:.2f} | {result.storage:,} | {ratio} |')
    gated = [result for result in results if result.gate_accuracy]
    if gated:
        lines += ['', '## Routing accuracy (%)', '',
                  '| method | ' + ' | '.join(tasks) + ' |',
                  '|---|' + '---|' * len(tasks)]
        lines += [f'| {result.label} | ' + ' | '.join(
            f'{result.gate_accuracy[task]:.2f}' for task in tasks) + ' |'
                  for result in gated]
    adapted = [result for result in results if result.entropies]
    if adapted:
        lines += ['', '## AdaMerging (learned on the unlabeled test images)',
                  '', 'Entropy: the sum over tasks of the mean prediction '
                  'entropy (nats) of a batch of each task, before the first '
                  'and after the last step. Coefficients: per task, mean '
                  'over the tensors for layer-wise AdaMerging.', '',
                  '| method | steps | entropy before | entropy after | ' +
                  ' | '.join(tasks) + ' |',
                  '|---|---|---|---|' + '---|' * len(tasks)]
        lines += [f'| {result.label} | {len(result.entropies) - 1} | '
                  f'{result.entropies[0]:.4f} | {result.entropies[-1]:.4f} '
                  '| ' + ' | '.join(f'{result.coefficients[task]:.3f}'
                                    for task in tasks) + ' |'
                  for result in adapted]
    by_m = {result.m: result.dynamic_units for result in gated}
    if by_m:
        lines += ['', '## Units merged dynamically (besides embeddings and '
                  'norms)', '']
        lines += [f'- m={m}: {", ".join(units) or "none"}'
                  for m, units in by_m.items()]
    lines += ['', f'## Weight similarity per unit ({settings["metric"]} of '
              f'{settings["source"]}, mean over model pairs)', '',
              '| unit | value |', '|---|---|']
    lines += [f'| {unit} | {value:.6f} |'
              for unit, value in similarity.items()]
    lines += ['', '## Settings', '', '```json',
              json.dumps(settings, indent=2, default=str), '```', '']
    return '\n'.join(lines)


# Static methods are drawn this many points apart: they share one storage.
_STATIC_SPREAD = 7
_STATIC_MARKERS = 'osD^vPX<>hp'
_ROUTING_STYLES = (dict(linestyle='-', linewidth=3.0, alpha=0.55,
                        marker='o', markersize=10, markerfacecolor='none'),
                   dict(linestyle='--', linewidth=1.4, marker='s',
                        markersize=4),
                   dict(linestyle=':', linewidth=1.4, marker='^',
                        markersize=5))


def figure_of(results: List[MergeResult]):
    """Mean accuracy against storage (millions of parameters): the
    individual models as a star drawn on top, the static merges as points
    side by side (they share one storage), and the dynamic merges of each
    routing as a line over m in its own colour, line style and marker (so
    that coinciding routings stay visible), its points labelled with m."""
    import matplotlib.pyplot as plt
    from matplotlib.transforms import offset_copy
    colours = iter(plt.get_cmap('tab10').colors)
    figure, axes = plt.subplots(figsize=(8, 4.8))
    statics = [result for result in results
               if result.m is None and result.method != 'individual']
    for position, result in enumerate(statics):
        shift = offset_copy(axes.transData, fig=figure, units='points',
                            x=_STATIC_SPREAD * (position -
                                                (len(statics) - 1) / 2))
        axes.plot(result.storage / 1e6, result.mean, linestyle='none',
                  marker=_STATIC_MARKERS[position % len(_STATIC_MARKERS)],
                  markersize=8, color=next(colours), transform=shift,
                  label=result.method, zorder=3)
        # Drawn with an offset transform: autoscaling needs the data point.
        axes.update_datalim([(result.storage / 1e6, result.mean)])
    routings = []
    for result in results:
        if result.m is not None and result.routing not in routings:
            routings.append(result.routing)
    for position, routing in enumerate(routings):
        line = sorted((result for result in results
                       if result.m is not None and result.routing == routing),
                      key=lambda result: result.m)
        colour = next(colours)
        axes.plot([result.storage / 1e6 for result in line],
                  [result.mean for result in line], color=colour,
                  label=f'dynamic ({routing} routing)', zorder=2,
                  **_ROUTING_STYLES[position % len(_ROUTING_STYLES)])
        if position == 0:
            for result in line:
                axes.annotate(f'm={result.m}',
                              (result.storage / 1e6, result.mean),
                              fontsize=7, xytext=(4, -12),
                              textcoords='offset points')
    for result in results:
        if result.method == 'individual':
            axes.plot(result.storage / 1e6, result.mean, linestyle='none',
                      marker='*', markersize=15, color='black',
                      markeredgecolor='white', label='individual models',
                      zorder=5)
    axes.margins(x=0.08, y=0.1)
    axes.autoscale_view()
    axes.set_xlabel('storage (millions of parameters)')
    axes.set_ylabel('mean accuracy over tasks (%)')
    axes.set_title('Accuracy vs storage')
    axes.grid(alpha=0.3)
    legend = axes.legend(fontsize=8, loc='upper left',
                         bbox_to_anchor=(1.02, 1.0), borderaxespad=0)
    if len(statics) > 1:
        legend.set_title('static merges: one storage,\ndrawn side by side',
                         prop=dict(size=7))
    return figure


def plot(results: List[MergeResult], path: str) -> None:
    """:func:`figure_of` saved to ``path`` (legend and labels included)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    figure = figure_of(results)
    figure.savefig(path, dpi=120, bbox_inches='tight')
    plt.close(figure)


def write_merge_report(results: List[MergeResult],
                       similarity: Dict[str, float], settings: dict,
                       out_dir: str) -> Dict[str, str]:
    """Write ``merge_report.{json,md}`` and ``accuracy_vs_storage.png``
    into ``out_dir``; returns the paths by format."""
    paths = {
        'json': osp.join(out_dir, 'merge_report.json'),
        'md': osp.join(out_dir, 'merge_report.md'),
        'png': osp.join(out_dir, 'accuracy_vs_storage.png'),
    }
    with open(paths['json'], 'w') as file:
        json.dump(dict(results=[dict(asdict(result), mean=result.mean)
                                for result in results],
                       similarity=similarity, settings=settings),
                  file, indent=2, default=str)
    with open(paths['md'], 'w') as file:
        file.write(markdown(results, similarity, settings))
    plot(results, paths['png'])
    return paths
