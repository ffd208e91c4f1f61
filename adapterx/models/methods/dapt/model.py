from typing import Sequence, Union

import torch.nn as nn

from adapterx.registry import MODELS
from ...modules import PromptGenerator, scale_and_shift_outputs
from ...peft.block_patching import BlockPatchedBackbone
from ...vit_anatomy import block_anatomy, block_drop_path_rate
from .layers import DAPTBlockAdditions, DynamicAdapter


def dapt_backbone_scale_shifts(wrapper: BlockPatchedBackbone,
                               paths: Sequence[str]) -> nn.ModuleDict:
    """DAPT's scale-and-shifts after the submodules of ``wrapper``'s
    backbone named by ``paths`` (keys: the paths, dots as underscores);
    their hooks join ``wrapper.backbone_hooks``."""
    scale_shifts, hooks = scale_and_shift_outputs(
        wrapper.module, {path.replace('.', '_'): path
                         for path in paths}, type(wrapper).__name__)
    wrapper.backbone_hooks.extend(hooks)
    return nn.ModuleDict(scale_shifts)


def dapt_block_scale_shifts(wrapper: BlockPatchedBackbone,
                            block: nn.Module) -> dict:
    """DAPT's scale-and-shifts after each norm and each linear layer of
    attention and MLP of ``block`` (keys: the sublayers'
    library-independent names); their hooks join
    ``wrapper.backbone_hooks``."""
    scale_shifts, hooks = scale_and_shift_outputs(
        block, block_anatomy(block).sublayers(), type(wrapper).__name__)
    wrapper.backbone_hooks.extend(hooks)
    return scale_shifts


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
    (``PointTransformer(add_positions_every_block=False)``, set by DAPT's
    point-cloud configs, ``configs/dapt/``). One difference from it:
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
        self.scale_shifts = dapt_backbone_scale_shifts(
            self, backbone_scale_shifts)
        additions = []
        for block in self._blocks:
            scale_shifts = dapt_block_scale_shifts(self, block)
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
