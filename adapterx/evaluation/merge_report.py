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
    """
    method: str
    accuracies: Dict[str, float]
    storage: int
    m: Optional[int] = None
    routing: Optional[str] = None
    gate_accuracy: Dict[str, float] = field(default_factory=dict)
    dynamic_units: List[str] = field(default_factory=list)

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
        'dynamic parameters + the T heads + the gate.', '',
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


def plot(results: List[MergeResult], path: str) -> None:
    """Individual models and static merges as points, the dynamic merges of
    each routing as a line over m (labelled with m once)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    figure, axes = plt.subplots(figsize=(7, 4.5))
    for result in results:
        if result.m is None:
            axes.scatter(result.storage, result.mean, label=result.method,
                         zorder=3)
    routings = []
    for result in results:
        if result.m is not None and result.routing not in routings:
            routings.append(result.routing)
    for position, routing in enumerate(routings):
        line = sorted((result for result in results
                       if result.m is not None and result.routing == routing),
                      key=lambda result: result.m)
        axes.plot([result.storage for result in line],
                  [result.mean for result in line],
                  marker='s', linestyle='-' if position == 0 else '--',
                  label=f'dynamic ({routing} routing)')
        if position == 0:
            for result in line:
                axes.annotate(f'm={result.m}', (result.storage, result.mean),
                              fontsize=7, xytext=(3, -10),
                              textcoords='offset points')
    axes.set_xlabel('storage (parameters)')
    axes.set_ylabel('mean accuracy over tasks (%)')
    axes.set_title('Accuracy vs storage')
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
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
