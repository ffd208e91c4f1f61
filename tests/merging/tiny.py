"""Tiny mmpretrain ViT classifiers and in-memory task data for the merging
tests."""
import numpy as np
import torch
import torch.nn.functional as F
from mmengine.config import Config

from adapterx.datasets import SyntheticShapes, SyntheticTaskImages
from adapterx.registry import MODELS
from tests.utils import REPO_ROOT

TINY_MODEL_CONFIG = REPO_ROOT / 'configs/_base_/models/vit_tiny_test.py'
TASKS = ('patterns', 'gratings', 'hues')
NUM_CLASSES = {'patterns': 3, 'gratings': 4, 'hues': 5}


def write_merge_config(root, tasks, *lines):
    """``root/merge.py``: a merge config on the tiny test ViT and in-memory
    32 px data, the pretrained model ``root/pretrained.pth``, ``tasks``,
    then ``lines``; its path."""
    base = REPO_ROOT / 'configs' / '_base_'
    config = root / 'merge.py'
    config.write_text('\n'.join([
        f"_base_ = ['{base}/models/vit_tiny_test.py',",
        f"          '{base}/datasets/in_memory_32px.py']",
        f"pretrained = '{root / 'pretrained.pth'}'",
        f'tasks = {tasks!r}',
        *lines,
    ]) + '\n')
    return config


def tiny_classifier(num_classes=4, seed=0):
    """The tiny test ViT (2 blocks of width 32) behind a ViT head, without
    drop path (so fine-tuning is deterministic under a seed)."""
    torch.manual_seed(seed)
    model_cfg = Config.fromfile(TINY_MODEL_CONFIG).model
    model_cfg.backbone.drop_path_rate = 0.0
    model_cfg.head.num_classes = num_classes
    return MODELS.build(model_cfg)


def as_inputs(images):
    """uint8 HWC images to the inputs the demo's data preprocessor gives
    (mean = std = 127.5)."""
    array = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float()
    return (array - 127.5) / 127.5


def task_data(task, split, num_per_class):
    dataset = SyntheticTaskImages(task=task, split=split,
                                  num_classes=NUM_CLASSES[task],
                                  num_per_class=num_per_class, seed=0)
    items = [dataset[index] for index in range(len(dataset))]
    return (as_inputs([item['img'] for item in items]),
            torch.tensor([item['gt_label'] for item in items]))


def shapes_data(num_per_class):
    dataset = SyntheticShapes(num_per_class=num_per_class, seed=0)
    items = [dataset[index] for index in range(len(dataset))]
    return (as_inputs([item['img'] for item in items]),
            torch.tensor([item['gt_label'] for item in items]))


def fit(model, inputs, labels, epochs, lr=1e-3, seed=0, batch_size=32):
    """Full fine-tuning with AdamW, seeded."""
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(inputs), generator=generator)
        for start in range(0, len(inputs), batch_size):
            batch = order[start:start + batch_size]
            loss = F.cross_entropy(model(inputs[batch], mode='tensor'),
                                   labels[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    model.eval()
    return model


def perturbed_states(model, num_classes, scale=0.05, seed=0):
    """Parameters of ``model`` plus noise, one state per entry of
    ``num_classes`` (with a head of that many classes): stand-ins for
    fine-tuned models."""
    generator = torch.Generator().manual_seed(seed)
    states = []
    for classes in num_classes:
        state = {
            name: value.detach() + scale * torch.randn(
                value.shape, generator=generator)
            for name, value in model.named_parameters()
            if not name.startswith('head.')
        }
        width = model.head.layers.head.in_features
        state['head.layers.head.weight'] = torch.randn(
            classes, width, generator=generator)
        state['head.layers.head.bias'] = torch.randn(classes,
                                                     generator=generator)
        states.append(state)
    return states
