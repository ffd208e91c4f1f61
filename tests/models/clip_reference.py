"""Tiny CLIP models with random weights in the OpenAI / open_clip key
layout, and the same weights in ``transformers``' CLIP (an independent
implementation of the published architecture): the reference the
converter, the text tower and the zero-shot heads are checked against."""
import json
import math
import string

import torch

# The tiny CLIP of these tests: image tower 32 wide, 2 blocks, 8x8 patches
# of 16x16 images; text tower 24 wide, 2 blocks, context 32; features 16.
VISION = dict(width=32, layers=2, heads=4, patch=8, image_size=16)
TEXT = dict(width=24, layers=2, heads=4, context=32)
EMBED_DIMS = 16


# The tiny tokenizer's symbols: each alone and word-final ("</w>"), as in
# CLIP's byte-level vocabulary, then one merge, then the start and end
# tokens (the end token is the largest id, as in CLIP).
_SYMBOLS = string.ascii_lowercase + string.digits + '.":!,-\'()/'
_MERGES = (('p', 'h'), )


def write_tiny_tokenizer(folder):
    """Write a CLIP tokenizer (``vocab.json``, ``merges.txt``) of lower-case
    letters, digits and punctuation to ``folder`` (``TINY_VOCAB_SIZE``
    tokens)."""
    vocab = {}
    for suffix in ('', '</w>'):
        for symbol in _SYMBOLS:
            vocab[symbol + suffix] = len(vocab)
    for first, second in _MERGES:
        vocab[first + second] = len(vocab)
    for special in ('<|startoftext|>', '<|endoftext|>'):
        vocab[special] = len(vocab)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / 'vocab.json').write_text(json.dumps(vocab))
    (folder / 'merges.txt').write_text(
        '#version: 0.2\n' + ''.join(f'{a} {b}\n' for a, b in _MERGES))


TINY_VOCAB_SIZE = 2 * len(_SYMBOLS) + len(_MERGES) + 2


def _block(prefix, width, generator):
    def randn(*shape, scale=0.1):
        return scale * torch.randn(*shape, generator=generator)

    return {
        f'{prefix}ln_1.weight': 1 + randn(width),
        f'{prefix}ln_1.bias': randn(width),
        f'{prefix}attn.in_proj_weight': randn(3 * width, width, scale=0.3),
        f'{prefix}attn.in_proj_bias': randn(3 * width),
        f'{prefix}attn.out_proj.weight': randn(width, width, scale=0.3),
        f'{prefix}attn.out_proj.bias': randn(width),
        f'{prefix}ln_2.weight': 1 + randn(width),
        f'{prefix}ln_2.bias': randn(width),
        f'{prefix}mlp.c_fc.weight': randn(4 * width, width, scale=0.3),
        f'{prefix}mlp.c_fc.bias': randn(4 * width),
        f'{prefix}mlp.c_proj.weight': randn(width, 4 * width, scale=0.3),
        f'{prefix}mlp.c_proj.bias': randn(width),
    }


