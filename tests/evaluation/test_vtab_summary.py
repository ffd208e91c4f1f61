import pytest

from adapterx.datasets import VTAB1K_GROUPS, VTAB1K_TASKS
from adapterx.evaluation import summarise_vtab


def test_group_means_and_both_averages():
    # Natural tasks score 70, Specialized 80, Structured 60.
    scores = {'Natural': 70.0, 'Specialized': 80.0, 'Structured': 60.0}
    accuracies = {task: scores[info.group]
                  for task, info in VTAB1K_TASKS.items()}
    accuracies['cifar'] = 77.0  # Natural mean: (7 * 70 + 7) / 7 = 71
    summary = summarise_vtab(accuracies)
    assert summary.group_means == pytest.approx(
        {'Natural': 71.0, 'Specialized': 80.0, 'Structured': 60.0})
    assert summary.mean_of_group_means == pytest.approx(211 / 3)
    # 7 Natural, 4 Specialized, 8 Structured tasks.
    assert summary.mean_of_tasks == pytest.approx(
        (7 * 71 + 4 * 80 + 8 * 60) / 19)
    assert summary.missing == []
    table = summary.markdown()
    assert '| 77.0 |' in table and '70.3 |' in table  # 211/3 = 70.33


def test_partial_results_give_no_averages():
    natural = {task: 50.0 for task in VTAB1K_GROUPS['Natural']}
    summary = summarise_vtab(natural)
    assert summary.group_means == {'Natural': 50.0}
    assert summary.mean_of_group_means is None
    assert summary.mean_of_tasks is None
    assert len(summary.missing) == 12
    assert summary.markdown().count(' - ') == 12 + 2 + 2


def test_unknown_task_is_named():
    with pytest.raises(ValueError, match='cifar10'):
        summarise_vtab({'cifar10': 90.0})
