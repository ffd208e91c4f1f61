"""The gating network: which task's pool did an image come from.

A small image classifier over the classifier's preprocessed inputs,
trained with cross-entropy where the only label is the index of the pool
(task) an unlabeled image was drawn from. Its softmax (applied once) gives
the task probabilities that weight the dynamic merge.
"""
from typing import List, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from adapterx.registry import MODELS

ARCHS = ('tiny_cnn', 'mobilenet_v2')


def _tiny_cnn(in_channels: int, width: int, num_tasks: int) -> nn.Module:
    layers, channels = [], in_channels
    for multiple in (1, 2, 4):
        layers += [
            nn.Conv2d(channels, width * multiple, 3, stride=2, padding=1),
            nn.BatchNorm2d(width * multiple),
            nn.ReLU(inplace=True)
        ]
        channels = width * multiple
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(channels, num_tasks))


@MODELS.register_module()
class TaskGate(nn.Module):
    """Task classifier for dynamic merging.

    Args:
        num_tasks (int): T.
        arch (str): ``'tiny_cnn'`` (three strided 3x3 convolutions of
            ``width``, 2x``width``, 4x``width`` channels, global pooling,
            linear) or ``'mobilenet_v2'`` (torchvision's, randomly
            initialised, scaled by ``width_mult``; nothing is downloaded).
        in_channels (int): Image channels (tiny_cnn).
        width (int): Channels of the first convolution (tiny_cnn).
        width_mult (float): MobileNetV2's width multiplier.
    """

    def __init__(self, num_tasks: int, arch: str = 'tiny_cnn',
                 in_channels: int = 3, width: int = 16,
                 width_mult: float = 0.5):
        super().__init__()
        if arch not in ARCHS:
            raise ValueError(f'Unknown gate arch {arch!r}; known: {ARCHS}')
        if num_tasks < 2:
            raise ValueError(f'A gate needs at least 2 tasks, got {num_tasks}')
        self.num_tasks = num_tasks
        if arch == 'tiny_cnn':
            self.net = _tiny_cnn(in_channels, width, num_tasks)
        else:
            from torchvision.models import mobilenet_v2
            self.net = mobilenet_v2(weights=None, num_classes=num_tasks,
                                    width_mult=width_mult)

    def forward(self, inputs: Tensor) -> Tensor:
        """Task logits, ``(B, T)``."""
        return self.net(inputs)

    @torch.no_grad()
    def probabilities(self, inputs: Tensor) -> Tensor:
        """Task probabilities, ``(B, T)``, in eval mode."""
        was_training = self.training
        self.eval()
        probabilities = self(inputs).softmax(-1)
        self.train(was_training)
        return probabilities


def train_gate(gate: TaskGate, pools: Sequence[Tensor], epochs: int = 5,
               lr: float = 1e-3, batch_size: int = 32, seed: int = 0
               ) -> List[float]:
    """Train ``gate`` to tell which of ``pools`` (one tensor of
    preprocessed images per task) an image comes from, with Adam.

    Returns:
        list[float]: Mean loss of each epoch.

    Raises:
        ValueError: The number of pools is not the gate's T, or a pool is
            empty.
    """
    if len(pools) != gate.num_tasks:
        raise ValueError(f'{len(pools)} image pools for a gate of '
                         f'{gate.num_tasks} tasks')
    empty = [index for index, pool in enumerate(pools) if len(pool) == 0]
    if empty:
        raise ValueError(f'The gate\'s image pools of tasks {empty} are empty')
    images = torch.cat(list(pools))
    tasks = torch.cat([torch.full((len(pool), ), index, dtype=torch.long)
                       for index, pool in enumerate(pools)])
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(gate.parameters(), lr=lr)
    gate.train()
    losses = []
    for _ in range(epochs):
        order = torch.randperm(len(images), generator=generator)
        total = 0.0
        for start in range(0, len(images), batch_size):
            batch = order[start:start + batch_size]
            if len(batch) < 2:
                # BatchNorm cannot normalise a single image's 1x1 features.
                continue
            loss = F.cross_entropy(gate(images[batch]), tasks[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
        losses.append(total / len(images))
    gate.eval()
    return losses
