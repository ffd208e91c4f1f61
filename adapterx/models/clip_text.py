"""CLIP's text tower, enough of it to write zero-shot classification heads
(:class:`~adapterx.models.heads.ZeroShotClsHead`) offline from a checkpoint
the user brings.

The text tower of OpenAI CLIP and open_clip (the published architecture)::

    x = token_embedding(ids) + positional_embedding     # (B, L, W)
    x = resblocks(x, causal mask)                       # pre-norm blocks
    feature = ln_final(x)[b, ids[b].argmax()] @ text_projection

the feature taken at the end-of-text token, whose id is the largest of the
vocabulary. Its weights are read from a full model's state dict, in the
key layout both libraries share::

    token_embedding.weight (V, W)     positional_embedding (L, W)
    transformer.resblocks.{i}.{ln_1, attn.in_proj_weight,
        attn.in_proj_bias, attn.out_proj, ln_2, mlp.c_fc, mlp.c_proj}
    ln_final                          text_projection (W, E)
    logit_scale ()                    (the log of the logits' scale)

The tokenizer is CLIP's byte-pair encoding as ``transformers``'
``CLIPTokenizer`` reads it from a folder holding ``vocab.json`` and
``merges.txt`` (e.g. a local copy of the Hugging Face model
``openai/clip-vit-base-patch32``); its token ids are OpenAI's. Nothing is
downloaded.
"""
from collections import OrderedDict
from pathlib import Path
from typing import Callable, Mapping, Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.models.utils import QuickGELU
from torch import Tensor

from adapterx.checkpoint.third_party import load_third_party_weights

ACTIVATIONS = ('quick_gelu', 'gelu')
# Entries of a full model's state dict that are neither image nor text
# tower weights: the logit scale, open_clip's causal-mask buffer and the
# sizes OpenAI's TorchScript archives carry.
_NOT_TEXT_TOWER = ('logit_scale', 'attn_mask', 'input_resolution',
                   'context_length', 'vocab_size')
TOKENIZER_FILES = ('vocab.json', 'merges.txt')


class ResidualAttentionBlock(nn.Module):
    """CLIP's pre-norm block, its children named as CLIP's (so a tower's
    state dict loads as it is)."""

    def __init__(self, width: int, heads: int, activation: str):
        super().__init__()
        self.ln_1 = nn.LayerNorm(width)
        self.attn = nn.MultiheadAttention(width, heads, batch_first=True)
        self.ln_2 = nn.LayerNorm(width)
        self.mlp = nn.Sequential(OrderedDict([
            ('c_fc', nn.Linear(width, 4 * width)),
            ('gelu', QuickGELU() if activation == 'quick_gelu' else nn.GELU()),
            ('c_proj', nn.Linear(4 * width, width)),
        ]))

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        normed = self.ln_1(x)
        x = x + self.attn(normed, normed, normed, attn_mask=mask,
                          need_weights=False)[0]
        return x + self.mlp(self.ln_2(x))


class Transformer(nn.Module):
    """The blocks, under CLIP's name ``resblocks``."""

    def __init__(self, width: int, layers: int, heads: int, activation: str):
        super().__init__()
        self.resblocks = nn.ModuleList(
            ResidualAttentionBlock(width, heads, activation)
            for _ in range(layers))

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        for block in self.resblocks:
            x = block(x, mask)
        return x


