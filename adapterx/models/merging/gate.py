"""The gating network: which task's pool did an image come from.

A small image classifier over the classifier's preprocessed inputs,
trained with cross-entropy where the only label is the index of the pool
(task) an unlabeled image was drawn from. Its softmax (applied once) gives
the task probabilities that weight the dynamic merge. As the authors
train it: a MobileNetV2 initialised from torchvision's ImageNet weights (a
file the user brings), on at most 1,000 unlabeled images a task, with
TrivialAugmentWide (:class:`~.data.GatePool`).
"""
from typing import Iterable, List, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from adapterx.checkpoint import load_third_party_weights
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
            linear) or ``'mobilenet_v2'`` (torchvision's, scaled by
            ``width_mult``; nothing is downloaded).
        in_channels (int): Image channels (tiny_cnn).
        width (int): Channels of the first convolution (tiny_cnn).
        width_mult (float): MobileNetV2's width multiplier (1.0 for
            torchvision's ImageNet weights).
        pretrained (str, optional): A torchvision MobileNetV2 state dict
            file (``.pth`` read weights-only, or ``.safetensors``), e.g.
            torchvision's ``MobileNet_V2_Weights.IMAGENET1K_V1``: every
            tensor of the network of ``width_mult`` must be in it, in its
            shape, and nothing else; its classifier (of any class count)
            is replaced by one of ``num_tasks`` outputs. None: random
            initialisation.

    Raises:
        ValueError: Unknown arch, fewer than 2 tasks, ``pretrained`` for
            the tiny CNN, or a ``pretrained`` file that is not a
            MobileNetV2 of ``width_mult`` (the message names the file and
            the keys or shapes at fault).
    """

    def __init__(self, num_tasks: int, arch: str = 'tiny_cnn',
                 in_channels: int = 3, width: int = 16,
                 width_mult: float = 0.5, pretrained: Optional[str] = None):
        super().__init__()
        if arch not in ARCHS:
            raise ValueError(f'Unknown gate arch {arch!r}; known: {ARCHS}')
        if num_tasks < 2:
            raise ValueError(f'A gate needs at least 2 tasks, got {num_tasks}')
        self.num_tasks = num_tasks
        if arch == 'tiny_cnn':
            if pretrained is not None:
                raise ValueError(f'The tiny_cnn gate has no pretrained '
                                 f'weights ({pretrained} given); use '
                                 "arch='mobilenet_v2' for them")
            self.net = _tiny_cnn(in_channels, width, num_tasks)
        else:
            self.net = _mobilenet_v2(num_tasks, width_mult, pretrained)

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


def _mobilenet_v2(num_tasks: int, width_mult: float,
                  pretrained: Optional[str]) -> nn.Module:
    """torchvision's MobileNetV2 with a classifier of ``num_tasks``
    outputs, its other tensors those of ``pretrained`` when given."""
    from torchvision.models import mobilenet_v2
    net = mobilenet_v2(weights=None, width_mult=width_mult)
    if pretrained is not None:
        state = load_third_party_weights(pretrained)
        expected = net.state_dict()
        missing = [key for key in expected if key not in state]
        unexpected = [key for key in state if key not in expected]
        classifier = 'classifier.1.weight'
        wrong_shape = [
            f'{key} {tuple(state[key].shape)} (expected '
            f'{tuple(value.shape)})' for key, value in expected.items()
            if key in state and state[key].shape != value.shape and not (
                key.startswith('classifier.1.')
                and state[key].shape[1:] == value.shape[1:])
        ]
        if missing or unexpected or wrong_shape:
            raise ValueError(
                f'{pretrained} is not a torchvision MobileNetV2 state dict '
                f'of width_mult={width_mult} (the gate arch '
                f"'mobilenet_v2'): {len(missing)} keys missing "
                f'{missing[:3]}, {len(unexpected)} unexpected '
                f'{unexpected[:3]}, shapes differ: {wrong_shape[:3]}')
        net.classifier[1] = nn.Linear(state[classifier].shape[1],
                                      state[classifier].shape[0])
        net.load_state_dict(state, strict=True)
    net.classifier[1] = nn.Linear(net.classifier[1].in_features, num_tasks)
    return net


def train_gate(gate: TaskGate, batches: Iterable[Tuple[Tensor, Tensor]],
               epochs: int = 5, lr: float = 1e-3) -> List[float]:
    """Train ``gate`` to tell which task an image comes from, with Adam.

    Args:
        batches: ``(images (B, C, H, W), tasks (B, ))`` batches, iterated
            once per epoch (e.g. :class:`~.data.PreprocessedBatches` of a
            shuffling loader over a :class:`~.data.GatePool`).

    Returns:
        list[float]: Mean loss of each epoch.

    Raises:
        ValueError: A task index is not one of the gate's T, or an epoch
            has no batch of 2 or more images.
    """
    optimizer = torch.optim.Adam(gate.parameters(), lr=lr)
    gate.train()
    losses = []
    for _ in range(epochs):
        total, count = 0.0, 0
        for images, tasks in batches:
            if int(tasks.max()) >= gate.num_tasks or int(tasks.min()) < 0:
                raise ValueError(f'Task indices {tasks.unique().tolist()} '
                                 f'for a gate of {gate.num_tasks} tasks')
            if len(tasks) < 2:
                # BatchNorm cannot normalise a single image's 1x1 features.
                continue
            loss = F.cross_entropy(gate(images), tasks)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(tasks)
            count += len(tasks)
        if count == 0:
            raise ValueError('The gate got no batch of 2 or more images')
        losses.append(total / count)
    gate.eval()
    return losses
