"""The table PEFT papers open with: each method's trainable parameters and
accuracies, read from the work dirs the training and test tools leave.

A method's work dir is either one task's work dir or a folder of them
(``<method>/<task>/``, the layout of ``tools/run_vtab.py``'s
``--work-dir-root``). A task's work dir holds

- ``trainable_parameters.json``, written by :class:`ParameterFreezeHook`
  before training (counts in both conventions), and
- ``test_metrics.json``, written by ``tools/test.py --dump-metrics`` (which
  ``tools/run_vtab.py`` calls with that name).

Parameter conventions: ``'2d'`` counts the trainable parameters without the
task head as a share of the backbone (VPT, NOAH, Adapter-X 2D), ``'3d'``
with the head as a share of the whole model (IDPT, DAPT). Heads differ
between tasks (class counts), so a method's count is its mean over tasks.
"""
import csv
import io
import json
import os
import os.path as osp
from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional, Sequence

from adapterx.datasets.vtab1k import VTAB1K_GROUPS, VTAB1K_TASKS
from .vtab_summary import summarise_vtab

PARAMETER_FILE = 'trainable_parameters.json'
METRICS_FILE = 'test_metrics.json'
# (count key, percent key, what the header says) per convention.
CONVENTIONS = {
    '2d': ('trainable_without_head', 'percent_of_backbone_without_head',
           'without head, % of backbone'),
    '3d': ('trainable_with_head', 'percent_of_model_with_head',
           'with head, % of model'),
}
# A single task's work dir (no task folders) is listed under this name.
SINGLE_TASK = 'test'


@dataclass
class MethodResult:
    name: str
    trainable: float  # mean over tasks, in the chosen convention
    percent: float
    accuracies: Dict[str, float]  # task -> metric (%)
    group_means: Dict[str, float]  # VTAB-1k groups, when complete
    mean: Optional[float]  # mean of group means (VTAB-1k) or of tasks

    @property
    def trainable_millions(self) -> float:
        return self.trainable / 1e6


def _read_json(path: str, key: Optional[str] = None):
    if not osp.isfile(path):
        raise FileNotFoundError(f'Missing {path}')
    with open(path) as file:
        try:
            content = json.load(file)
        except json.JSONDecodeError as error:
            raise ValueError(f'{path} is not valid JSON: {error}') from error
    if key is not None and key not in content:
        raise KeyError(f'{path} has no {key!r} (it has {sorted(content)})')
    return content if key is None else content[key]


def task_dirs(work_dir: str) -> Dict[str, str]:
    """Task name -> task work dir of one method's work dir."""
    if not osp.isdir(work_dir):
        raise FileNotFoundError(f'No work dir {work_dir}')
    own_files = {PARAMETER_FILE, METRICS_FILE} & set(os.listdir(work_dir))
    if own_files:
        return {SINGLE_TASK: work_dir}
    tasks = {
        name: osp.join(work_dir, name)
        for name in sorted(os.listdir(work_dir))
        if osp.isdir(osp.join(work_dir, name)) and {
            PARAMETER_FILE, METRICS_FILE
        } & set(os.listdir(osp.join(work_dir, name)))
    }
    if not tasks:
        raise FileNotFoundError(
            f'{work_dir} holds neither {PARAMETER_FILE} and {METRICS_FILE} '
            'nor task folders with them (train with a ParameterFreezeHook '
            'in custom_hooks, test with tools/test.py --dump-metrics '
            f'<task work dir>/{METRICS_FILE})')
    return tasks


def read_method(name: str, work_dir: str, convention: str = '2d',
                metric: str = 'accuracy/top1') -> MethodResult:
    """One method's row from its work dir (see the module docstring)."""
    if convention not in CONVENTIONS:
        raise ValueError(f'convention must be one of {list(CONVENTIONS)}, '
                         f'got {convention!r}')
    count_key, percent_key, _ = CONVENTIONS[convention]
    counts, percents, accuracies = [], [], {}
    for task, directory in task_dirs(work_dir).items():
        parameters = _read_json(osp.join(directory, PARAMETER_FILE))
        for key in (count_key, percent_key):
            if key not in parameters:
                raise KeyError(f'{osp.join(directory, PARAMETER_FILE)} has '
                               f'no {key!r}')
        counts.append(parameters[count_key])
        percents.append(parameters[percent_key])
        accuracies[task] = float(
            _read_json(osp.join(directory, METRICS_FILE), metric))
    group_means, mean = {}, sum(accuracies.values()) / len(accuracies)
    if set(accuracies) <= set(VTAB1K_TASKS):
        summary = summarise_vtab(accuracies)
        group_means = summary.group_means
        mean = summary.mean_of_group_means
    return MethodResult(name, sum(counts) / len(counts),
                        sum(percents) / len(percents), accuracies,
                        group_means, mean)


