from typing import Optional

import torch
import torch.nn as nn
from torch import Tensor

from ...peft.block_patching import BlockAdditions, BranchOutputs
from ...peft.forward_context import ForwardContext


class AdapterXBlockAdapters(BlockAdditions):
    """What Adapter-X adds to one block: its SMoA(s), with their per-block
    routers, and its prompt generator. Attached as ``block.adapterx``.

    Each SMoA reads its sublayer's normed input (``'parallel'``, beside the
    sublayer: ``x + f(n) + SMoA(n)``) or its output (``'sequential'``,
    after it: ``x + f + SMoA(f)``); its output is added to the residual
    stream either way.

    The prompts of earlier blocks take part in this block's attention; the
    generator then appends this block's prompt, made from its SMoA output
    (the MLP SMoA's when there is one, else the attention SMoA's).

    Args:
        attn_smoa, mlp_smoa (nn.Module, optional): The SMoAs parallel to
            attention and to the MLP.
        prompt_generator (nn.Module, optional): This block's.
        position (str): ``'parallel'`` or ``'sequential'``.
        num_prefix_tokens (int), context (ForwardContext): As
            :class:`BlockAdditions`.
        smoa_norms (bool): Each SMoA reads its input through a LayerNorm of
            its own (DAPT's adapter norm).
        drop_path_rate (float): Stochastic depth of the SMoA outputs (0:
            added as they are).
        scale_shifts (dict, optional): The block's DAPT scale-and-shifts,
            held here so that they train (their hooks act on the block).
    """

    def __init__(self,
                 attn_smoa: Optional[nn.Module],
                 mlp_smoa: Optional[nn.Module],
                 prompt_generator: Optional[nn.Module],
                 position: str,
                 num_prefix_tokens: int,
                 context: ForwardContext,
                 smoa_norms: bool = False,
                 drop_path_rate: float = 0.0,
                 scale_shifts: Optional[dict] = None):
        super().__init__(num_prefix_tokens, context,
                         branch_drop_path_rate=drop_path_rate)
        self.attn_smoa = attn_smoa
        self.mlp_smoa = mlp_smoa
        self.prompt_generator = prompt_generator
        self.sequential = position == 'sequential'
        self.attn_smoa_norm = self._norm_for(attn_smoa, smoa_norms)
        self.mlp_smoa_norm = self._norm_for(mlp_smoa, smoa_norms)
        self.scale_shifts = nn.ModuleDict(scale_shifts or {})

    @staticmethod
    def _norm_for(smoa: Optional[nn.Module],
                  smoa_norms: bool) -> Optional[nn.Module]:
        if smoa is None or not smoa_norms:
            return None
        return nn.LayerNorm(smoa.expert_pool.embed_dims)

    def _routed(self, smoa: Optional[nn.Module], norm: Optional[nn.Module],
                normed: Tensor, sublayer_output: Tensor) -> Optional[Tensor]:
        """The SMoA's output; its routing joins the forward's context."""
        if smoa is None:
            return None
        tokens = sublayer_output if self.sequential else normed
        output, routing = smoa(tokens if norm is None else norm(tokens),
                               return_routing=True)
        self.context.routings.append(routing)
        return output

    def extra_repr(self) -> str:
        return 'sequential' if self.sequential else 'parallel'

    def attention_branch(self, normed: Tensor,
                         attention_output: Tensor) -> Optional[Tensor]:
        return self._routed(self.attn_smoa, self.attn_smoa_norm, normed,
                            attention_output)

    def mlp_branch(self, normed: Tensor,
                   mlp_output: Tensor) -> Optional[Tensor]:
        return self._routed(self.mlp_smoa, self.mlp_smoa_norm, normed,
                            mlp_output)

    def exit_prompts(self, prompts: Optional[Tensor],
                     branches: BranchOutputs) -> Optional[Tensor]:
        if self.prompt_generator is None:
            return prompts
        adapter_output = branches.attention if branches.mlp is None \
            else branches.mlp
        new_prompt = self.prompt_generator(adapter_output)
        return new_prompt if prompts is None else torch.cat(
            [prompts, new_prompt], dim=1)
