from mmengine.hooks import Hook

from adapterx.registry import HOOKS
from ..random_state import (capture_random_state, restore_random_state,
                            seed_generators)


@HOOKS.register_module()
class EpochSeedHook(Hook):
    """Seed the global generators at the start of every training epoch from
    the run's seed and the epoch number, and keep validation from drawing
    on training's random numbers.

    What an epoch draws (dropout and drop-path masks, augmentation, the
    DataLoader's worker seeds) then depends on the seed and the epoch only,
    not on what ran before it. Validation also draws from the global
    generator (each DataLoader iterator takes a seed from it), and a run
    resumed at an epoch boundary skips the validation an uninterrupted run
    did just after saving; without reseeding the two runs would diverge.
    An iteration-based loop has one epoch and validates between
    iterations, so the generators' state is also put back after each
    validation.
    """

    priority = 'VERY_HIGH'

    def before_train_epoch(self, runner) -> None:
        seed_generators(runner.seed if runner.seed is not None else 0,
                        runner.epoch)

    def before_val(self, runner) -> None:
        self._training_state = capture_random_state()

    def after_val(self, runner) -> None:
        restore_random_state(self._training_state)
