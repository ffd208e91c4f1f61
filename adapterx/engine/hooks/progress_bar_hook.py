from mmengine.dist import is_main_process
from mmengine.hooks import Hook

from adapterx.registry import HOOKS
from adapterx.utils.console import progress_bar


@HOOKS.register_module()
class ProgressBarHook(Hook):
    """A console progress bar of the training iterations, with the epoch,
    the time spent and the time left (rank 0 only): what the tools show in
    place of mmengine's log lines when the console is quiet
    (``console_log_level``).

    Args:
        description (str): What the bar is labelled with, e.g. the method.
    """

    priority = 'VERY_LOW'

    def __init__(self, description: str = 'training'):
        self.description = description
        self.progress = None

    def _label(self, runner, epoch: int) -> str:
        max_epochs = getattr(runner.train_loop, 'max_epochs', None)
        if max_epochs is None:  # iteration-based: one pass, no epochs
            return self.description
        return f'{self.description} (epoch {epoch}/{max_epochs})'

    def before_train(self, runner) -> None:
        if not is_main_process():
            return
        self.progress = progress_bar()
        self.progress.start()
        self.task = self.progress.add_task(
            self._label(runner, runner.epoch + 1), total=runner.max_iters,
            completed=runner.iter)

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None) -> None:
        if self.progress is not None:
            # The loop counts this iteration after its hooks ran.
            self.progress.update(
                self.task, completed=runner.iter + 1,
                description=self._label(runner, runner.epoch + 1))

    def after_train(self, runner) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None
