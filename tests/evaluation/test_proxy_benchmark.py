"""The proxy benchmark's learning-rate pick, table and plot, from method
records as its results file keeps them."""
import statistics

import pytest
from PIL import Image

from adapterx.datasets.vtab1k import VTAB1kTask
from adapterx.evaluation.proxy_benchmark import (best_learning_rate,
                                                 mean_of_group_means,
                                                 plot_accuracy_vs_parameters,
                                                 plot_results_file,
                                                 proxy_table)
from adapterx.utils.results import write_results
from ..utils import REPO_ROOT

TASKS = {
    'proxy_a': VTAB1kTask('Natural', 3),
    'proxy_b': VTAB1kTask('Natural', 4),
    'proxy_c': VTAB1kTask('Structured', 5),
}


def record(name, accuracies, percent=1.5):
    return dict(method=name, trainable_without_head=12345.6,
                percent_of_backbone=percent, trainable_with_head=13000.4,
                percent_of_model=percent + 0.1, learning_rates={},
                val_accuracies={}, test_accuracies=accuracies)


FULL = record('Full', {'proxy_a': [60.0, 70.0], 'proxy_b': [80.0, 90.0],
                       'proxy_c': [30.0, 50.0]})


def test_best_learning_rate_takes_the_best_then_the_smallest():
    assert best_learning_rate({1e-3: 50.0, 1e-2: 70.0, 3e-3: 60.0}) == 1e-2
    assert best_learning_rate({1e-2: 70.0, 3e-4: 70.0, 1e-3: 10.0}) == 3e-4
    with pytest.raises(ValueError, match='No validation accuracy'):
        best_learning_rate({})


def test_group_means_per_seed():
    group_means, per_seed = mean_of_group_means(FULL, TASKS)
    # Seed 0: Natural (60 + 80) / 2 = 70, Structured 30 -> 50; seed 1: 80,
    # 50 -> 65.
    assert per_seed == pytest.approx([50.0, 65.0])
    assert group_means == pytest.approx({'Natural': 75.0, 'Structured': 40})
    partial = record('Partial', {'proxy_a': [60.0], 'proxy_b': [80.0]})
    assert mean_of_group_means(partial, TASKS) == ({'Natural': 70.0}, [])
    uneven = record('Uneven', dict(FULL['test_accuracies'],
                                   proxy_c=[30.0]))
    assert mean_of_group_means(uneven, TASKS)[1] == []


def test_table_cells():
    partial = record('Partial', {'proxy_a': [60.0], 'proxy_b': [],
                                 'proxy_c': [20.0]}, percent=0.0)
    header, rows = proxy_table([FULL, partial], TASKS)
    assert header == ['method', 'a', 'b', 'c', 'Natural mean',
                      'Structured mean', 'mean of group means',
                      'trainable w/o head', '% of backbone',
                      'trainable w/ head', '% of model']
    spread = statistics.stdev([50.0, 65.0])
    assert rows[0] == ['Full', '65.0', '85.0', '40.0', '75.0', '40.0',
                       f'57.5 ± {spread:.1f}', '12,346', '1.50', '13,000',
                       '1.60']
    assert rows[1][1:7] == ['60.0', '-', '20.0', '-', '20.0', '-']


def test_plot_from_a_results_file(tmp_path):
    probe = record('Probe', FULL['test_accuracies'], percent=0.0)
    partial = record('Partial', {'proxy_a': [1.0]})
    path = tmp_path / 'results.json'
    write_results(str(path), 'title', ['method'], [['Full']],
                  str(REPO_ROOT), data=dict(
                      tasks={task: info._asdict()
                             for task, info in TASKS.items()},
                      methods=[FULL, probe, partial]))
    plot_results_file(str(path), str(tmp_path / 'plot.png'))
    with Image.open(tmp_path / 'plot.png') as image:
        assert image.width > 600 and image.height > 300
    with pytest.raises(ValueError, match='nothing to plot'):
        plot_accuracy_vs_parameters([partial], TASKS,
                                    str(tmp_path / 'none.png'))
