"""The VTAB-1k results table: per task, per group, and the two averages
papers report (the mean of the three group means, and the mean of all 19
tasks; the table says which is which). Benchmarks in the VTAB-1k layout
with a task table of their own (``adapterx.datasets.PROXY_VTAB_TASKS``)
are summarised the same way."""
from dataclasses import dataclass
from typing import Dict, Mapping, Optional, Tuple

from adapterx.datasets.vtab1k import VTAB1K_TASKS, VTAB1kTask, task_groups


@dataclass
class VTABSummary:
    accuracies: Dict[str, float]
    group_means: Dict[str, float]
    mean_of_group_means: float
    mean_of_tasks: float
    missing: list
    groups: Dict[str, Tuple[str, ...]]  # group -> its tasks, table order

    def markdown(self) -> str:
        tasks = [t for group in self.groups.values() for t in group]
        header = '| ' + ' | '.join(
            tasks + [f'{g} mean' for g in self.groups] +
            ['mean of group means', 'mean of tasks']) + ' |'
        rule = '|' + '---|' * (len(tasks) + len(self.groups) + 2)
        cells = [self._cell(self.accuracies.get(t)) for t in tasks]
        cells += [self._cell(self.group_means.get(g)) for g in self.groups]
        cells += [
            self._cell(self.mean_of_group_means),
            self._cell(self.mean_of_tasks)
        ]
        return '\n'.join([header, rule, '| ' + ' | '.join(cells) + ' |'])

    @staticmethod
    def _cell(value):
        return '-' if value is None else f'{value:.1f}'


def summarise_vtab(accuracies: Mapping[str, float],
                   tasks: Optional[Mapping[str, VTAB1kTask]] = None
                   ) -> VTABSummary:
    """Group means and averages of per-task top-1 accuracies (in %).

    Averages over all groups and tasks are only given when every task has
    a result; a group mean only when all of its tasks have one.

    Args:
        tasks: The task table (name -> ``VTAB1kTask``); VTAB-1k's by
            default.
    """
    tasks = VTAB1K_TASKS if tasks is None else tasks
    unknown = sorted(set(accuracies) - set(tasks))
    if unknown:
        raise ValueError(f'Unknown task(s) {unknown}; expected '
                         f'{sorted(tasks)}')
    groups = task_groups(tasks)
    group_means = {}
    for group, members in groups.items():
        if all(task in accuracies for task in members):
            group_means[group] = (sum(accuracies[t] for t in members) /
                                  len(members))
    missing = [task for task in tasks if task not in accuracies]
    complete = not missing
    return VTABSummary(
        accuracies=dict(accuracies),
        group_means=group_means,
        mean_of_group_means=(sum(group_means.values()) / len(group_means)
                             if complete else None),
        mean_of_tasks=(sum(accuracies.values()) / len(accuracies)
                       if complete else None),
        missing=missing,
        groups=groups)
