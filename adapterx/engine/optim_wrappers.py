from typing import Optional

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


# Where the guard's counts go in the optimizer state a checkpoint holds.
SKIP_COUNTS_KEY = 'nonfinite_loss_skips'


def _check_skip_limit(name, value):
    if value is not None and (isinstance(value, bool)
                              or not isinstance(value, int) or value < 1):
        raise ValueError(
            f'optim_wrapper.{name} must be a positive integer, or None for '
            f'no limit; got {value!r}')


class NonFiniteLossGuard:
    """Checks the loss before the backward pass: a NaN or infinite loss on
    any rank stops the run (``nonfinite_loss='raise'``, the default) before
    it reaches the weights, so they and the last checkpoint stay finite, or
    the step is skipped on every rank (``'skip'``).

    Skipping is for the odd bad batch. Losses that stay non-finite mean the
    run diverges, and would otherwise end "successfully" with the weights
    of its last finite step: it stops after ``max_consecutive_skips``
    skipped steps in a row (10 by default) or ``max_skipped_steps`` in all
    (None by default, no limit: how many sporadic bad batches are
    acceptable depends on the run's length). None turns a limit off. The
    counts are saved with the optimizer state, so a resumed run goes on
    counting.
    """

    def __init__(self,
                 *args,
                 nonfinite_loss: str = 'raise',
                 max_consecutive_skips: Optional[int] = 10,
                 max_skipped_steps: Optional[int] = None,
                 **kwargs):
        if nonfinite_loss not in NONFINITE_LOSS_ACTIONS:
            raise ValueError(
                f'nonfinite_loss must be one of {NONFINITE_LOSS_ACTIONS}, '
                f'got {nonfinite_loss!r}')
        _check_skip_limit('max_consecutive_skips', max_consecutive_skips)
        _check_skip_limit('max_skipped_steps', max_skipped_steps)
        self.nonfinite_loss = nonfinite_loss
        self.max_consecutive_skips = max_consecutive_skips
        self.max_skipped_steps = max_skipped_steps
        self.skipped_steps = 0
        self.consecutive_skips = 0
        super().__init__(*args, **kwargs)

    def update_params(self, loss, step_kwargs=None, zero_kwargs=None):
        if _finite_on_every_rank(loss):
            self.consecutive_skips = 0
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
        self.consecutive_skips += 1
        print_log(
            f'Skipped the update of iteration {iteration}: non-finite loss '
            f'({loss.item()}); {self.skipped_steps} skipped so far.',
            logger='current',
            level=30)
        self.zero_grad()
        self._stop_if_diverging(iteration)

    def _stop_if_diverging(self, iteration):
        for count, limit, name, what in [
            (self.consecutive_skips, self.max_consecutive_skips,
             'max_consecutive_skips', 'in a row'),
            (self.skipped_steps, self.max_skipped_steps, 'max_skipped_steps',
             'in all'),
        ]:
            if limit is not None and count >= limit:
                raise NonFiniteLossError(
                    f'{count} steps {what} skipped for a non-finite loss, the '
                    f'last at iteration {iteration}: training diverges (too '
                    'high a learning rate?). Stopped; the weights and the '
                    'last checkpoint hold no NaN. To skip more, raise '
                    f'optim_wrapper.{name} (now {limit}; None for no limit).')

    def state_dict(self) -> dict:
        return dict(
            super().state_dict(),
            **{
                SKIP_COUNTS_KEY:
                dict(skipped_steps=self.skipped_steps,
                     consecutive_skips=self.consecutive_skips)
            })

    def load_state_dict(self, state_dict: dict) -> None:
        state_dict = dict(state_dict)
        # Absent from checkpoints of adapterx versions that did not count.
        counts = state_dict.pop(SKIP_COUNTS_KEY, {})
        self.skipped_steps = counts.get('skipped_steps', 0)
        self.consecutive_skips = counts.get('consecutive_skips', 0)
        super().load_state_dict(state_dict)


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
