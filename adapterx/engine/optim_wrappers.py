import torch
from mmengine.dist import all_reduce, is_distributed
from mmengine.logging import MessageHub, print_log
from mmengine.optim import AmpOptimWrapper, OptimWrapper

from adapterx.registry import OPTIM_WRAPPERS

NONFINITE_LOSS_ACTIONS = ('raise', 'skip')


class NonFiniteLossError(FloatingPointError):
    """The loss was NaN or infinite; the update was not made."""


def _finite_on_every_rank(loss: torch.Tensor) -> bool:
    finite = torch.isfinite(loss.detach()).all().float().reshape(1)
    if is_distributed():
        # Every rank must take the same decision: a rank that skipped its
        # backward would leave the others waiting in DDP's all-reduce.
        all_reduce(finite, op='min')
    return bool(finite.item())


class NonFiniteLossGuard:
    """Checks the loss before the backward pass: a NaN or infinite loss on
    any rank stops the run (``nonfinite_loss='raise'``, the default) before
    it reaches the weights, so they and the last checkpoint stay finite, or
    the step is skipped on every rank (``'skip'``)."""

    def __init__(self, *args, nonfinite_loss: str = 'raise', **kwargs):
        if nonfinite_loss not in NONFINITE_LOSS_ACTIONS:
            raise ValueError(
                f'nonfinite_loss must be one of {NONFINITE_LOSS_ACTIONS}, '
                f'got {nonfinite_loss!r}')
        self.nonfinite_loss = nonfinite_loss
        self.skipped_steps = 0
        super().__init__(*args, **kwargs)

    def update_params(self, loss, step_kwargs=None, zero_kwargs=None):
        if _finite_on_every_rank(loss):
            return super().update_params(loss, step_kwargs, zero_kwargs)
        iteration = MessageHub.get_current_instance().get_info('iter')
        if self.nonfinite_loss == 'raise':
            raise NonFiniteLossError(
                f'Non-finite loss ({loss.item()} here; checked on every '
                f'rank) at iteration {iteration}: stopped before this '
                'update, so the weights and the last checkpoint hold no NaN. '
                "Set optim_wrapper.nonfinite_loss='skip' to skip such "
                'steps instead.')
        self.skipped_steps += 1
        print_log(
            f'Skipped the update of iteration {iteration}: non-finite loss '
            f'({loss.item()}); {self.skipped_steps} skipped so far.',
            logger='current',
            level=30)
        self.zero_grad()


@OPTIM_WRAPPERS.register_module()
class GuardedOptimWrapper(NonFiniteLossGuard, OptimWrapper):
    """mmengine's ``OptimWrapper`` with :class:`NonFiniteLossGuard`."""


@OPTIM_WRAPPERS.register_module()
class GuardedAmpOptimWrapper(NonFiniteLossGuard, AmpOptimWrapper):
    """mmengine's ``AmpOptimWrapper`` with :class:`NonFiniteLossGuard`."""


# What PeftRunner builds for mmengine's own wrapper types.
# Scoped, so that they are found under any default scope (mmseg's and
# mmdet's configs run PeftRunner under theirs).
GUARDED_TYPES = {
    'OptimWrapper': 'adapterx.GuardedOptimWrapper',
    'AmpOptimWrapper': 'adapterx.GuardedAmpOptimWrapper',
}
