"""Convert an MoE checkpoint (EWA, or any MoEViT run) to the plain ViT.

    python tools/model_converters/ewa_to_dense.py CONFIG CHECKPOINT DST
        [--trust-checkpoint] [--verbose]

CONFIG is the config the checkpoint was trained with (it builds the MoE
model the checkpoint fits); CHECKPOINT a runner checkpoint (epoch_N.pth)
of it. Every MoE FFN becomes one FFN with its experts' mean weights, as
DenseConversionHook does at the end of training: DST is a ``.safetensors``
file (tensors and JSON metadata, no pickle) of the unmodified
architecture's classifier, which the dense config tests:

    python tools/test.py \
        configs/ewa/dense_deit-s-p4_1xb128-300e_cifar100.py DST
"""
import argparse

from mmengine.config import Config

from adapterx.checkpoint.io import (check_safetensors_name,
                                    load_runner_checkpoint)
from adapterx.engine.hooks.ewa_hook import save_dense_checkpoint
from adapterx.models.ewa import MoEFFN
from adapterx.registry import MODELS
from adapterx.utils import register_all_modules
from adapterx.utils.console import quiet_tool_logger
from adapterx.utils.tool_args import (add_trust_argument,
                                      add_verbose_argument, tool_description)


def parse_args():
    parser = argparse.ArgumentParser(description=tool_description(__doc__))
    parser.add_argument('config', help='the MoE config of the checkpoint')
    parser.add_argument('checkpoint', help='runner checkpoint (.pth)')
    parser.add_argument('dst', help='output .safetensors of the dense model')
    add_trust_argument(parser, 'CHECKPOINT')
    add_verbose_argument(parser)
    return parser.parse_args()


def load_moe_model(config: str, checkpoint_path: str, trust: bool):
    """The MoE model ``config`` builds, with the weights of
    ``checkpoint_path``; a config without MoE FFNs or a checkpoint that
    does not fit is refused, naming the file."""
    cfg = Config.fromfile(config)
    # Every weight comes from the checkpoint: the backbone's pretrained
    # file is neither loaded nor needed.
    cfg.model.backbone.init_cfg = None
    model = MODELS.build(cfg.model)
    if not any(isinstance(module, MoEFFN) for module in model.modules()):
        raise ValueError(
            f'{config} builds no MoE FFN (no model.peft of type MoEViT): '
            'give the MoE config the checkpoint was trained with')
    checkpoint = load_runner_checkpoint(checkpoint_path, trust=trust)
    if 'state_dict' not in checkpoint:
        raise ValueError(f'{checkpoint_path} holds no state_dict: expected '
                         'a runner checkpoint (epoch_N.pth)')
    expected = model.state_dict().keys()
    given = checkpoint['state_dict'].keys()
    missing = sorted(expected - given)
    unexpected = sorted(given - expected)
    if missing or unexpected:
        raise ValueError(
            f'{checkpoint_path} does not fit the model of {config}: '
            f'{len(missing)} key(s) missing (e.g. {missing[:3]}), '
            f'{len(unexpected)} unexpected (e.g. {unexpected[:3]}); is it a '
            'checkpoint of that MoE config (a dense one needs no '
            'conversion)?')
    model.load_state_dict(checkpoint['state_dict'], strict=True)
    return model


def main():
    args = parse_args()
    # Before any work, rather than when writing.
    check_safetensors_name(args.dst, "the dense model's weights (DST)")
    quiet_tool_logger('ewa_to_dense', args.verbose)
    register_all_modules()
    model = load_moe_model(args.config, args.checkpoint,
                           args.trust_checkpoint)
    save_dense_checkpoint(model, args.dst, dict(source=args.checkpoint))
    print(f'Saved the dense model of {args.checkpoint} to {args.dst}')


if __name__ == '__main__':
    main()
