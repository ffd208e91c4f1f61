import os.path as osp
import shutil
import tempfile
from collections import deque

from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook

from adapterx.checkpoint.io import atomic_file, remove_stale_partial_files
from adapterx.registry import HOOKS

POINTER = 'last_checkpoint'


class _WorkDirRedirect:
    """The runner, with ``work_dir`` pointing elsewhere."""

    def __init__(self, runner, work_dir):
        self._runner = runner
        self.work_dir = work_dir

    def __getattr__(self, name):
        return getattr(self._runner, name)


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """mmengine's CheckpointHook, safe against a kill during a save.

    - The ``last_checkpoint`` file, which ``--resume`` reads to find the
      checkpoint, is replaced in one step: mmengine rewrites it in place, and
      a kill during that write leaves it empty or truncated, so the resume
      fails although the checkpoints are complete.
    - With ``max_keep_ckpts``, the oldest kept checkpoint is removed once
      the new one is complete and the pointer names it: mmengine removes it
      before writing the new one, so with ``max_keep_ckpts=1`` a kill during
      the save leaves no checkpoint and a pointer to a deleted file. The new
      checkpoint still lists the old one among the kept ones, so that a run
      killed before the removal removes it when resumed (mmengine's
      ``before_train`` trims the list it resumes to ``max_keep_ckpts``).
    - When training starts, the temporary files of saves that a killed run
      left behind (:func:`~adapterx.checkpoint.io.atomic_file`) are
      removed from the work and checkpoint directories.

    ``PeftRunner`` builds it in place of ``CheckpointHook``.
    """

    def before_train(self, runner) -> None:
        super().before_train(runner)
        if is_main_process():
            for directory in {runner.work_dir, self.out_dir}:
                for path in remove_stale_partial_files(directory):
                    runner.logger.info(
                        f'Removed {path}, left by a run killed while saving.')

    def _save_checkpoint_with_step(self, runner, step, meta):
        if not is_main_process():
            return super()._save_checkpoint_with_step(runner, step, meta)
        limit = self.max_keep_ckpts
        if limit > 0:
            # One more is kept while saving, so that mmengine removes none.
            self.max_keep_ckpts = limit + 1
            self.keep_ckpt_ids = deque(self.keep_ckpt_ids, limit + 1)
        try:
            # mmengine writes the pointer into the runner's work dir: it is
            # given a scratch one, and the file is put in place from there.
            with tempfile.TemporaryDirectory() as scratch:
                super()._save_checkpoint_with_step(
                    _WorkDirRedirect(runner, scratch), step, meta)
                with atomic_file(osp.join(runner.work_dir,
                                          POINTER)) as temporary:
                    shutil.copyfile(osp.join(scratch, POINTER), temporary)
        finally:
            self.max_keep_ckpts = limit
        if limit > 0:
            self._remove_checkpoints_beyond_the_limit(runner)

    def _remove_checkpoints_beyond_the_limit(self, runner):
        while len(self.keep_ckpt_ids) > self.max_keep_ckpts:
            path = self.file_backend.join_path(
                self.out_dir,
                self.filename_tmpl.format(self.keep_ckpt_ids.popleft()))
            if self.file_backend.isfile(path):
                self.file_backend.remove(path)
            elif self.file_backend.isdir(path):  # as DeepSpeed saves them
                self.file_backend.rmtree(path)
        runner.message_hub.update_info('keep_ckpt_ids',
                                       list(self.keep_ckpt_ids))
