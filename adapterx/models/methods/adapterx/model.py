from typing import Optional, Sequence, Union

import torch
import torch.nn as nn

from adapterx.registry import ADAPTERS, MODELS
from ...modules.smoa import switch_balance_loss
from ...peft.block_patching import BlockPatchedBackbone
from ...vit_anatomy import block_drop_path_rate
from ..dapt.model import dapt_backbone_scale_shifts, dapt_block_scale_shifts
from .layers import AdapterXBlockAdapters

PLACEMENTS = {'mlp': ('mlp', ), 'attn': ('attn', ), 'both': ('attn', 'mlp')}
ADAPTER_POSITIONS = ('parallel', 'sequential')
PROMPT_BLOCKS = ('all', 'all_but_last')
CLASS_TOKEN = r'\.cls_(token|pos)$'
BLOCK_NORM2 = r'\.(ln2|norm2)\.'


def _is_list_of_index_lists(value) -> bool:
    return isinstance(value, (list, tuple)) and all(
        isinstance(group, (list, tuple)) and all(
            isinstance(index, int) and not isinstance(index, bool)
            for index in group) for group in value)


@MODELS.register_module()
class AdapterX(BlockPatchedBackbone):
    """Adapter-X (arXiv 2406.03051) on an mmpretrain or timm ViT backbone.

    A Sharing Mixture of Adapters (SMoA) in every block: one pool of
    bottleneck adapter experts (and expert embeddings) shared by all the
    blocks of a sharing group, and a per-block token-level router; plus a
    per-block Prompt Generator whose prompt token joins the sequence of all
    later blocks. The blocks get an ``adapterx`` submodule and a patched
    ``forward`` (:class:`~adapterx.models.peft.block_patching.\
BlockPatchedBackbone`); :meth:`unwrap` takes both away again.

    Trainable, as in the paper: the shared experts and expert embeddings,
    the per-block routers and prompt generators, each block's LN2
    (block-specific, starting from the pretrained one; ``retrain_ln2``) and
    the class token (and the point transformer's class position).

    In 3D (the paper's "DAPT-X") Adapter-X is DAPT (:class:`~adapterx.\
models.methods.dapt.DAPT`) with every dynamic adapter replaced by an SMoA
    whose experts are DAPT's bottleneck (GELU) and whose output each token
    scales by DAPT's ``ReLU(Linear(d, 1))``. Everything else is DAPT's, each
    part a switch here that ``configs/_base_/peft/point_adapterx.py`` sets
    to DAPT's choice (the 2D defaults are the paper's 2D design):

    * ``smoa_norms=True``: each SMoA reads LN2's output through a LayerNorm
      of its own, as DAPT's adapter does;
    * ``smoa_in_drop_path=True``: the SMoA output goes through the block's
      stochastic depth (DAPT's adapter is inside ``drop_path2``);
    * ``expert_act_cfg=dict(type='GELU')``;
    * ``prompt_blocks='all'``: every block's prompt, the last one's
      included, reaches the head (which pools the prompts' mean);
    * ``scale_shifts=('group_encoder', 'norm')``: DAPT's scale-and-shifts
      after each block's norms and attention / MLP linear layers and after
      these backbone modules;
    * ``retrain_ln2=False``: LN2 stays frozen, as in DAPT (the
      scale-and-shift after it adapts its output instead);
    * the position embedding is added once, before the first block: the
      backbone's ``add_positions_every_block=False``, set by the
      point-cloud configs of ``configs/adapterx/`` as by DAPT's.

    With pools of one expert per block (``num_experts=1``,
    ``sharing_groups='per_block'``: no router, gate 1) and DAPT's weights,
    it computes DAPT's function. What remains Adapter-X's own is the
    mixture: shared experts, routers and the load-balancing loss.

    Args:
        module (dict | nn.Module): The backbone (config or module):
            mmpretrain ``VisionTransformer``, a timm ``VisionTransformer``,
            or mmpretrain's ``TIMMBackbone`` around one. A config is built
            and its ``init_weights`` (pretrained weights) run before the
            adapters are added.
        num_experts (int): Experts in each shared pool. Defaults to 4.
        bottleneck_dims (int): Width r of each expert. Defaults to 8.
        routing_dims (int): Dimension of the router projection and expert
            embeddings. Defaults to 8.
        num_heads (int): Multi-head split of each token into sub-tokens that
            are routed separately. Defaults to 1.
        top_k (int): Experts per sub-token (hard routing). Defaults to 1.
        soft_routing (bool): Weight all experts by their probabilities
            instead of top-k. Defaults to False.
        router_temperature (float): Divides the cosine routing logits.
        scale (float | dict): SMoA output scale: a fixed s (AdaptFormer) or
            a config such as ``dict(type='DynamicTokenScale')`` (DAPT's
            per-token scale; ``embed_dims`` is filled in). Defaults to 0.1.
        expert_act_cfg (dict): Activation inside each expert. Defaults to
            ReLU (AdaptFormer's); DAPT's is GELU.
        expert_dropout (float): Dropout inside each expert.
        placement (str): ``'mlp'`` (beside the MLP, the paper's),
            ``'attn'`` (beside attention) or ``'both'`` (a pool and a
            router for each).
        adapter_position (str): Where each SMoA sits beside its sublayer
            f. ``'parallel'`` (the default): it reads f's normed input,
            ``x + f(LN(x)) + SMoA(LN(x))``, AdaptFormer's parallel adapter
            (the teaser's "AdaptFormer-X"). ``'sequential'``: it reads f's
            output, ``x + f + SMoA(f)``, the adapter position of Houlsby et
            al. (the teaser's "Adapter-X"); f is the output the residual
            stream receives (after layer scale and stochastic depth), as
            AdaptFormer's code places its sequential adapter.
        sharing_groups (str | list[list[int]]): Blocks that share one pool:
            ``'all'`` (one pool for every block, the paper's), ``'per_block'``
            (no sharing, the ablation), or lists of block indices, each
            block in exactly one.
        prompt_generator (dict, optional): Config of the per-block prompt
            generator (``embed_dims`` is filled in); None disables prompts.
        prompt_blocks (str | list[int]): Blocks with a prompt generator:
            ``'all_but_last'`` (the default: a last-block prompt would
            reach no later block and, with a class-token head, nothing at
            all), ``'all'`` (for a head that pools the prompts, as the 3D
            one) or a list of block indices.
        balance_loss_weight (float): Weight of the Switch-style
            load-balancing loss, averaged over the routers; 0 disables it.
            Defaults to 0.01.
        smoa_norms (bool): Each SMoA has a LayerNorm of its own on its
            input (DAPT's adapter norm). Defaults to False.
        smoa_in_drop_path (bool): The SMoA outputs go through the block's
            stochastic depth rate (their own mask). Defaults to False.
        scale_shifts (Sequence[str], optional): DAPT's scale-and-shifts:
            after each block's norms and attention / MLP linear layers, and
            after the backbone submodules named here; None (the default)
            for none.
        retrain_ln2 (bool): Train each block's LN2. Defaults to True.
    """

    additions_name = 'adapterx'

    def __init__(self,
                 module: Union[dict, nn.Module],
                 num_experts: int = 4,
                 bottleneck_dims: int = 8,
                 routing_dims: int = 8,
                 num_heads: int = 1,
                 top_k: int = 1,
                 soft_routing: bool = False,
                 router_temperature: float = 1.0,
                 scale: Union[float, dict] = 0.1,
                 expert_act_cfg: dict = dict(type='ReLU'),
                 expert_dropout: float = 0.0,
                 placement: str = 'mlp',
                 adapter_position: str = 'parallel',
                 sharing_groups: Union[str, Sequence[Sequence[int]]] = 'all',
                 prompt_generator: Optional[dict] = dict(
                     type='PromptGenerator'),
                 prompt_blocks: Union[str, Sequence[int]] = 'all_but_last',
                 balance_loss_weight: float = 0.01,
                 smoa_norms: bool = False,
                 smoa_in_drop_path: bool = False,
                 scale_shifts: Optional[Sequence[str]] = None,
                 retrain_ln2: bool = True,
                 init_cfg=None):
        super().__init__(module, init_cfg=init_cfg)
        blocks = self._blocks
        if placement not in PLACEMENTS:
            raise ValueError(f'placement must be one of {list(PLACEMENTS)}, '
                             f'got {placement!r}')
        if adapter_position not in ADAPTER_POSITIONS:
            raise ValueError(
                'AdapterX adapter_position must be one of '
                f'{list(ADAPTER_POSITIONS)} (beside the sublayer on its '
                f'input, or after it on its output), got {adapter_position!r}')
        for key, value in dict(
                smoa_norms=smoa_norms,
                smoa_in_drop_path=smoa_in_drop_path,
                retrain_ln2=retrain_ln2).items():
            if not isinstance(value, bool):
                raise ValueError(
                    f'AdapterX {key} must be True or False, got {value!r}')
        if scale_shifts is not None and (
                isinstance(scale_shifts, str) or not isinstance(
                    scale_shifts, (list, tuple)) or not all(
                        isinstance(path, str) for path in scale_shifts)):
            raise ValueError(
                'AdapterX scale_shifts must be None (none) or a list of '
                "backbone submodule paths such as ('group_encoder', 'norm') "
                f'(() for the blocks only), got {scale_shifts!r}')
        self.retrained_backbone_parameters = (
            BLOCK_NORM2, CLASS_TOKEN) if retrain_ln2 else (CLASS_TOKEN, )
        if balance_loss_weight < 0:
            raise ValueError('balance_loss_weight must be >= 0, got '
                             f'{balance_loss_weight}')
        self.balance_loss_weight = balance_loss_weight
        groups = self._check_groups(sharing_groups, len(blocks))
        prompt_blocks = self._check_prompt_blocks(prompt_blocks, len(blocks))

        embed_dims = self.embed_dims
        # One pool per (placement, sharing group): the parameters live here,
        # once; every SMoA of the group routes to the same module.
        self.expert_pools = nn.ModuleDict()
        pool_of_block = {}
        for where in PLACEMENTS[placement]:
            for group_index, group in enumerate(groups):
                pool = ADAPTERS.build(
                    dict(
                        type='SharedExpertPool',
                        embed_dims=embed_dims,
                        num_experts=num_experts,
                        bottleneck_dims=bottleneck_dims,
                        routing_dims=routing_dims,
                        num_heads=num_heads,
                        act_cfg=expert_act_cfg,
                        dropout=expert_dropout))
                self.expert_pools[f'{where}_{group_index}'] = pool
                for block_index in group:
                    pool_of_block[where, block_index] = pool

        def build_smoa(where, block_index):
            if (where, block_index) not in pool_of_block:
                return None
            block_scale = scale if not isinstance(scale, dict) else dict(
                scale, embed_dims=embed_dims)
            return ADAPTERS.build(
                dict(
                    type='SMoA',
                    expert_pool=pool_of_block[where, block_index],
                    top_k=top_k,
                    soft=soft_routing,
                    temperature=router_temperature,
                    scale=block_scale))

        self.scale_shifts = nn.ModuleDict() if scale_shifts is None else \
            dapt_backbone_scale_shifts(self, scale_shifts)
        prefix_tokens = self.num_prefix_tokens
        additions = []
        for index, block in enumerate(blocks):
            generator = None
            if prompt_generator is not None and index in prompt_blocks:
                generator = ADAPTERS.build(
                    dict(prompt_generator, embed_dims=embed_dims))
            additions.append(
                AdapterXBlockAdapters(
                    attn_smoa=build_smoa('attn', index),
                    mlp_smoa=build_smoa('mlp', index),
                    prompt_generator=generator,
                    position=adapter_position,
                    num_prefix_tokens=prefix_tokens,
                    context=self.forward_context,
                    smoa_norms=smoa_norms,
                    drop_path_rate=block_drop_path_rate(block)
                    if smoa_in_drop_path else 0.0,
                    scale_shifts=None if scale_shifts is None else
                    dapt_block_scale_shifts(self, block)))
        self.patch_blocks(additions)

    @staticmethod
    def _check_groups(sharing_groups, num_blocks):
        if sharing_groups == 'all':
            return [list(range(num_blocks))]
        if sharing_groups == 'per_block':
            return [[index] for index in range(num_blocks)]
        form = ("'all', 'per_block' or a list of lists of block indices "
                'such as [[0, 1], [2, 3]], each block '
                f'0..{num_blocks - 1} in exactly one list')
        if not _is_list_of_index_lists(sharing_groups):
            raise ValueError(
                f'AdapterX sharing_groups must be {form}; got '
                f'{sharing_groups!r}.')
        flat = [index for group in sharing_groups for index in group]
        if sorted(flat) != list(range(num_blocks)):
            raise ValueError(
                f'AdapterX sharing_groups {sharing_groups} must be {form}.')
        return [list(group) for group in sharing_groups]

    @staticmethod
    def _check_prompt_blocks(prompt_blocks, num_blocks):
        if prompt_blocks == 'all':
            return set(range(num_blocks))
        if prompt_blocks == 'all_but_last':
            return set(range(num_blocks - 1))
        if isinstance(prompt_blocks, str) or not _is_list_of_index_lists(
                [prompt_blocks]):
            raise ValueError(
                f'AdapterX prompt_blocks must be one of {list(PROMPT_BLOCKS)}'
                f' or a list of block indices 0..{num_blocks - 1}, got '
                f'{prompt_blocks!r}')
        invalid = [i for i in prompt_blocks if not 0 <= i < num_blocks]
        if invalid:
            raise ValueError(f'prompt_blocks {invalid} are not block indices '
                             f'0..{num_blocks - 1}')
        return set(prompt_blocks)

    def auxiliary_losses(self) -> dict:
        """The weighted load-balancing loss of the last forward."""
        if self.balance_loss_weight == 0:
            return {}
        routings = self.forward_context.routings
        if not routings:
            raise RuntimeError(
                'AdapterX.auxiliary_losses: no forward has run yet; the '
                "balance loss is that of the last forward's routings")
        # A forward without autograd leaves the loss out (SMoA); a loss
        # asked for afterwards (validation loss) is computed from the probs.
        losses = [
            switch_balance_loss(routing.probs)
            if routing.balance_loss is None else routing.balance_loss
            for routing in routings
        ]
        return dict(loss_balance=self.balance_loss_weight *
                    torch.stack(losses).mean())