class CLIPTextEncoder(nn.Module):
    """CLIP's text tower (module docstring).

    Args:
        vocab_size, context_length, width, layers (int): Its sizes.
        heads (int): Attention heads (not in the weights: OpenAI's towers
            have ``width // 64``, open_clip's the model config's, 8 for
            ViT-B/32's 512 wide tower).
        output_dims (int): Width of the text feature.
        activation (str): ``'quick_gelu'`` (OpenAI's weights) or
            ``'gelu'``.
    """

    def __init__(self, vocab_size: int, context_length: int, width: int,
                 layers: int, heads: int, output_dims: int,
                 activation: str = 'quick_gelu'):
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f'activation {activation!r} is not one of '
                             f'{ACTIVATIONS}')
        if width % heads:
            raise ValueError(f'{heads} heads do not divide the text width '
                             f'{width}')
        self.context_length = context_length
        self.token_embedding = nn.Embedding(vocab_size, width)
        self.positional_embedding = nn.Parameter(
            torch.zeros(context_length, width))
        self.transformer = Transformer(width, layers, heads, activation)
        self.ln_final = nn.LayerNorm(width)
        self.text_projection = nn.Parameter(torch.zeros(width, output_dims))
        # True above the diagonal: a token attends to itself and the
        # tokens before it.
        self.register_buffer(
            'causal_mask',
            torch.ones(context_length, context_length,
                       dtype=torch.bool).triu(1), persistent=False)

    @classmethod
    def from_state_dict(cls, state_dict: Mapping[str, Tensor],
                        heads: Optional[int] = None,
                        activation: str = 'quick_gelu',
                        source: str = '') -> 'CLIPTextEncoder':
        """The tower of a full CLIP model's state dict (its image tower and
        ``logit_scale`` are ignored), sized from the weights, in float32.

        Args:
            heads (int, optional): Default ``width // 64``.

        Raises:
            ValueError: A text-tower key is missing or has a shape that
                does not fit (the message names them and ``source``).
        """
        source = source or 'The state dict'
        if 'token_embedding.weight' not in state_dict:
            raise ValueError(
                f'{source} holds no CLIP text tower (no '
                'token_embedding.weight; first keys: '
                f'{list(state_dict)[:5]}): the zero-shot heads need a full '
                'CLIP model, not an image tower')
        absent = [key for key in ('positional_embedding', 'text_projection')
                  if key not in state_dict]
        if absent:
            raise ValueError(f'{source}: the text tower does not fit the '
                             f'open_clip layout (missing: {absent})')
        vocab_size, width = state_dict['token_embedding.weight'].shape
        layers = len({
            key.split('.')[2] for key in state_dict
            if key.startswith('transformer.resblocks.')
        })
        encoder = cls(vocab_size,
                      state_dict['positional_embedding'].shape[0], width,
                      layers, heads or width // 64,
                      state_dict['text_projection'].shape[1], activation)
        expected = encoder.state_dict()
        weights = {key: state_dict[key].to(torch.float32)
                   for key in expected if key in state_dict}
        missing = [key for key in expected if key not in weights]
        wrong = [f'{key}: {tuple(weights[key].shape)} vs '
                 f'{tuple(expected[key].shape)}' for key in weights
                 if weights[key].shape != expected[key].shape]
        # Text-tower weights outside the layout (layer scale, a projection
        # bias) would change the features: refused, not skipped.
        unknown = [key for key in state_dict
                   if key not in expected and not key.startswith('visual.')
                   and key not in _NOT_TEXT_TOWER]
        if missing or wrong or unknown:
            raise ValueError(
                f'{source}: the text tower does not fit the open_clip '
                f'layout (missing: {missing[:5]}; other shapes: '
                f'{wrong[:5]}; unknown: {unknown[:5]})')
        encoder.load_state_dict(weights)
        return encoder.eval()

    def forward(self, token_ids: Tensor) -> Tensor:
        """``(B, context_length)`` token ids (padded with 0 after the
        end-of-text token) to ``(B, output_dims)`` features.

        Raises:
            ValueError: An id is outside the vocabulary (a tokenizer of
                another model).
        """
        vocab_size = self.token_embedding.num_embeddings
        if int(token_ids.max()) >= vocab_size:
            raise ValueError(
                f'Token id {int(token_ids.max())} is outside the text '
                f"tower's vocabulary of {vocab_size}: the tokenizer is not "
                "this model's")
        x = self.token_embedding(token_ids) + self.positional_embedding
        x = self.ln_final(self.transformer(x, self.causal_mask))
        last = x[torch.arange(len(x)), token_ids.argmax(dim=-1)]
        return last @ self.text_projection


