from mmengine.runner import EpochBasedTrainLoop, IterBasedTrainLoop

from adapterx.registry import LOOPS
from .random_state import restore_random_state, seed_generators


def _restore_saved_random_state(runner) -> None:
    state = getattr(runner, '_loaded_random_state', None)
    if state is not None:
        restore_random_state(state)


@LOOPS.register_module()
class ResumableEpochBasedTrainLoop(EpochBasedTrainLoop):
    """mmengine's epoch loop, resumable in the middle of an epoch.

    mmengine restores the iteration count from an iteration checkpoint but
    then runs the interrupted epoch from its first batch again, so a run
    killed mid-epoch and resumed trains on those batches twice. This loop
    passes over the batches the checkpoint had already trained on (the
    sampler's order depends on the seed and the epoch only, and they are
    still loaded, so DataLoader workers draw what they drew before) and then
    restores the generators to their state at the save, so the rest of the
    run is the one an uninterrupted run would have made.
    ``PeftRunner`` uses this loop for every epoch-based config.
    """

    def run_epoch(self) -> None:
        # Batches of this epoch trained before the checkpoint was saved.
        self._batches_done = self._iter - self._epoch * len(self.dataloader)
        super().run_epoch()

    def run_iter(self, idx, data_batch) -> None:
        if idx < self._batches_done:
            return
        if idx == self._batches_done and idx > 0:
            _restore_saved_random_state(self.runner)
        super().run_iter(idx, data_batch)


class _EpochSeededDataLoader:
    """A DataLoader whose every pass (``iter``) starts from generators
    seeded by the run's seed and the pass's number.

    The iterator of a pass draws its workers' seeds from the global
    generator; seeded so, they do not depend on the dropout drawn before,
    which a resumed run has not drawn when it passes over the trained
    batches.
    """

    def __init__(self, dataloader, seed):
        self._dataloader = dataloader
        self._seed = seed
        self._passes = 0

    def __iter__(self):
        seed_generators(self._seed, self._passes)
        self._passes += 1
        return iter(self._dataloader)

    def __len__(self):
        return len(self._dataloader)

    def __getattr__(self, name):
        return getattr(self._dataloader, name)


@LOOPS.register_module()
class ResumableIterBasedTrainLoop(IterBasedTrainLoop):
    """mmengine's iteration loop, resumable exactly.

    mmengine already passes over the batches a resumed run had trained
    (``next`` on the dataloader ``iter`` times). This loop then restores the
    generators to their state at the save, as
    :class:`ResumableEpochBasedTrainLoop` does, and seeds each pass over the
    dataset like an epoch (:class:`_EpochSeededDataLoader`); validation
    between iterations leaves the generators as it found them
    (:class:`EpochSeedHook`). ``PeftRunner`` uses this loop for every
    iteration-based config.
    """

    def __init__(self, runner, dataloader, *args, **kwargs):
        super().__init__(runner, dataloader, *args, **kwargs)
        seed = runner.seed if runner.seed is not None else 0
        # Replaces the one mmengine made, before any batch is drawn.
        self.dataloader_iterator = type(self.dataloader_iterator)(
            _EpochSeededDataLoader(self.dataloader, seed))

    def run(self):
        self._resumed_at = self._iter
        return super().run()

    def run_iter(self, data_batch) -> None:
        if self._iter == self._resumed_at and self._iter > 0:
            _restore_saved_random_state(self.runner)
        super().run_iter(data_batch)
