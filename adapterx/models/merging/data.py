"""The merge's data, streamed: datasets read their samples as a loader asks
for them and batches are preprocessed one at a time, so memory does not
grow with the test sets or the gate's pools.

- :class:`GatePool`: the gate's training set, each task's unlabeled images
  (at most ``cap`` of them, a seeded random subset) labelled with the
  task's index, optionally augmented with TrivialAugmentWide;
- :class:`PreprocessedBatches`: ``(inputs, labels)`` batches of a loader
  after the classifier's data preprocessor, re-iterable (one pass per
  evaluation or gate epoch);
- :class:`UnlabeledImages`: the inputs of such batches without their
  labels (AdaMerging's view of the test sets).
"""
from typing import (Callable, Iterable, Iterator, List, Optional, Sequence,
                    Tuple)

import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset


def capped_indices(length: int, cap: Optional[int], seed: int) -> List[int]:
    """``min(length, cap)`` distinct indices of ``range(length)`` drawn with
    ``seed``, in increasing order; all of them when ``cap`` is None or not
    below ``length``."""
    if cap is None or cap >= length:
        return list(range(length))
    if cap < 1:
        raise ValueError(f'The gate pool cap must be at least 1, got {cap}')
    generator = torch.Generator().manual_seed(seed)
    return sorted(torch.randperm(length, generator=generator)[:cap].tolist())


class GatePool(Dataset):
    """The gate's training images: sample ``i`` is ``(image, task)``, the
    image a packed one (``inputs``, uint8 ``(C, H, W)``) of one task's
    dataset, the task its index.

    Args:
        datasets (Sequence[Dataset]): One per task, each giving packed
            samples (a dict with ``inputs``); their labels are not read.
        cap (int, optional): At most this many images a task (a random
            subset drawn with ``seed``, a different one per task); None
            takes every image.
        augment (Callable, optional): Applied to each image as it is read
            (e.g. ``torchvision.transforms.TrivialAugmentWide()``).
        seed (int): Seed of the subsets.

    Raises:
        ValueError: A task's dataset is empty (the message names the task
            index).
    """

    def __init__(self, datasets: Sequence[Dataset],
                 cap: Optional[int] = 1000,
                 augment: Optional[Callable[[Tensor], Tensor]] = None,
                 seed: int = 0):
        empty = [task for task, dataset in enumerate(datasets)
                 if len(dataset) == 0]
        if empty:
            raise ValueError(f"The gate's image pools of tasks {empty} are "
                             'empty')
        self.datasets = list(datasets)
        self.augment = augment
        self.items = [(task, index)
                      for task, dataset in enumerate(self.datasets)
                      for index in capped_indices(len(dataset), cap,
                                                  seed + task)]

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> Tuple[Tensor, int]:
        task, sample = self.items[index]
        image = self.datasets[task][sample]['inputs']
        if self.augment is not None:
            image = self.augment(image)
        return image, task

    @property
    def num_tasks(self) -> int:
        return len(self.datasets)

    @staticmethod
    def collate(items):
        """A batch: the images as a list (the data preprocessor stacks
        them) and the tasks as a tensor."""
        images, tasks = zip(*items)
        return dict(inputs=list(images)), torch.tensor(tasks)


class PreprocessedBatches:
    """``(inputs, labels)`` per batch of ``loader``, preprocessed by
    ``data_preprocessor`` (the classifier's, in eval mode) as it is read.

    ``loader`` gives either mmengine-packed batches (``inputs`` and
    ``data_samples``; the labels are the samples' ``gt_label``) or
    ``(batch, labels)`` pairs (:meth:`GatePool.collate`).
    """

    def __init__(self, loader: DataLoader,
                 data_preprocessor: Callable[[dict, bool], dict]):
        self.loader = loader
        self.data_preprocessor = data_preprocessor

    def __iter__(self) -> Iterator[Tuple[Tensor, Tensor]]:
        for batch in self.loader:
            if isinstance(batch, dict):
                data = self.data_preprocessor(batch, False)
                labels = torch.cat(
                    [sample.gt_label for sample in data['data_samples']])
            else:
                batch, labels = batch
                data = self.data_preprocessor(batch, False)
            yield data['inputs'], labels

    def __len__(self) -> int:
        return len(self.loader)


class UnlabeledImages:
    """The inputs of ``(inputs, labels)`` batches, labels dropped: what
    AdaMerging reads of a test set (the images, never the labels);
    re-iterable."""

    def __init__(self, batches: Iterable[Tuple[Tensor, Tensor]]):
        self.batches = batches

    def __iter__(self) -> Iterator[Tensor]:
        for inputs, _ in self.batches:
            yield inputs

    def __len__(self) -> int:
        return len(self.batches)
