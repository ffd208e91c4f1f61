"""The VTAB-1k results table: per task, per group, and the two averages
papers report (the mean of the three group means, and the mean of all 19
tasks; the table says which is which)."""
from dataclasses import dataclass
from typing import Dict, Mapping

from adapterx.datasets.vtab1k import VTAB1K_GROUPS, VTAB1K_TASKS


@dataclass
class VTABSummary:
    accuracies: Dict[str, float]
    group_means: Dict[str, float]
    mean_of_group_means: float
    mean_of_tasks: float
    missing: list

    def markdown(self) -> str:
        tasks = [t for group in VTAB1K_GROUPS.values() for t in group]
        header = '| ' + ' | '.join(
            tasks + [f'{g} mean' for g in VTAB1K_GROUPS] +
            ['mean of group means', 'mean of tasks']) + ' |'
        rule = '|' + '---|' * (len(tasks) + len(VTAB1K_GROUPS) + 2)
        cells = [self._cell(self.accuracies.get(t)) for t in tasks]
        cells += [self._cell(self.group_means.get(g)) for g in VTAB1K_GROUPS]
        cells += [
            self._cell(self.mean_of_group_means),
            self._cell(self.mean_of_tasks)
        ]
        return '\n'.join([header, rule, '| ' + ' | '.join(cells) + ' |'])

    @staticmethod
    def _cell(value):
        return '-' if value is None else f'{value:.1f}'


def summarise_vtab(accuracies: Mapping[str, float]) -> VTABSummary:
    """Group means and averages of per-task top-1 accuracies (in %).

    Averages over all groups and tasks are only given when every task has
    a result; a group mean only when all of its tasks have one.
    """
    unknown = sorted(set(accuracies) - set(VTAB1K_TASKS))
    if unknown:
        raise ValueError(f'Unknown VTAB-1k task(s) {unknown}; expected '
                         f'{sorted(VTAB1K_TASKS)}')
    group_means = {}
    for group, tasks in VTAB1K_GROUPS.items():
        if all(task in accuracies for task in tasks):
            group_means[group] = sum(accuracies[t] for t in tasks) / len(tasks)
    missing = [task for task in VTAB1K_TASKS if task not in accuracies]
    complete = not missing
    return VTABSummary(
        accuracies=dict(accuracies),
        group_means=group_means,
        mean_of_group_means=(sum(group_means.values()) / len(group_means)
                             if complete else None),
        mean_of_tasks=(sum(accuracies.values()) / len(accuracies)
                       if complete else None),
        missing=missing)
