import datetime
import inspect
import os
import os.path as osp
import re

import torch
import torch.distributed as torch_dist
from mmengine.dist import is_distributed, is_main_process
from mmengine.hooks import CheckpointHook
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner
from mmengine.runner.checkpoint import find_latest_checkpoint

from adapterx.checkpoint.io import atomic_file, load_runner_checkpoint
from adapterx.checkpoint.loading import apply_checkpoint
from adapterx.checkpoint.state_dicts import unwrap_model
from adapterx.checkpoint.trust import (UnreadableCheckpointError,
                                       drop_stored_config, plain_log_scalars,
                                       restore_log_scalars,
                                       runner_checkpoint_types)
from adapterx.registry import MODEL_WRAPPERS, RUNNERS
from adapterx.utils.console import set_console_level
from adapterx.utils.registry_suggestions import suggest_close_types
from .loops import ResumableEpochBasedTrainLoop, ResumableIterBasedTrainLoop
from .optim_wrappers import GUARDED_TYPES
from .hooks import AtomicCheckpointHook, EpochSeedHook, RankConsistencyHook
from .consistency import (check_dataset_fits_model,
                          check_num_classes_in_config,
                          check_peft_reaches_model)
from .random_state import capture_random_state
from .worker_seeding import with_worker_seeding


# How a user of the runner accepts a checkpoint that does not fit the model.
RELAX_LOAD_STRICT = ('set load_strict=False in the config (tools/train.py '
                     'and tools/test.py: --non-strict)')


def raised_in_optimizer_loading(error) -> bool:
    """Whether ``error`` comes from torch's ``Optimizer.load_state_dict``,
    which refuses a state of other parameter groups with no file named."""
    code = inspect.unwrap(torch.optim.Optimizer.load_state_dict).__code__
    traceback = error.__traceback__
    while traceback.tb_next is not None:
        traceback = traceback.tb_next
    return traceback.tb_frame.f_code is code


# What PeftRunner builds for mmengine's training loops.
RESUMABLE_LOOPS = {
    'EpochBasedTrainLoop': ResumableEpochBasedTrainLoop,
    'IterBasedTrainLoop': ResumableIterBasedTrainLoop,
}