def random_clip_state(vocab_size=TINY_VOCAB_SIZE, seed=0):
    """A full CLIP model's state dict (``visual.*``, the text tower and
    ``logit_scale``) with random weights."""
    generator = torch.Generator().manual_seed(seed)

    def randn(*shape, scale=0.5):
        return scale * torch.randn(*shape, generator=generator)

    width, patch = VISION['width'], VISION['patch']
    tokens = (VISION['image_size'] // patch)**2 + 1
    state = {
        'visual.conv1.weight': randn(width, 3, patch, patch, scale=0.1),
        'visual.class_embedding': randn(width),
        'visual.positional_embedding': randn(tokens, width),
        'visual.ln_pre.weight': 1 + randn(width, scale=0.1),
        'visual.ln_pre.bias': randn(width, scale=0.1),
        'visual.ln_post.weight': 1 + randn(width, scale=0.1),
        'visual.ln_post.bias': randn(width, scale=0.1),
        'visual.proj': randn(width, EMBED_DIMS, scale=width**-0.5),
    }
    for index in range(VISION['layers']):
        state.update(_block(f'visual.transformer.resblocks.{index}.', width,
                            generator))
    text_width = TEXT['width']
    state.update({
        'token_embedding.weight': randn(vocab_size, text_width),
        'positional_embedding': randn(TEXT['context'], text_width),
        'ln_final.weight': 1 + randn(text_width, scale=0.1),
        'ln_final.bias': randn(text_width, scale=0.1),
        'text_projection': randn(text_width, EMBED_DIMS,
                                 scale=text_width**-0.5),
        'logit_scale': torch.tensor(math.log(1 / 0.07)),
    })
    for index in range(TEXT['layers']):
        state.update(_block(f'transformer.resblocks.{index}.', text_width,
                            generator))
    return state


def _hf_layers(state, prefix, hf_prefix, layers):
    mapped = {}
    for index in range(layers):
        block, hf = f'{prefix}{index}.', f'{hf_prefix}{index}.'
        for part in ('weight', 'bias'):
            q, k, v = state[f'{block}attn.in_proj_{part}'].chunk(3)
            mapped.update({
                f'{hf}self_attn.q_proj.{part}': q,
                f'{hf}self_attn.k_proj.{part}': k,
                f'{hf}self_attn.v_proj.{part}': v,
                f'{hf}self_attn.out_proj.{part}':
                state[f'{block}attn.out_proj.{part}'],
                f'{hf}layer_norm1.{part}': state[f'{block}ln_1.{part}'],
                f'{hf}layer_norm2.{part}': state[f'{block}ln_2.{part}'],
                f'{hf}mlp.fc1.{part}': state[f'{block}mlp.c_fc.{part}'],
                f'{hf}mlp.fc2.{part}': state[f'{block}mlp.c_proj.{part}'],
            })
    return mapped


def hf_vision_model(state, activation='quick_gelu'):
    """``transformers``' ``CLIPVisionModelWithProjection`` holding the
    image tower of ``state``."""
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection
    config = CLIPVisionConfig(
        hidden_size=VISION['width'], intermediate_size=4 * VISION['width'],
        num_hidden_layers=VISION['layers'],
        num_attention_heads=VISION['heads'],
        image_size=VISION['image_size'], patch_size=VISION['patch'],
        projection_dim=EMBED_DIMS, hidden_act=activation)
    model = CLIPVisionModelWithProjection(config)
    mapped = {
        'vision_model.embeddings.class_embedding':
        state['visual.class_embedding'],
        'vision_model.embeddings.patch_embedding.weight':
        state['visual.conv1.weight'],
        'vision_model.embeddings.position_embedding.weight':
        state['visual.positional_embedding'],
        'visual_projection.weight': state['visual.proj'].T,
    }
    for part in ('weight', 'bias'):
        mapped[f'vision_model.pre_layrnorm.{part}'] = \
            state[f'visual.ln_pre.{part}']
        mapped[f'vision_model.post_layernorm.{part}'] = \
            state[f'visual.ln_post.{part}']
    mapped.update(_hf_layers(state, 'visual.transformer.resblocks.',
                             'vision_model.encoder.layers.',
                             VISION['layers']))
    _load_all(model, mapped)
    return model.eval()


def hf_text_model(state, eos_token_id, activation='quick_gelu'):
    """``transformers``' ``CLIPTextModelWithProjection`` holding the text
    tower of ``state``, pooling at ``eos_token_id``."""
    from transformers import CLIPTextConfig, CLIPTextModelWithProjection
    vocab_size = state['token_embedding.weight'].shape[0]
    config = CLIPTextConfig(
        vocab_size=vocab_size, hidden_size=TEXT['width'],
        intermediate_size=4 * TEXT['width'],
        num_hidden_layers=TEXT['layers'], num_attention_heads=TEXT['heads'],
        max_position_embeddings=TEXT['context'], projection_dim=EMBED_DIMS,
        hidden_act=activation, eos_token_id=eos_token_id,
        bos_token_id=eos_token_id - 1, pad_token_id=0)
    model = CLIPTextModelWithProjection(config)
    mapped = {
        'text_model.embeddings.token_embedding.weight':
        state['token_embedding.weight'],
        'text_model.embeddings.position_embedding.weight':
        state['positional_embedding'],
        'text_model.final_layer_norm.weight': state['ln_final.weight'],
        'text_model.final_layer_norm.bias': state['ln_final.bias'],
        'text_projection.weight': state['text_projection'].T,
    }
    mapped.update(_hf_layers(state, 'transformer.resblocks.',
                             'text_model.encoder.layers.', TEXT['layers']))
    _load_all(model, mapped)
    return model.eval()


def _load_all(model, mapped):
    """Load ``mapped`` into every parameter of ``model`` (buffers such as
    position ids keep theirs)."""
    missing = set(dict(model.named_parameters())) - set(mapped)
    assert not missing, missing
    model.load_state_dict(mapped, strict=False)
