"""EWA's training hooks: Experts Weights Averaging after every optimizer
step taken, and the dense model saved at the end of training."""
import os.path as osp
from typing import Optional

import torch
from mmengine.dist import master_only
from mmengine.hooks import Hook
from mmengine.optim import OptimWrapperDict

from adapterx.checkpoint.io import check_safetensors_name, save_weights
from adapterx.checkpoint.state_dicts import unwrap_model
from adapterx.models.ewa import MoEFFN, convert_to_dense
from adapterx.models.ewa.expert_linear import check_share_rate_over
from adapterx.registry import HOOKS


def _moe_layers(model, hook_name: str):
    moes = [m for m in model.modules() if isinstance(m, MoEFFN)]
    if not moes:
        raise ValueError(
            f'{hook_name}: {type(model).__name__} has no MoE FFN; give the '
            "classifier peft=dict(type='MoEViT', ...) "
            '(configs/_base_/peft/ewa.py).')
    return moes


def _check_positive_int(name: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(
            f'EWAHook: {name} must be a positive integer, got {value!r}')


@master_only
def save_dense_checkpoint(model: torch.nn.Module, path: str,
                          meta: Optional[dict] = None) -> None:
    """Convert ``model`` (:func:`convert_to_dense`) and save it as a
    classifier's weights that the dense config loads
    (``tools/test.py DENSE_CONFIG path``): a safetensors file, ``meta`` as
    JSON (:func:`save_weights`); written atomically."""
    save_weights(path, convert_to_dense(model).state_dict(), meta)


@HOOKS.register_module()
class EWAHook(Hook):
    """Experts Weights Averaging: after every optimizer step that really
    updated the weights, every expert of every MoE FFN moves toward the
    experts' mean, ``W_i <- (1 - share_rate) W_i + share_rate * mean_j
    W_j``. The mean is unchanged; each expert's deviation from it shrinks
    by ``(1 - share_rate)``. With ``share_rate_over='others'`` the share
    rate mixes in the mean of the *other* experts instead, ``W_i <- (1 -
    share_rate) W_i + share_rate * mean_{j != i} W_j``: the same update
    with share rate ``share_rate * N / (N - 1)`` over all N experts
    (deviations shrink by ``1 - share_rate * N / (N - 1)``).

    No averaging after an iteration whose update did not happen: a
    gradient-accumulation iteration, a step AMP's GradScaler skipped for
    overflowing gradients, a non-finite loss skipped by
    :class:`~adapterx.engine.NonFiniteLossGuard`.

    Args:
        share_rate (float): In [0, 1]. Defaults to 0.3.
        share_rate_over (str): ``'all'`` (the default) or ``'others'``:
            the experts whose mean the share rate mixes in.
        interval (int): Average after every ``interval``-th step taken.
        ewa_epochs (int, optional): "Early EWA": average only during the
            first ``ewa_epochs`` epochs; None: throughout training.
    """

    # Before EMA and checkpoint hooks see the weights of the iteration.
    priority = 'ABOVE_NORMAL'

    def __init__(self,
                 share_rate: float = 0.3,
                 share_rate_over: str = 'all',
                 interval: int = 1,
                 ewa_epochs: Optional[int] = None):
        if isinstance(share_rate, bool) or not isinstance(
                share_rate, (int, float)) or not 0 <= share_rate <= 1:
            raise ValueError(
                f'EWAHook: share_rate must be in [0, 1], got {share_rate!r}')
        check_share_rate_over(share_rate_over, 'EWAHook')
        _check_positive_int('interval', interval)
        if ewa_epochs is not None:
            _check_positive_int('ewa_epochs', ewa_epochs)
        self.share_rate = float(share_rate)
        self.share_rate_over = share_rate_over
        self.interval = interval
        self.ewa_epochs = ewa_epochs
        self.steps_taken = 0
        self._stepped = False
        self._scale_before = None

    def before_train(self, runner) -> None:
        self._moes = _moe_layers(unwrap_model(runner.model), 'EWAHook')
        optim_wrapper = runner.optim_wrapper
        if isinstance(optim_wrapper, OptimWrapperDict):
            raise TypeError(
                'EWAHook needs one optimizer (an OptimWrapper), got an '
                'OptimWrapperDict')
        self._loss_scaler = getattr(optim_wrapper, 'loss_scaler', None)
        # Called only when optimizer.step() runs: not on accumulation
        # iterations, not on skipped non-finite losses, and not when a
        # GradScaler finds overflowing gradients.
        self._step_hook = optim_wrapper.optimizer.register_step_post_hook(
            self._mark_step)
        runner.logger.info(
            f'EWA on {len(self._moes)} MoE FFNs: share rate '
            f'{self.share_rate} over {self.share_rate_over} experts, every {self.interval} step(s), '
            + ('throughout training' if self.ewa_epochs is None else
               f'during the first {self.ewa_epochs} epoch(s)'))

    def _mark_step(self, optimizer, args, kwargs) -> None:
        self._stepped = True

    def _loss_scale(self) -> Optional[float]:
        return None if self._loss_scaler is None else \
            self._loss_scaler.get_scale()

    def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
        self._stepped = False
        self._scale_before = self._loss_scale()

    def _step_taken(self) -> bool:
        """Whether the optimizer updated the weights in this iteration."""
        if not self._stepped:
            return False
        # Optimizers that handle AMP scaling themselves (fused AdamW) are
        # stepped even on overflow and skip the update inside; the scaler
        # then backs its scale off.
        scale = self._loss_scale()
        return scale is None or scale >= self._scale_before

    def after_train_iter(self,
                         runner,
                         batch_idx,
                         data_batch=None,
                         outputs=None) -> None:
        if not self._step_taken():
            return
        self.steps_taken += 1
        in_window = self.ewa_epochs is None or runner.epoch < self.ewa_epochs
        if in_window and self.steps_taken % self.interval == 0:
            for moe in self._moes:
                moe.average_experts_(self.share_rate, self.share_rate_over)

    def after_train(self, runner) -> None:
        self._step_hook.remove()

    # The step count decides which steps the interval picks: a resumed run
    # continues it.
    def before_save_checkpoint(self, runner, checkpoint) -> None:
        checkpoint.setdefault('meta', {})['ewa_steps_taken'] = \
            self.steps_taken

    def after_load_checkpoint(self, runner, checkpoint) -> None:
        self.steps_taken = checkpoint.get('meta', {}).get('ewa_steps_taken', 0)


@HOOKS.register_module()
class DenseConversionHook(Hook):
    """At the end of training, convert the MoE model to the plain ViT (each
    MoE FFN's experts averaged into one FFN) and save it to
    ``work_dir/filename`` as a classifier checkpoint: evaluate it with the
    dense config,
    ``tools/test.py DENSE_CONFIG work_dir/dense_final.safetensors``.

    Args:
        filename (str): A ``.safetensors`` name. Defaults to
            ``'dense_final.safetensors'``.
    """

    priority = 'LOW'

    def __init__(self, filename: str = 'dense_final.safetensors'):
        # Checked here, not when training ends.
        check_safetensors_name(
            filename, "DenseConversionHook's dense model weights (filename)")
        self.filename = filename

    def before_train(self, runner) -> None:
        _moe_layers(unwrap_model(runner.model), 'DenseConversionHook')

    def after_train(self, runner) -> None:
        path = osp.join(runner.work_dir, self.filename)
        save_dense_checkpoint(
            unwrap_model(runner.model), path,
            dict(epoch=runner.epoch, iter=runner.iter))
        runner.logger.info(
            f'Saved the dense model (experts averaged) to {path}')