def discover_methods(root: str) -> Dict[str, str]:
    """Method name -> work dir for every folder of ``root``
    (``<root>/<method>/<task>/``)."""
    if not osp.isdir(root):
        raise FileNotFoundError(f'No results root {root}')
    methods = {
        name: osp.join(root, name)
        for name in sorted(os.listdir(root))
        if osp.isdir(osp.join(root, name))
    }
    if not methods:
        raise FileNotFoundError(f'{root} has no method folders')
    return methods


class ComparisonTable:
    """Rows of :class:`MethodResult`; columns: the union of the methods'
    tasks (VTAB-1k order when they are VTAB-1k tasks), group means and the
    mean. A task a method lacks shows '-' and leaves its mean empty."""

    def __init__(self, results: Sequence[MethodResult], convention: str,
                 metric: str = 'accuracy/top1'):
        self.results = list(results)
        self.convention = convention
        self.metric = metric
        tasks = set().union(*(r.accuracies for r in self.results))
        self.vtab = tasks <= set(VTAB1K_TASKS)
        if self.vtab:
            self.tasks = [t for t in VTAB1K_TASKS if t in tasks]
            self.groups = [
                g for g, members in VTAB1K_GROUPS.items()
                if any(r.group_means.get(g) is not None
                       for r in self.results) or set(members) <= tasks
            ]
        else:
            self.tasks = sorted(tasks)
            self.groups = []
        # A mean over fewer tasks than the others' is no comparison.
        self.means = [
            r.mean if set(r.accuracies) == set(self.tasks) else None
            for r in self.results
        ]

    @property
    def mean_header(self) -> str:
        if self.vtab and len(self.groups) == len(VTAB1K_GROUPS):
            return 'mean of group means'
        return 'mean'

    def header(self) -> List[str]:
        description = CONVENTIONS[self.convention][2]
        return (['method', f'trainable params (M, {description})',
                 f'trainable ({description})'] + self.tasks +
                [f'{group} mean' for group in self.groups] +
                [self.mean_header])

    def rows(self, rounded: bool = False) -> List[list]:
        """Values per row: exact (CSV) or rounded for display (Markdown:
        params to 3 decimals of M, percent to 2, accuracies to 1)."""

        def cell(value, places):
            if value is None:
                return '-'
            return f'{value:.{places}f}' if rounded else value

        return [[result.name, cell(result.trainable_millions, 3),
                 cell(result.percent, 2)] +
                [cell(result.accuracies.get(t), 1) for t in self.tasks] +
                [cell(result.group_means.get(g), 1) for g in self.groups] +
                [cell(mean, 1)]
                for result, mean in zip(self.results, self.means)]

    def markdown(self) -> str:
        header = self.header()
        lines = ['| ' + ' | '.join(header) + ' |',
                 '|' + '---|' * len(header)]
        for row in self.rows(rounded=True):
            lines.append('| ' + ' | '.join(str(v) for v in row) + ' |')
        return '\n'.join(lines)

    def csv(self) -> str:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator='\n')
        writer.writerow(self.header())
        writer.writerows(self.rows())
        return buffer.getvalue()

    def plot(self, path: str) -> None:
        """Mean accuracy against trainable parameters (log x), one labelled
        point per method. A method with no trainable parameters in the
        convention (linear probing without its head) sits at the left edge,
        labelled as 0."""
        import matplotlib
        matplotlib.use('Agg')
        import matplotlib.pyplot as plt

        plotted = [(r, mean) for r, mean in zip(self.results, self.means)
                   if mean is not None]
        if not plotted:
            raise ValueError('No method has a result for every task: '
                             'nothing to plot')
        positive = [r.trainable_millions for r, _ in plotted
                    if r.trainable > 0]
        floor = min(positive) / 10 if positive else 1e-3
        figure, axes = plt.subplots(figsize=(6, 4.5))
        for result, mean in plotted:
            x = result.trainable_millions if result.trainable > 0 else floor
            label = result.name if result.trainable > 0 \
                else f'{result.name} (0)'
            axes.scatter(x, mean, s=40,
                         marker='o' if result.trainable > 0 else '<')
            axes.annotate(label, (x, mean),
                          textcoords='offset points', xytext=(5, 4),
                          fontsize=8)
        axes.set_xscale('log')
        axes.set_xlabel('trainable parameters (M, '
                        f'{CONVENTIONS[self.convention][2]})')
        axes.set_ylabel(f'{self.mean_header} ({self.metric}, %)')
        axes.grid(True, which='both', alpha=0.3)
        figure.tight_layout()
        figure.savefig(path, dpi=150)
        plt.close(figure)


def compare_methods(methods: Mapping[str, str], convention: str = '2d',
                    metric: str = 'accuracy/top1') -> ComparisonTable:
    """The table of ``methods`` (name -> work dir), in the given order."""
    return ComparisonTable(
        [read_method(name, work_dir, convention, metric)
         for name, work_dir in methods.items()], convention, metric)
