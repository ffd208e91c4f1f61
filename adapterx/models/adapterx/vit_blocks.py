"""Adapter-X forwards for the transformer blocks of mmpretrain and timm ViTs.

Each function computes the block exactly as its library does, plus the
Adapter-X branches:

    x = x + Attn(LN1(x)) [+ SMoA_attn(LN1(x))]
    x = x + MLP(LN2(x))  [+ SMoA_mlp(LN2(x))]

and the prompt tokens of earlier blocks take part in the attention. The
backbone's own code never sees a prompt token: the block inserts the
prompts right after the prefix tokens (CLS) on entry and takes them out
again on exit, so the backbone's output formatting (class token, feature
maps, ``out_indices``) and the head work on the usual sequence.
"""
import torch
from torch import Tensor


class PromptStore:
    """The prompt tokens generated so far in one forward pass, shared by the
    blocks of one backbone. Reset at the start of every forward."""

    def __init__(self):
        self.prompts = None

    def reset(self) -> None:
        self.prompts = None


def _insert_prompts(x: Tensor, prompts, num_prefix_tokens: int) -> Tensor:
    if prompts is None:
        return x
    return torch.cat(
        [x[:, :num_prefix_tokens], prompts, x[:, num_prefix_tokens:]], dim=1)


def _extract_prompts(x: Tensor, num_prompts: int, num_prefix_tokens: int):
    if num_prompts == 0:
        return x, None
    end = num_prefix_tokens + num_prompts
    sequence = torch.cat([x[:, :num_prefix_tokens], x[:, end:]], dim=1)
    return sequence, x[:, num_prefix_tokens:end]


def _adapter_forward(block, x: Tensor, attention_branch, mlp_branch):
    """The shared skeleton: insert prompts, run the attention and MLP
    residual branches with their SMoAs, take the prompts out, generate this
    block's prompt."""
    adapters = block.adapterx
    store = adapters.prompt_store
    num_prompts = 0 if store.prompts is None else store.prompts.shape[1]
    x = _insert_prompts(x, store.prompts, adapters.num_prefix_tokens)

    x, attn_adapter_out = attention_branch(x)
    x, mlp_adapter_out = mlp_branch(x)

    x, prompts = _extract_prompts(x, num_prompts, adapters.num_prefix_tokens)
    if adapters.prompt_generator is not None:
        # The generator summarises this block's adapter output (the MLP
        # SMoA's when there is one, else the attention SMoA's).
        source = mlp_adapter_out if mlp_adapter_out is not None \
            else attn_adapter_out
        new_prompt = adapters.prompt_generator(source)
        prompts = new_prompt if prompts is None else torch.cat(
            [prompts, new_prompt], dim=1)
    store.prompts = prompts
    return x


def _add_branch(adapters, name, x, normed, residual):
    """``x + residual`` plus the SMoA ``name`` of ``normed`` if the block has
    one; returns the sum and the SMoA output (or None)."""
    smoa = getattr(adapters, name)
    if smoa is None:
        return x + residual, None
    adapter_out = smoa(normed)
    return x + residual + adapter_out, adapter_out


def mmpretrain_block_forward(block, x: Tensor) -> Tensor:
    """mmpretrain ``TransformerEncoderLayer`` with Adapter-X."""
    adapters = block.adapterx

    def attention_branch(x):
        normed = block.ln1(x)
        return _add_branch(adapters, 'attn_smoa', x, normed,
                           block.attn(normed))

    def mlp_branch(x):
        normed = block.ln2(x)
        # mmpretrain's FFN adds its input's residual (and drop path) itself.
        return _add_branch(adapters, 'mlp_smoa', 0, normed,
                           block.ffn(normed, identity=x))

    return _adapter_forward(block, x, attention_branch, mlp_branch)


def timm_block_forward(block, x: Tensor, attn_mask=None,
                       is_causal: bool = False) -> Tensor:
    """timm ``vision_transformer.Block`` with Adapter-X."""
    adapters = block.adapterx

    def attention_branch(x):
        normed = block.norm1(x)
        attended = block.attn(normed, attn_mask=attn_mask, is_causal=is_causal)
        return _add_branch(adapters, 'attn_smoa', x, normed,
                           block.drop_path1(block.ls1(attended)))

    def mlp_branch(x):
        normed = block.norm2(x)
        return _add_branch(adapters, 'mlp_smoa', x, normed,
                           block.drop_path2(block.ls2(block.mlp(normed))))

    return _adapter_forward(block, x, attention_branch, mlp_branch)
