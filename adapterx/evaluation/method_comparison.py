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
import math
import os
import os.path as osp
from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional, Sequence

from adapterx.datasets.vtab1k import VTAB1K_GROUPS, VTAB1K_TASKS
from .vtab_summary import summarise_vtab

PARAMETER_FILE = 'trainable_parameters.json'
METRICS_FILE = 'test_metrics.json'
# (count key, percent key, what the header says, what the count counts)
# per convention.
CONVENTIONS = {
    '2d': ('trainable_without_head', 'percent_of_backbone_without_head',
           'without head, % of backbone', 'without the head'),
    '3d': ('trainable_with_head', 'percent_of_model_with_head',
           'with head, % of model', 'with the head'),
}
# Distinct markers, so that methods differ in shape as well as colour.
MARKERS = 'osD^vP*Xph<>'
# How far (in decades of the log axis, and as a share of the accuracy
# range) the points stay from the plot's edges.
X_MARGIN_DECADES = 0.4
Y_MARGIN = 0.12
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
    count_key, percent_key = CONVENTIONS[convention][:2]
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

    def figure(self):
        """The accuracy-vs-trainable-parameters plot (a matplotlib Figure):
        each method's mean accuracy against its trainable parameters in
        millions (log axis), one colour and marker per method, labelled
        beside its point and in the legend with its share. A method with
        no trainable parameters in the convention (linear probing without
        its head) sits one decade left of the others, where the axis
        reads 0."""
        import matplotlib
        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
        from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

        plotted = [(r, mean) for r, mean in zip(self.results, self.means)
                   if mean is not None]
        if not plotted:
            raise ValueError('No method has a result for every task: '
                             'nothing to plot')
        positive = [r.trainable_millions for r, _ in plotted
                    if r.trainable > 0]
        # Decades spanning the counts (a decade of width at least).
        low = math.floor(math.log10(min(positive))) if positive else -3
        high = max(math.ceil(math.log10(max(positive))), low + 1) \
            if positive else low + 1
        zero_at = 10.0**(low - 1)
        has_zero = len(positive) < len(plotted)

        colours = plt.get_cmap('tab10' if len(plotted) <= 10 else 'tab20')
        figure, axes = plt.subplots(figsize=(7.5, 4.8))
        for index, (result, mean) in enumerate(plotted):
            x = result.trainable_millions if result.trainable > 0 \
                else zero_at
            axes.scatter(
                x, mean, s=55, color=colours(index % colours.N),
                marker=MARKERS[index % len(MARKERS)], zorder=3,
                label=f'{result.name}: {result.trainable_millions:.3g} M '
                f'({result.percent:.3g} %)')
            # Names of points in the right third read leftwards, inside.
            right = math.log10(x) > high - (high - low + 1) / 3
            axes.annotate(result.name, (x, mean), textcoords='offset points',
                          xytext=(-7 if right else 7, 5),
                          ha='right' if right else 'left', fontsize=8)

        axes.set_xscale('log')
        first = low - 1 if has_zero else low
        axes.set_xlim(10.0**(first - X_MARGIN_DECADES),
                      10.0**(high + X_MARGIN_DECADES))
        decades = [10.0**power for power in range(first, high + 1)]
        axes.xaxis.set_major_locator(FixedLocator(decades))
        axes.xaxis.set_minor_locator(NullLocator() if has_zero else
                                     matplotlib.ticker.LogLocator(
                                         subs=range(2, 10)))
        axes.xaxis.set_major_formatter(FuncFormatter(
            lambda value, _: '0' if has_zero and value == zero_at else
            f'{value:g}'))
        if has_zero:
            # Between "0" and the first count: not a log-scale distance.
            axes.axvline(10.0**(low - 0.5), color='grey', linestyle=':',
                         linewidth=1)
        accuracies = [mean for _, mean in plotted]
        spread = max(max(accuracies) - min(accuracies), 1.0)
        axes.set_ylim(min(accuracies) - Y_MARGIN * spread,
                      max(accuracies) + Y_MARGIN * spread)

        counted = CONVENTIONS[self.convention][3]
        axes.set_xlabel(f'trainable parameters {counted} (millions, log '
                        'scale)')
        axes.set_ylabel(f'{self.mean_header} of {self.metric} (%)')
        axes.grid(True, which='major', alpha=0.3)
        share = 'backbone' if self.convention == '2d' else 'model'
        axes.legend(title=f'method: parameters (% of {share})', fontsize=8,
                    title_fontsize=8, loc='upper left',
                    bbox_to_anchor=(1.02, 1), borderaxespad=0)
        figure.tight_layout()
        return figure

    def plot(self, path: str) -> None:
        """Write :meth:`figure` to ``path`` (PNG at 150 dpi, with nothing
        cut off)."""
        import matplotlib.pyplot as plt
        figure = self.figure()
        figure.savefig(path, dpi=150, bbox_inches='tight')
        plt.close(figure)


def compare_methods(methods: Mapping[str, str], convention: str = '2d',
                    metric: str = 'accuracy/top1') -> ComparisonTable:
    """The table of ``methods`` (name -> work dir), in the given order."""
    return ComparisonTable(
        [read_method(name, work_dir, convention, metric)
         for name, work_dir in methods.items()], convention, metric)