@RUNNERS.register_module()
class PeftRunner(Runner):
    """mmengine's Runner with what adapterx's training needs on top.

    - Distributed runs without a GPU use the gloo backend and wrap the model
      in DDP without ``device_ids`` (mmengine always selects a CUDA device
      and passes ``device_ids=[LOCAL_RANK]``, both of which fail on CPU).
      There, a config's ``sync_bn`` is ignored with a warning (torch's
      SyncBatchNorm needs GPUs); on GPUs mmengine converts every BatchNorm
      to SyncBatchNorm, as the 8-GPU point-cloud configs ask.
    - Runner checkpoints load under ``torch.load(weights_only=True)`` with
      only the types such checkpoints contain allowed; full unpickling only
      for a file the config trusts explicitly (``trust_checkpoint=True``),
      see :func:`load_runner_checkpoint`. A config stored in a checkpoint
      is never executed (mmengine's ``resume`` would run
      ``meta['config']``): it is dropped on loading, and the GPU count it
      records is read as plain data (:func:`drop_stored_config`).
    - Each epoch's random draws depend on the seed and the epoch only
      (:class:`EpochSeedHook`, always registered), and the generators' state
      is saved in every checkpoint for a resume in the middle of an epoch,
      so a resumed run draws the same dropout masks as an uninterrupted one.
      DataLoader workers are seeded from that per-epoch draw and the rank
      (:func:`seed_worker_generators`), so augmentations differ between
      epochs and ranks and repeat on a rerun.
    - A NaN or infinite loss stops the run before it reaches the weights
      (or skips the step, ``optim_wrapper.nonfinite_loss='skip'``): mmengine's
      ``OptimWrapper`` / ``AmpOptimWrapper`` are built as their guarded
      versions (:class:`NonFiniteLossGuard`).
    - A checkpoint given as ``load_from``, to ``--resume`` or to
      tools/test.py must fit the model (:func:`apply_checkpoint`), unless
      the config sets ``load_strict=False``: mmengine loads whatever
      matches and logs the rest, which leaves a random backbone for a
      wrong file.
    - A config whose PEFT base sets ``peft`` must hand it to the model
      (:func:`check_peft_reaches_model`), which would otherwise fine-tune
      everything.
    - The model's class count must be the datasets' (in the config, before
      any data is read, :func:`check_num_classes_in_config`, and again when
      each loop is built), and every point cloud must hold the points the
      model samples (when each loop is built, before any step).
    - Training resumes exactly, in the middle of an epoch too
      (:class:`ResumableEpochBasedTrainLoop`,
      :class:`ResumableIterBasedTrainLoop`).
    - A kill during a save leaves everything ``--resume`` needs intact:
      checkpoints are written under a temporary name and renamed
      (:func:`atomic_file`), and mmengine's ``CheckpointHook`` is built as
      :class:`AtomicCheckpointHook` (the ``last_checkpoint`` pointer is
      replaced in one step; checkpoints beyond ``max_keep_ckpts`` are
      removed after the new one is in place; temporary files of killed runs
      are removed).
    - ``--resume`` without a file falls back to the newest readable
      checkpoint before the one ``last_checkpoint`` names when that one is
      missing or damaged, and logs which it skipped
      (:meth:`load_or_resume`).
    - Distributed runs end by checking that all ranks hold the same weights
      (:class:`RankConsistencyHook`).
    - ``console_log_level='WARNING'`` in the config (set by the quiet
      tools unless ``--verbose``) keeps mmengine's INFO messages off the
      console; the log file in the work dir still holds them
      (:meth:`build_logger`).
    - An unknown ``type`` anywhere in the config fails with the close
      matches (:func:`suggest_close_types`): mmengine builds the top-level
      components through its root registries, which do not suggest any.
    """

    @suggest_close_types()
    def __init__(self, *args, **kwargs):
        check_peft_reaches_model(kwargs.get('cfg'), kwargs.get('model'))
        if kwargs.get('cfg') is not None:
            check_num_classes_in_config(kwargs['cfg'])
        super().__init__(*args, **kwargs)

    def build_logger(self, log_level='INFO', log_file=None, **kwargs):
        """mmengine's logger; with the config's ``console_log_level`` (the
        tools set it to 'WARNING' unless --verbose) its console shows only
        messages at or above that level, its log file still all of them."""
        logger = super().build_logger(log_level, log_file, **kwargs)
        if self.cfg.get('console_log_level') is not None:
            set_console_level(logger, self.cfg.console_log_level)
        return logger

    # Dataloaders, loops, optimizer and schedulers are built lazily, here.
    @suggest_close_types()
    def train(self):
        return super().train()

    @suggest_close_types()
    def val(self):
        return super().val()

    @suggest_close_types()
    def test(self):
        return super().test()

    def register_hooks(self, default_hooks=None, custom_hooks=None) -> None:
        super().register_hooks(default_hooks, custom_hooks)
        always_on = [EpochSeedHook]
        if self.distributed:
            always_on.append(RankConsistencyHook)
        for hook_type in always_on:
            if not any(isinstance(hook, hook_type) for hook in self.hooks):
                self.register_hook(hook_type())

    def register_default_hooks(self, hooks=None) -> None:
        hooks = dict(hooks or {})
        # mmengine's default when the config names no checkpoint hook.
        checkpoint = hooks.get('checkpoint',
                               dict(type='CheckpointHook', interval=1))
        if isinstance(checkpoint, dict) and checkpoint.get(
                'type') == 'CheckpointHook':
            # The class itself: mmpretrain's base config scopes the dict.
            hooks['checkpoint'] = dict(checkpoint, type=AtomicCheckpointHook)
        super().register_default_hooks(hooks)

    def build_optim_wrapper(self, optim_wrapper):
        if isinstance(optim_wrapper, dict) and 'optimizer' in optim_wrapper:
            wrapper_type = optim_wrapper.get('type', 'OptimWrapper')
            if wrapper_type in GUARDED_TYPES:
                optim_wrapper = dict(
                    optim_wrapper, type=GUARDED_TYPES[wrapper_type])
        return super().build_optim_wrapper(optim_wrapper)

    @staticmethod
    def build_dataloader(dataloader, seed=None, diff_rank_seed=False):
        # Workers seeded per epoch (see seed_worker_generators), not from
        # the run's seed alone.
        return Runner.build_dataloader(
            with_worker_seeding(dataloader), seed, diff_rank_seed)

    def build_train_loop(self, loop):
        if isinstance(loop, dict):
            loop = dict(loop)
            if 'type' not in loop and 'by_epoch' in loop:
                loop['type'] = 'EpochBasedTrainLoop' if loop.pop(
                    'by_epoch') else 'IterBasedTrainLoop'
            if loop.get('type') in RESUMABLE_LOOPS:
                # The class itself: a base config may scope the dict.
                loop['type'] = RESUMABLE_LOOPS[loop['type']]
        loop = super().build_train_loop(loop)
        check_dataset_fits_model(self.model, loop.dataloader.dataset,
                                 'training')
        return loop

    def build_val_loop(self, loop):
        loop = super().build_val_loop(loop)
        check_dataset_fits_model(self.model, loop.dataloader.dataset,
                                 'validation')
        return loop

    def build_test_loop(self, loop):
        loop = super().build_test_loop(loop)
        check_dataset_fits_model(self.model, loop.dataloader.dataset,
                                 'test')
        return loop

    def setup_env(self, env_cfg: dict) -> None:
        if (self.distributed and not is_distributed()
                and not torch.cuda.is_available()):
            self._init_cpu_process_group(env_cfg.get('dist_cfg', {}))
        super().setup_env(env_cfg)

    def _init_cpu_process_group(self, dist_cfg: dict) -> None:
        if self.launcher != 'pytorch':
            raise RuntimeError(
                f'No GPU is available and launcher={self.launcher!r}: '
                "distributed training on CPU supports launcher='pytorch' "
                '(torchrun, as tools/dist_train.sh uses) only.')
        timeout = datetime.timedelta(seconds=dist_cfg.get('timeout', 1800))
        torch_dist.init_process_group(backend='gloo', timeout=timeout)

    def wrap_model(self, model_wrapper_cfg, model):
        if (not self.distributed or torch.cuda.is_available()
                or is_model_wrapper(model)):
            return super().wrap_model(model_wrapper_cfg, model)
        if self.cfg.get('sync_bn') is not None:
            self.logger.warning(
                f"sync_bn={self.cfg['sync_bn']!r} is ignored without a GPU "
                "(torch's SyncBatchNorm runs on GPUs only): every BatchNorm "
                "normalises over its own process's batch. For the batch "
                "statistics of the config's one-GPU counterpart, train that "
                '(its name says 1xb..).')
        wrapper_cfg = dict(model_wrapper_cfg or {})
        wrapper_cfg.setdefault('type', 'MMDistributedDataParallel')
        wrapper_cfg.setdefault('broadcast_buffers', False)
        wrapper_cfg.setdefault(
            'find_unused_parameters',
            self.cfg.get('find_unused_parameters', False))
        return MODEL_WRAPPERS.build(
            wrapper_cfg, default_args=dict(module=model, device_ids=None))

    def load_checkpoint(self, filename, map_location='cpu', strict=None,
                        revise_keys=[(r'^module.', '')]):
        # mmengine's load_from and resume pass no ``strict``: the config's
        # load_strict (default True) decides.
        if strict is None:
            strict = self.cfg.get('load_strict', True)
        if not osp.isfile(filename):
            # Remote schemes (http, s3, ...) go through mmengine's loaders.
            with runner_checkpoint_types():
                checkpoint = super().load_checkpoint(
                    filename, map_location, strict, revise_keys)
            restore_log_scalars(checkpoint)
        else:
            checkpoint = load_runner_checkpoint(
                filename,
                map_location=map_location,
                trust=self.cfg.get('trust_checkpoint', False))
            self.call_hook('after_load_checkpoint', checkpoint=checkpoint)
            apply_checkpoint(unwrap_model(self.model), checkpoint, filename,
                             strict, revise_keys,
                             how_to_relax=RELAX_LOAD_STRICT)
            self._has_loaded = True
            self.logger.info(f'Load checkpoint from {filename}')
        self._stored_gpu_ids = drop_stored_config(checkpoint, filename)
        self._loaded_random_state = checkpoint.get('meta',
                                                   {}).get('random_state')
        return checkpoint

    def resume(self, filename, *args, **kwargs):
        try:
            super().resume(filename, *args, **kwargs)
        except ValueError as error:
            if not raised_in_optimizer_loading(error):
                raise
            raise ValueError(
                f'{filename} was written by a run whose optimizer held other '
                'parameters or parameter groups (another method, trainable '
                "set or optim_wrapper.paramwise_cfg): its state does not fit "
                f"this run's optimizer ({error}). Resume only from runs of "
                'this config (give each method its own --work-dir); to start '
                'from the weights alone, use load_from.') from None
        self._check_resumed_gpu_count(filename)

    def _check_resumed_gpu_count(self, filename) -> None:
        # mmengine's check, on the GPU ids read from the stored config as
        # data (it executes the config to get them).
        gpu_ids = self._stored_gpu_ids
        if not gpu_ids or len(gpu_ids) == self._world_size:
            return
        if not (self.auto_scale_lr or {}).get('enable', False):
            raise RuntimeError(
                f'{filename} was trained on {len(gpu_ids)} GPU(s), this run '
                f'has {self._world_size} process(es): the learning rate '
                'would not fit the batch size. Resume with the same number, '
                "or set auto_scale_lr=dict(enable=True, base_batch_size=...)")
        self.logger.info(
            f'{filename} was trained on {len(gpu_ids)} GPU(s), this run has '
            f'{self._world_size}: the learning rate is scaled by '
            f'auto_scale_lr={self.auto_scale_lr}')

    def call_hook(self, fn_name: str, **kwargs) -> None:
        super().call_hook(fn_name, **kwargs)
        if fn_name == 'before_save_checkpoint':
            # After every hook, so that whatever they store is converted.
            plain_log_scalars(kwargs['checkpoint'])

    def load_or_resume(self) -> None:
        """mmengine's, except that a resume without a given file (``--resume``
        alone) falls back to the newest earlier checkpoint that can be read
        when the one ``last_checkpoint`` names is missing, truncated or
        corrupt (a disk that filled up, a copy cut short), and logs the
        files it skipped. A file that needs ``--trust-checkpoint`` is not
        damaged: it stops the resume with that message, as does a damaged
        file given to ``--resume FILE``."""
        given_file = self._load_from is not None
        if self._has_loaded or not self._resume or given_file:
            return super().load_or_resume()
        pointed = find_latest_checkpoint(self.work_dir)
        if pointed is None:  # logged; training starts anew, as in mmengine
            return
        if not osp.isdir(osp.dirname(pointed)):  # remote storage (s3, ...)
            return super().load_or_resume()
        skipped = []
        for candidate in [pointed, *self._checkpoints_before(pointed)]:
            if not osp.isfile(candidate):
                skipped.append(f'{candidate} is missing')
                continue
            try:
                # The file is read before anything is restored from it.
                self.resume(candidate)
            except UnreadableCheckpointError as error:
                skipped.append(str(error))
                continue
            if skipped:
                self.logger.warning(
                    'Resumed from the newest readable checkpoint, '
                    f'{candidate}, instead of the last one: '
                    + '; '.join(skipped))
            else:
                self.logger.info(f'Auto resumed from {candidate}.')
            self._has_loaded = True
            return
        raise UnreadableCheckpointError(
            f'No checkpoint to resume from in {osp.dirname(pointed)}: '
            + '; '.join(skipped) + '. Start anew without --resume, or give '
            'another checkpoint with --resume FILE.')

    def _checkpoints_before(self, pointed):
        """The checkpoints the checkpoint hook wrote beside ``pointed`` at
        earlier steps, newest first. Later steps are not among them: they
        can only be left over from an earlier run in the same work dir."""
        templates = [
            hook.filename_tmpl for hook in self.hooks
            if isinstance(hook, CheckpointHook)
        ]
        if not templates:
            return []
        name = re.compile(
            re.escape(templates[0]).replace(re.escape('{}'), '([0-9]+)'))
        directory, pointed_name = osp.split(pointed)
        pointed_step = name.fullmatch(pointed_name)
        if pointed_step is None:
            return []
        earlier = {}
        for file_name in os.listdir(directory):
            found = name.fullmatch(file_name)
            if found and int(found[1]) < int(pointed_step[1]):
                earlier[int(found[1])] = osp.join(directory, file_name)
        return [earlier[step] for step in sorted(earlier, reverse=True)]

    def save_checkpoint(self, out_dir, filename, *args, meta=None, **kwargs):
        meta = dict(meta or {}, random_state=capture_random_state())
        if not is_main_process() or not osp.isdir(out_dir):
            # Other ranks: mmengine saves on rank 0 only. Remote storage
            # (s3, ...): written by mmengine's backend as it is.
            super().save_checkpoint(out_dir, filename, *args, meta=meta,
                                    **kwargs)
            return
        # Written under a temporary name and renamed when complete: a kill
        # during the save leaves the previous checkpoints loadable.
        with atomic_file(osp.join(out_dir, filename)) as temporary:
            super().save_checkpoint(out_dir, osp.basename(temporary), *args,
                                    meta=meta, **kwargs)
