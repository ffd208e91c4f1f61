"""Fold a trained PEFT method into the backbone's own weights.

    python tools/deployment/merge_adapters.py CONFIG CHECKPOINT OUT
        [--trust-checkpoint] [--cfg-options k=v ...] [--verbose]

CONFIG is the config the model was trained with, CHECKPOINT a runner
checkpoint (``epoch_N.pth``) or a trainable-only one
(``trainable_epoch_N.safetensors``, applied on top of the config's
pretrained weights). OUT is a ``.safetensors`` file (tensors and JSON
metadata, no pickle) whose ``backbone.*`` keys are exactly those of the
unmodified backbone, plus the head: the same config without the method loads it,

    python tools/test.py CONFIG OUT --cfg-options model.peft=None

or any config loads its backbone with ``init_cfg=dict(type='Pretrained',
checkpoint=OUT, prefix='backbone.')``. The merged model's outputs equal the
trained model's (eval mode).

Mergeable: LoRA, SSF (where each adapted layer has a bias), FacT-TT/TK;
BitFit, full fine-tuning and linear probing are written as they are. A
method whose change is not a function of the weights alone (Adapter-X,
VPT, AdaptFormer and every other token-routed or prompt-based method, or
any wrapper without ``merge_and_unwrap()``) is refused with the reason.
"""
import argparse
import sys

from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope

from adapterx.checkpoint.comparison import load_checkpoint_weights
from adapterx.checkpoint.io import check_safetensors_name, save_weights
from adapterx.checkpoint.loading import (TRAINING_CHECKPOINT, load_checked,
                                         load_trainable_state_dict)
from adapterx.models.peft.merge import merge_backbone
from adapterx.registry import MODELS
from adapterx.utils import register_all_modules
from adapterx.utils.console import quiet_tool_logger
from adapterx.utils.tool_args import (add_trust_argument,
                                      add_verbose_argument, tool_description)


def parse_args():
    parser = argparse.ArgumentParser(description=tool_description(__doc__))
    parser.add_argument('config', help='the config the model trained with')
    parser.add_argument('checkpoint', help='runner or trainable-only file')
    parser.add_argument(
        'out', help='where to write the merged weights (.safetensors)')
    add_trust_argument(parser, 'CHECKPOINT')
    parser.add_argument('--cfg-options',
                        nargs='+',
                        action=DictAction,
                        help='override config settings, key=value pairs')
    add_verbose_argument(parser)
    return parser.parse_args()


def main():
    args = parse_args()
    # Before any work, rather than when writing.
    check_safetensors_name(args.out, 'the merged weights (OUT)')
    quiet_tool_logger('merge_adapters', args.verbose)
    register_all_modules(init_default_scope=False)
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'adapterx'))
    model = MODELS.build(cfg.model)
    weights = load_checkpoint_weights(args.checkpoint,
                                      trust=args.trust_checkpoint)
    if weights.trainable_only:
        # The frozen tensors are the config's pretrained ones.
        model.init_weights()
        load_trainable_state_dict(model, weights.state_dict, args.checkpoint)
    else:
        load_checked(model, weights.state_dict, args.checkpoint,
                     TRAINING_CHECKPOINT)
    model.eval()
    try:
        method = merge_backbone(model)
    except ValueError as error:
        sys.exit(f'{args.config}: {error}')
    state = model.state_dict()
    # Not under 'config': mmengine's resume executes meta['config'].
    save_weights(args.out, state,
                 dict(merged_method=method,
                      config_file=args.config,
                      source=args.checkpoint))
    print(f'Merged {method} into the backbone of {args.checkpoint}: '
          f'{args.out} ({len(state)} tensors)')


if __name__ == '__main__':
    main()
