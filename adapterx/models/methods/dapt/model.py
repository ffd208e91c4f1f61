from typing import Sequence, Union

import torch.nn as nn

from adapterx.registry import MODELS
from ...modules import PromptGenerator, ScaleShift
from ...peft.block_patching import BlockPatchedBackbone
from ...vit_anatomy import block_anatomy, block_drop_path_rate
from .layers import DAPTBlockAdditions, DynamicAdapter


def _scale_shift_hook(scale_shift: ScaleShift):
    # DAPT's scale-and-shift is SSF's operation and initialisation; DAPT
    # applies it through hooks and never folds it into the weights.
    return lambda module, inputs, output: scale_shift(inputs, output)


def _output_dims(module: nn.Module) -> int:
    if isinstance(module, nn.Linear):
        return module.out_features
    if isinstance(module, nn.LayerNorm):
        return module.normalized_shape[0]
    out_channels = getattr(module, 'out_channels', None)
    if isinstance(out_channels, int):
        return out_channels
    raise ValueError(f'DAPT: cannot tell the output width of '
                     f'{type(module).__name__} to scale and shift it')


@MODELS.register_module()
class DAPT(BlockPatchedBackbone):
    """Dynamic Adapter meets Prompt Tuning (arXiv 2403.01439), as its code
    does it, on ``PointTransformer`` (or any backbone of timm / mmpretrain
    blocks).

    In every block: a :class:`DynamicAdapter` parallel to the MLP; an
    internal prompt ``mean(GELU(adapter out)) * gamma + beta`` appended
    after the class token for all later blocks (12 prompts after 12
    blocks; the head pools their mean, read from
    ``forward_context.prompts``); and a :class:`ScaleShift` after LN1, qkv,
    attention proj, LN2, fc1 and fc2.
    Backbone-level scale-and-shifts follow the modules named in
    ``backbone_scale_shifts`` (DAPT: the group encoder and the final norm,
    which also scales the prompts the classifier normalises).

    DAPT's code adds the position embedding once, before the first block
    (``PointTransformer(add_positions_every_block=False)``, set by
    ``configs/_base_/models/point_mae_dapt.py``). One difference from it:
    the adapter's stochastic depth draws its own mask instead of sharing
    the MLP's.

    The adapters start at zero, but the prompts and the scale-and-shift
    vectors change the backbone's output from step 0.

    Args:
        module (dict | nn.Module): The backbone.
        bottleneck_dims (int): Adapter width r. Defaults to 64.
        adapter_dropout (float): Set per dataset (0.2 / 0.5 / 0 / 0 for
            PB_T50_RS / OBJ_BG / OBJ_ONLY / ModelNet40).
        backbone_scale_shifts (Sequence[str]): Submodule paths of the
            backbone whose outputs are scaled and shifted.
    """

    additions_name = 'dapt'
    # As the method's code: every parameter named 'cls' trains.
    retrained_backbone_parameters = (r'\.cls_(token|pos)$', )

    def __init__(self,
                 module: Union[dict, nn.Module],
                 bottleneck_dims: int = 64,
                 adapter_dropout: float = 0.0,
                 backbone_scale_shifts: Sequence[str] = ('group_encoder',
                                                         'norm'),
                 init_cfg=None):
        super().__init__(module, init_cfg=init_cfg)
        self._hooks = []
        self.scale_shifts = nn.ModuleDict()
        for path in backbone_scale_shifts:
            target = self._submodule(self.module, path)
            scale_shift = ScaleShift(_output_dims(target))
            self.scale_shifts[path.replace('.', '_')] = scale_shift
            self._hooks.append(
                target.register_forward_hook(_scale_shift_hook(scale_shift)))

        additions = []
        for block in self._blocks:
            scale_shifts = {}
            # DAPT scales and shifts the output of each norm and each linear
            # layer of attention and MLP (ScaleShift key: the sublayer's
            # library-independent name).
            for key, path in block_anatomy(block).sublayers().items():
                target = self._submodule(block, path)
                scale_shifts[key] = ScaleShift(_output_dims(target))
                self._hooks.append(
                    target.register_forward_hook(
                        _scale_shift_hook(scale_shifts[key])))
            additions.append(
                DAPTBlockAdditions(
                    DynamicAdapter(self.embed_dims, bottleneck_dims,
                                   adapter_dropout),
                    block_drop_path_rate(block),
                    PromptGenerator(self.embed_dims),
                    scale_shifts,
                    num_prefix_tokens=self.num_prefix_tokens,
                    context=self.forward_context))
        self.patch_blocks(additions)

    @staticmethod
    def _submodule(root: nn.Module, path: str) -> nn.Module:
        try:
            return root.get_submodule(path)
        except AttributeError as error:
            raise ValueError(
                f'DAPT: {type(root).__name__} has no submodule {path!r} to '
                'scale and shift') from error

    def unwrap(self):
        for hook in self._hooks:
            hook.remove()
        self._hooks = []
        return super().unwrap()
