import hashlib
import json
import os.path as osp
from typing import Optional, Sequence

import torch

from mmengine.dist import master_only
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.optim import OptimWrapper, OptimWrapperDict

from adapterx.checkpoint.state_dicts import unwrap_model
from adapterx.models.peft import freeze_parameters, trainable_parameter_report
from adapterx.models.peft.freeze import declared_trainable_names, set_trainable
from adapterx.registry import HOOKS


def _fingerprint(tensor) -> str:
    data = tensor.detach().cpu().contiguous()
    return hashlib.blake2b(
        data.view(-1).view(torch.uint8).numpy(),
        digest_size=16).hexdigest()


@HOOKS.register_module()
class ParameterFreezeHook(Hook):
    """Apply the model's trainable set; report it and verify it.

    Args:
        trainable (Sequence[str], optional): None (the configs' use): the
            set the model declares (``trainable_parameter_names()`` of
            :class:`~adapterx.models.PeftImageClassifier` and
            :class:`~adapterx.models.PointClassifier`: the method's set,
            the head and the config's ``trainable_extra`` /
            ``trainable_exclude``; in another codebase's detector, its
            ``PeftViTDense`` backbone's set and everything outside it, see
            :func:`~adapterx.models.peft.freeze.declared_trainable_names`).
            Or regular expressions (``re.search`` on the parameter names)
            of what trains, for a model that declares nothing, without
            DDP; a pattern that matches nothing is an error.
        head_pattern (str, optional): Names the task head, for the counts,
            when the model's own head (``head``, timm's
            ``get_classifier()``) is not it: 2D papers count trainable
            parameters without the head as a share of the backbone, 3D
            papers with it as a share of the whole model. Both are logged
            and written to ``trainable_parameters.json`` in the work dir.
        verify_frozen (bool): Fingerprint every frozen tensor before
            training and fail after training if one changed.

    Applying the set is idempotent: a model that froze itself when it was
    built (before any DDP wrap, as adapterx's models do) keeps exactly its
    set, so the hook applies it in ``before_run`` under any runner. Explicit
    patterns change the set after the runner built the model: without DDP
    that is what trains; a DDP-wrapped model is refused (DDP registered
    gradient hooks on the parameters that required grad when it wrapped
    them), with the error naming the model-side fix.
    """

    priority = 'VERY_HIGH'

    def __init__(self,
                 trainable: Optional[Sequence[str]] = None,
                 head_pattern: Optional[str] = None,
                 verify_frozen: bool = True):
        if trainable is not None and (isinstance(trainable, str)
                                      or not trainable):
            raise ValueError(
                'ParameterFreezeHook takes trainable=None (the model\'s own '
                'set) or a non-empty list of trainable patterns, got '
                f'{trainable!r}')
        self.trainable = None if trainable is None else list(trainable)
        self.head_pattern = head_pattern
        self.verify_frozen = verify_frozen
        self._fingerprints = {}

    def freeze(self, model) -> None:
        """Apply the trainable set to an unwrapped model."""
        if self.trainable is not None:
            freeze_parameters(model, self.trainable)
        else:
            set_trainable(model, declared_trainable_names(model))

    def before_run(self, runner) -> None:
        if self.trainable is not None and is_model_wrapper(runner.model):
            raise RuntimeError(
                'ParameterFreezeHook(trainable=[...]) cannot change the '
                'trainable set of a model that is already wrapped in DDP. '
                'Declare the set on the model instead, which freezes itself '
                "when built: peft=dict(type=..., trainable_extra=[r'...'], "
                "trainable_exclude=[r'...']) for adapterx's classifiers, a "
                "PeftViTDense backbone for another codebase's models; then "
                'use ParameterFreezeHook() without patterns.')
        self.freeze(self._model(runner))

    def _model(self, runner):
        return unwrap_model(runner.model)

    def before_train(self, runner) -> None:
        model = self._model(runner)
        _check_optimizer_holds_trainable(runner, model)
        report = trainable_parameter_report(model, self.head_pattern)
        runner.logger.info(f'Trainable parameters: {report.summary()}')
        self._write_report(runner, report)
        if self.verify_frozen:
            self._fingerprints = {
                name: _fingerprint(parameter)
                for name, parameter in model.named_parameters()
                if not parameter.requires_grad
            }

    @master_only
    def _write_report(self, runner, report) -> None:
        with open(osp.join(runner.work_dir, 'trainable_parameters.json'),
                  'w') as file:
            json.dump(
                dict(
                    total=report.total,
                    backbone=report.backbone,
                    head=report.head,
                    trainable_with_head=report.trainable,
                    trainable_without_head=report.trainable_without_head,
                    percent_of_backbone_without_head=report.
                    percent_of_backbone_without_head,
                    percent_of_model_with_head=report.
                    percent_of_model_with_head,
                    trainable_patterns=self.trainable),
                file,
                indent=2)

    def after_train(self, runner) -> None:
        if not self.verify_frozen:
            return
        parameters = dict(self._model(runner).named_parameters())
        changed = [
            name for name, fingerprint in self._fingerprints.items()
            if _fingerprint(parameters[name]) != fingerprint
        ]
        if changed:
            raise RuntimeError(
                f'{len(changed)} frozen parameter(s) changed during '
                f'training, e.g. {changed[:5]}: something updated them '
                'outside the optimizer (weight decay on frozen tensors, a '
                'hook, or in-place code).')
        runner.logger.info(
            f'Verified: none of the {len(self._fingerprints)} frozen '
            'parameter tensors changed during training.')


def _check_optimizer_holds_trainable(runner, model) -> None:
    """Refuse to train parameters that the optimizer does not hold: with a
    ``paramwise_cfg`` mmengine leaves out the parameters frozen when it
    builds the optimizer (before ``before_run``), so unfreezing them later
    would silently leave them at their initial values."""
    optim_wrapper = getattr(runner, 'optim_wrapper', None)
    if isinstance(optim_wrapper, OptimWrapperDict):
        wrappers = list(optim_wrapper.values())
    elif isinstance(optim_wrapper, OptimWrapper):
        wrappers = [optim_wrapper]
    else:
        return
    held = {
        id(parameter)
        for wrapper in wrappers for group in wrapper.optimizer.param_groups
        for parameter in group['params']
    }
    missing = [
        name for name, parameter in model.named_parameters()
        if parameter.requires_grad and id(parameter) not in held
    ]
    if missing:
        raise RuntimeError(
            f'{len(missing)} trainable parameter(s) are in no optimizer '
            f'parameter group, e.g. {missing[:5]}: they were frozen when the '
            'optimizer was built (a paramwise_cfg leaves frozen parameters '
            'out) and made trainable after, so they would never change. '
            'Declare them on the model, which freezes itself when built: '
            "peft=dict(type=..., trainable_extra=[r'...']).")
