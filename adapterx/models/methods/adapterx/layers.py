from typing import Optional

import torch
import torch.nn as nn
from torch import Tensor

from ...peft.block_patching import BlockAdditions, BranchOutputs
from ...peft.forward_context import ForwardContext


class AdapterXBlockAdapters(BlockAdditions):
    """What Adapter-X adds to one block: its SMoA(s), with their per-block
    routers, and its prompt generator. Attached as ``block.adapterx``.

    The prompts of earlier blocks take part in this block's attention; the
    generator then appends this block's prompt, made from its SMoA output
    (the MLP SMoA's when there is one, else the attention SMoA's).
    """

    def __init__(self, attn_smoa: Optional[nn.Module],
                 mlp_smoa: Optional[nn.Module],
                 prompt_generator: Optional[nn.Module],
                 num_prefix_tokens: int, context: ForwardContext):
        super().__init__(num_prefix_tokens, context)
        self.attn_smoa = attn_smoa
        self.mlp_smoa = mlp_smoa
        self.prompt_generator = prompt_generator

    def _routed(self, smoa: Optional[nn.Module],
                normed: Tensor) -> Optional[Tensor]:
        """The SMoA's output; its routing joins the forward's context."""
        if smoa is None:
            return None
        output, routing = smoa(normed, return_routing=True)
        self.context.routings.append(routing)
        return output

    def attention_branch(self, normed: Tensor) -> Optional[Tensor]:
        return self._routed(self.attn_smoa, normed)

    def mlp_branch(self, normed: Tensor) -> Optional[Tensor]:
        return self._routed(self.mlp_smoa, normed)

    def exit_prompts(self, prompts: Optional[Tensor],
                     branches: BranchOutputs) -> Optional[Tensor]:
        if self.prompt_generator is None:
            return prompts
        adapter_output = branches.attention if branches.mlp is None \
            else branches.mlp
        new_prompt = self.prompt_generator(adapter_output)
        return new_prompt if prompts is None else torch.cat(
            [prompts, new_prompt], dim=1)
