import os.path as osp

from mmengine.dist import master_only
from mmengine.hooks import Hook

from adapterx.checkpoint.io import save_weights
from adapterx.checkpoint.state_dicts import unwrap_model
from adapterx.checkpoint.trainable import (TRAINABLE_ONLY_KEY,
                                           trainable_state_dict)
from adapterx.registry import HOOKS


@HOOKS.register_module()
class TrainableCheckpointHook(Hook):
    """Save the trainable tensors alone (adapters, prompts, routers, head,
    ...) every ``interval`` epochs and at the end of training.

    The file, ``trainable_epoch_{N}.safetensors`` in the work dir, is
    loaded on top of the pretrained backbone of the same config:
    ``tools/test.py CONFIG trainable_epoch_100.safetensors``, or
    ``load_from``. It holds tensors and JSON metadata (no pickle).
    """

    priority = 'LOW'

    def __init__(self, interval: int = 1):
        self.interval = interval

    def after_train_epoch(self, runner) -> None:
        if (self.every_n_epochs(runner, self.interval)
                or self.is_last_train_epoch(runner)):
            self._save(runner)

    @master_only
    def _save(self, runner) -> None:
        state = trainable_state_dict(unwrap_model(runner.model))
        path = osp.join(runner.work_dir,
                        f'trainable_epoch_{runner.epoch + 1}.safetensors')
        save_weights(
            path, state, {
                TRAINABLE_ONLY_KEY: True,
                'epoch': runner.epoch + 1,
                'experiment_name': runner.experiment_name,
                # As in runner checkpoints: what a soup checks its
                # ingredients' pretrained weights and classes by.
                'cfg': runner.cfg.pretty_text,
                'dataset_meta': getattr(runner.train_dataloader.dataset,
                                        'metainfo', {}),
            })
        runner.logger.info(
            f'Saved {len(state)} trainable tensors '
            f'({sum(t.numel() for t in state.values()):,} values) to {path}')
