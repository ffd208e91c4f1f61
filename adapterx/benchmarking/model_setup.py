"""A config's model as it trains (built, so frozen to its method's set)
and a synthetic batch of its input shape, so that a method can be timed and
profiled without any dataset."""
from typing import List, Optional, Tuple

import torch
import torch.nn as nn
from mmengine.config import Config
from mmpretrain.structures import DataSample

from adapterx.models.classifiers import PointClassifier
from adapterx.models.peft import (TrainableParameterReport,
                                  trainable_parameter_report)
from adapterx.registry import MODELS


def build_frozen_model(cfg: Config) -> Tuple[nn.Module,
                                             TrainableParameterReport]:
    """Build ``cfg.model`` (random weights: no pretrained file is read); it
    freezes itself to its method's trainable set when built, as in
    training.

    Returns:
        The model and its trainable-parameter report (the head is the
        model's own).
    """
    model = MODELS.build(cfg.model)
    return model, trainable_parameter_report(model)


def _resample_size(pipeline) -> Optional[int]:
    for transform in pipeline or []:
        if transform.get('type') == 'ResamplePoints':
            return transform['num_points']
    return None


def input_shape(model: nn.Module, cfg: Config, batch_size: int,
                img_size: Optional[int] = None,
                num_points: Optional[int] = None) -> Tuple[int, ...]:
    """(B, N, 3) point clouds for a :class:`PointClassifier`, else (B, 3,
    H, W) images. Sizes not given come from the config: the test
    pipeline's ``ResamplePoints`` (or a top-level ``num_points``) and the
    backbone's ``img_size`` (224 when it names none)."""
    if isinstance(model, PointClassifier):
        if num_points is None:
            num_points = _resample_size(
                cfg.get('test_dataloader', {}).get('dataset', {}).get(
                    'pipeline')) or cfg.get('num_points')
        if num_points is None:
            raise ValueError(
                f'{cfg.filename}: no ResamplePoints in the test pipeline and '
                'no num_points: give the cloud size (--num-points)')
        return (batch_size, num_points, 3)
    if img_size is None:
        img_size = cfg.model.get('backbone', {}).get('img_size', 224)
    return (batch_size, 3, img_size, img_size)


def synthetic_batch(shape: Tuple[int, ...], num_classes: int,
                    device: str) -> Tuple[torch.Tensor, List[DataSample]]:
    """Normalised-looking random inputs (what the data preprocessor would
    hand the model) and labels cycling over the classes."""
    generator = torch.Generator().manual_seed(0)
    inputs = torch.randn(shape, generator=generator).to(device)
    samples = [
        DataSample().set_gt_label(index % num_classes).to(device)
        for index in range(shape[0])
    ]
    return inputs, samples
