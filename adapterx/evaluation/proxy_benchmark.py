"""The table and plot of the offline VTAB-style proxy benchmark
(``tools/demo/run_proxy_benchmark.py``), made from the raw results the
benchmark's JSON file keeps, so that both can be redrawn from the file.

One record per method (a dict, as JSON holds it)::

    method                   the name shown
    trainable_without_head   trainable parameters without the head, and
    percent_of_backbone      as a % of the backbone (2D convention)
    trainable_with_head      with the head, and as a % of the whole model
    percent_of_model         (3D convention); both means over tasks
    learning_rates           task -> the learning rate picked on val200
    val_accuracies           task -> {learning rate: val200 top-1 %}
    test_accuracies          task -> [test top-1 % of each seed]
"""
import json
import math
import statistics
from typing import Dict, List, Mapping, Sequence, Tuple

from adapterx.datasets.vtab1k import VTAB1kTask, vtab1k_task_table
from .vtab_summary import summarise_vtab

TASK_PREFIX = 'proxy_'


def best_learning_rate(val_accuracies: Mapping[float, float]) -> float:
    """The learning rate of the highest validation accuracy; of tied ones
    the smallest."""
    if not val_accuracies:
        raise ValueError('No validation accuracy to pick a learning rate '
                         'from')
    return max(sorted(val_accuracies), key=lambda lr: val_accuracies[lr])


def mean_of_group_means(record: Mapping, tasks: Mapping[str, VTAB1kTask]
                        ) -> Tuple[Dict[str, float], List[float]]:
    """A method's group means (of the seeds' mean accuracy per task) and
    the mean of its group means for each seed; the latter is empty unless
    every task has a result for the same number of seeds."""
    accuracies = record['test_accuracies']
    done = {task: values for task, values in accuracies.items() if values}
    means = {task: statistics.mean(values) for task, values in done.items()}
    group_means = summarise_vtab(means, tasks).group_means
    seed_counts = {len(values) for values in done.values()}
    if set(done) != set(tasks) or len(seed_counts) != 1:
        return group_means, []
    per_seed = [
        summarise_vtab({task: values[seed] for task, values in done.items()},
                       tasks).mean_of_group_means
        for seed in range(seed_counts.pop())
    ]
    return group_means, per_seed


def _mean_and_spread(values: Sequence[float]) -> str:
    if not values:
        return '-'
    if len(values) == 1:
        return f'{values[0]:.1f}'
    return f'{statistics.mean(values):.1f} ± {statistics.stdev(values):.1f}'


def proxy_table(records: Sequence[Mapping], tasks: Mapping[str, VTAB1kTask]
                ) -> Tuple[List[str], List[List[str]]]:
    """Header and rows: each method's test top-1 per task (mean over
    seeds), per group, the mean of the group means (± its standard
    deviation over seeds), and the trainable parameters in both
    conventions. A task without a result shows '-'."""
    groups = list(dict.fromkeys(info.group for info in tasks.values()))
    header = (['method'] + [task.replace(TASK_PREFIX, '') for task in tasks]
              + [f'{group} mean' for group in groups] +
              ['mean of group means', 'trainable w/o head', '% of backbone',
               'trainable w/ head', '% of model'])
    rows = []
    for record in records:
        accuracies = record['test_accuracies']
        group_means, per_seed = mean_of_group_means(record, tasks)
        rows.append(
            [record['method']] +
            [f'{statistics.mean(accuracies[task]):.1f}'
             if accuracies.get(task) else '-' for task in tasks] +
            [f'{group_means[group]:.1f}' if group in group_means else '-'
             for group in groups] + [
                 _mean_and_spread(per_seed),
                 f'{round(record["trainable_without_head"]):,}',
                 f'{record["percent_of_backbone"]:.2f}',
                 f'{round(record["trainable_with_head"]):,}',
                 f'{record["percent_of_model"]:.2f}'
             ])
    return header, rows


def plot_accuracy_vs_parameters(records: Sequence[Mapping],
                                tasks: Mapping[str, VTAB1kTask], path: str,
                                title: str = '') -> None:
    """Mean of group means (error bar: standard deviation over seeds)
    against the trainable share of the backbone without the head (log
    scale), one marker per method, named in the legend. A method that
    trains nothing in the backbone (linear probing) sits at the left edge
    with a left-pointing marker. Methods without every task are left out.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    plotted = [(record, per_seed) for record in records
               for per_seed in [mean_of_group_means(record, tasks)[1]]
               if per_seed]
    if not plotted:
        raise ValueError('No method has a result for every task: nothing '
                         'to plot')
    positive = [record['percent_of_backbone'] for record, _ in plotted
                if record['percent_of_backbone'] > 0]
    floor = min(positive) / 10 if positive else 1e-3
    markers = 'osD^vP*Xhp<>'
    figure, axes = plt.subplots(figsize=(8, 5))
    # tab20's strong colours first, then their light partners.
    colours = plt.get_cmap('tab20').colors[::2] + \
        plt.get_cmap('tab20').colors[1::2]
    for index, (record, per_seed) in enumerate(plotted):
        share = record['percent_of_backbone']
        spread = statistics.stdev(per_seed) if len(per_seed) > 1 else None
        axes.errorbar(
            share if share > 0 else floor, statistics.mean(per_seed),
            yerr=spread, fmt='<' if share <= 0 else
            markers[index % len(markers)], color=colours[index % 20],
            markersize=8, capsize=3,
            label=record['method'] + (' (0 %)' if share <= 0 else ''))
    axes.set_xscale('log')
    axes.xaxis.set_major_formatter(
        FuncFormatter(lambda value, _: f'{value:g}'))
    # Between the powers of ten, only 2 and 5 are labelled (room).
    axes.xaxis.set_minor_formatter(FuncFormatter(
        lambda value, _: f'{value:g}' if round(
            value / 10**math.floor(math.log10(value))) in (2, 5) else ''))
    axes.set_xlabel('trainable parameters without the head, % of the '
                    'backbone (log scale)')
    axes.set_ylabel('test top-1 %, mean of group means')
    if title:
        axes.set_title(title, fontsize=10)
    axes.grid(True, which='both', alpha=0.3)
    axes.legend(fontsize=8, loc='center left', bbox_to_anchor=(1.01, 0.5))
    # The legend sits right of the axes; 'tight' keeps it in the file.
    figure.savefig(path, dpi=150, bbox_inches='tight')
    plt.close(figure)


def plot_results_file(results_json: str, path: str) -> None:
    """Draw the plot of a results file of the benchmark (its ``data``
    holds the task table and the method records)."""
    with open(results_json) as file:
        record = json.load(file)
    data = record['data']
    plot_accuracy_vs_parameters(data['methods'],
                                vtab1k_task_table(data['tasks']), path,
                                record['title'])