def load_clip_tokenizer(folder):
    """CLIP's tokenizer from a local folder (module docstring).

    Raises:
        ImportError: ``transformers`` is not installed.
        FileNotFoundError: The folder lacks ``vocab.json`` or
            ``merges.txt``.
    """
    folder = Path(folder)
    missing = [name for name in TOKENIZER_FILES
               if not (folder / name).is_file()]
    if missing:
        raise FileNotFoundError(
            f'{folder} lacks {missing}: the tokenizer folder must hold '
            "CLIP's vocab.json and merges.txt (e.g. the tokenizer files of "
            'the Hugging Face model openai/clip-vit-base-patch32)')
    try:
        from transformers import CLIPTokenizer
    except ImportError as error:
        raise ImportError(
            'Reading the CLIP tokenizer needs the transformers package '
            '(pip install transformers)') from error
    return CLIPTokenizer.from_pretrained(str(folder), local_files_only=True)


def tokenize(tokenizer, texts: Sequence[str], context_length: int) -> Tensor:
    """``(len(texts), context_length)`` token ids as open_clip gives them:
    start token, the text's tokens, end token, zeros.

    Raises:
        ValueError: A text is longer than the context (named).
    """
    ids = torch.zeros(len(texts), context_length, dtype=torch.long)
    for row, (text, tokens) in enumerate(
            zip(texts, tokenizer(list(texts))['input_ids'])):
        if len(tokens) > context_length:
            raise ValueError(
                f'{text!r} is {len(tokens)} tokens long, over the text '
                f"tower's context of {context_length}")
        ids[row, :len(tokens)] = torch.tensor(tokens)
    return ids


def fill_template(template: str, class_name: str) -> str:
    """``template`` with its one ``{}`` replaced by ``class_name``.

    Raises:
        ValueError: ``template`` has no ``{}`` or more than one.
    """
    if template.count('{}') != 1:
        raise ValueError(f'The prompt template {template!r} must hold '
                         'exactly one {} (where the class name goes)')
    return template.replace('{}', class_name)


@torch.no_grad()
def zero_shot_weights(encode: Callable[[Sequence[str]], Tensor],
                      class_names: Sequence[str], templates: Sequence[str],
                      logit_scale: Tensor) -> Tensor:
    """The ``(C, E)`` weight of a :class:`ZeroShotClsHead`: per class the
    mean of its prompts' normalised text features, normalised, times
    ``exp(logit_scale)``.

    Args:
        encode: Prompts to ``(P, E)`` text features.
        class_names: The class names, in label order.
        templates: Prompt templates, each with one ``{}``.
        logit_scale: CLIP's ``logit_scale`` (a log).
    """
    rows = []
    for name in class_names:
        features = encode([fill_template(template, name)
                           for template in templates])
        rows.append(F.normalize(F.normalize(features, dim=-1).mean(0),
                                dim=0))
    return logit_scale.float().exp() * torch.stack(rows)


def read_clip_text_model(path, heads=None, activation='quick_gelu',
                         trust=False):
    """``(CLIPTextEncoder, logit_scale)`` of a full CLIP model's weight
    file (a state dict, e.g. open_clip's ``open_clip_pytorch_model.bin``).

    Raises:
        ValueError: The file lacks the text tower or ``logit_scale``.
    """
    state_dict = load_third_party_weights(path, trust=trust)
    if 'logit_scale' not in state_dict:
        raise ValueError(f'{path} has no logit_scale: not a full CLIP '
                         'model state dict')
    return (CLIPTextEncoder.from_state_dict(state_dict, heads, activation,
                                            str(path)),
            state_dict['logit_scale'])
