from mmengine.runner import EpochBasedTrainLoop

from adapterx.registry import LOOPS
from .random_state import restore_random_state


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
            state = getattr(self.runner, '_loaded_random_state', None)
            if state is not None:
                restore_random_state(state)
        super().run_iter(idx, data_batch)
