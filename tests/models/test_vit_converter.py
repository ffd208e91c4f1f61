"""Converters from timm / Google ``.npz`` ViT weights to mmpretrain's ViT.

The reference is timm itself: its ``VisionTransformer`` for timm weights and
its own ``.npz`` loader (``_load_weights``) for Google's layout. Small random
ViTs keep the numeric checks fast; ViT-B/16 is checked for keys and shapes
on the meta device.
"""
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine import DefaultScope
from mmpretrain.models import VisionTransformer, VisionTransformerClsHead
from safetensors.torch import save_file
from timm.models.vision_transformer import VisionTransformer as TimmViT
from timm.models.vision_transformer import _load_weights

from adapterx.checkpoint import (UnreadableCheckpointError,
                                 UntrustedCheckpointError,
                                 load_runner_checkpoint, load_safetensors,
                                 load_third_party_weights)
from adapterx.models.converters import (convert_vit_checkpoint,
                                        npz_to_timm_state_dict,
                                        timm_vit_to_mmpretrain)
from ..utils import REPO_ROOT, run_tool

WIDTH, DEPTH, HEADS, NUM_CLASSES = 48, 2, 3, 5
SMALL_ARCH = dict(
    embed_dims=WIDTH,
    num_layers=DEPTH,
    num_heads=HEADS,
    feedforward_channels=4 * WIDTH)
ATOL = 1e-5


def timm_vit(seed=0):
    """A small timm ViT with every parameter random (timm zero-initialises
    biases, which would hide mistakes in their mapping)."""
    torch.manual_seed(seed)
    model = TimmViT(
        img_size=32,
        patch_size=8,
        embed_dim=WIDTH,
        depth=DEPTH,
        num_heads=HEADS,
        num_classes=NUM_CLASSES)
    with torch.no_grad():
        for param in model.parameters():
            param.normal_(std=0.2)
    return model.eval()


# The settings under which the converter's docstring says mmpretrain's ViT
# matches timm's.
TIMM_EQUIVALENT_SETTINGS = dict(
    qkv_bias=True,
    norm_cfg=dict(type='LN', eps=1e-6),
    final_norm=True,
    pre_norm=False,
    with_cls_token=True,
    out_type='cls_token',
    layer_scale_init_value=0.,
    layer_cfgs=dict(act_cfg=dict(type='GELU')))


def mmpretrain_vit(arch=SMALL_ARCH, img_size=32, patch_size=8, **kwargs):
    """mmpretrain's ViT with the settings the converter's docstring gives."""
    model = VisionTransformer(
        arch=arch,
        img_size=img_size,
        patch_size=patch_size,
        **TIMM_EQUIVALENT_SETTINGS,
        **kwargs)
    model.eval()  # mmpretrain's train() returns None, so no chaining
    return model


def mmpretrain_head(hidden_dim=None, in_channels=WIDTH,
                    num_classes=NUM_CLASSES):
    return VisionTransformerClsHead(
        num_classes=num_classes, in_channels=in_channels,
        hidden_dim=hidden_dim)


def load_backbone_and_head(state_dict, backbone, head):
    """Load converted backbone-relative + ``head.*`` weights, strictly."""
    head_keys = [key for key in state_dict if key.startswith('head.')]
    backbone.load_state_dict(
        {k: v
         for k, v in state_dict.items() if k not in head_keys},
        strict=True)
    head.load_state_dict({k[len('head.'):]: state_dict[k]
                          for k in head_keys},
                         strict=True)


def timm_cls_feature(model, images):
    # forward_features applies the final norm to every token.
    return model.forward_features(images)[:, 0]


def to_google_npz(timm_state_dict, pre_logits=None):
    """Google's ViT .npz arrays holding the weights of a timm state dict
    (the inverse of the mapping under test, written independently)."""
    sd = {key: value.numpy() for key, value in timm_state_dict.items()}
    heads_dim = (HEADS, WIDTH // HEADS)
    arrays = {
        # Conv2d OIHW -> Flax HWIO
        'embedding/kernel': sd['patch_embed.proj.weight'].transpose(
            2, 3, 1, 0),
        'embedding/bias': sd['patch_embed.proj.bias'],
        'cls': sd['cls_token'],
        'Transformer/posembed_input/pos_embedding': sd['pos_embed'],
        'Transformer/encoder_norm/scale': sd['norm.weight'],
        'Transformer/encoder_norm/bias': sd['norm.bias'],
        'head/kernel': sd['head.weight'].T,
        'head/bias': sd['head.bias'],
    }
    for i in range(DEPTH):
        src, dst = f'blocks.{i}.', f'Transformer/encoderblock_{i}/'
        attn = dst + 'MultiHeadDotProductAttention_1/'
        q_k_v = zip(('query', 'key', 'value'),
                    np.split(sd[src + 'attn.qkv.weight'], 3),
                    np.split(sd[src + 'attn.qkv.bias'], 3))
        for name, weight, bias in q_k_v:
            arrays[f'{attn}{name}/kernel'] = weight.T.reshape(
                WIDTH, *heads_dim)
            arrays[f'{attn}{name}/bias'] = bias.reshape(heads_dim)
        arrays[attn + 'out/kernel'] = sd[src + 'attn.proj.weight'].T.reshape(
            *heads_dim, WIDTH)
        arrays[attn + 'out/bias'] = sd[src + 'attn.proj.bias']
        for norm, ln in (('norm1', 'LayerNorm_0'), ('norm2', 'LayerNorm_2')):
            arrays[f'{dst}{ln}/scale'] = sd[f'{src}{norm}.weight']
            arrays[f'{dst}{ln}/bias'] = sd[f'{src}{norm}.bias']
        for fc, dense in (('fc1', 'Dense_0'), ('fc2', 'Dense_1')):
            mlp = f'{dst}MlpBlock_3/{dense}/'
            arrays[mlp + 'kernel'] = sd[f'{src}mlp.{fc}.weight'].T
            arrays[mlp + 'bias'] = sd[f'{src}mlp.{fc}.bias']
    if pre_logits is not None:
        arrays['pre_logits/kernel'], arrays['pre_logits/bias'] = pre_logits
    return arrays


@pytest.fixture(scope='module')
def images():
    return torch.randn(
        2, 3, 32, 32, generator=torch.Generator().manual_seed(1))


def test_timm_weights_give_timm_outputs(images):
    timm_model = timm_vit()
    converted = timm_vit_to_mmpretrain(timm_model.state_dict(), keep_head=True)
    backbone, head = mmpretrain_vit(), mmpretrain_head()
    load_backbone_and_head(converted, backbone, head)

    with torch.no_grad():
        features = backbone(images)
        torch.testing.assert_close(
            features[-1], timm_cls_feature(timm_model, images),
            atol=ATOL, rtol=0)
        torch.testing.assert_close(
            head(features), timm_model(images), atol=ATOL, rtol=0)


def test_prefix_and_dropped_head():
    state_dict = timm_vit().state_dict()
    backbone_only = timm_vit_to_mmpretrain(state_dict)
    assert not any(key.startswith('head') for key in backbone_only)
    mmpretrain_vit().load_state_dict(backbone_only, strict=True)

    for_classifier = timm_vit_to_mmpretrain(
        state_dict, keep_head=True, prefix='backbone.')
    assert set(for_classifier) == {'backbone.' + key for key in backbone_only
                                   } | {'head.layers.head.weight',
                                        'head.layers.head.bias'}


def google_b16_shapes():
    """Shapes of the arrays in Google's ImageNet-21k ViT-B_16.npz."""
    block = {
        'LayerNorm_0/scale': (768, ),
        'LayerNorm_0/bias': (768, ),
        'LayerNorm_2/scale': (768, ),
        'LayerNorm_2/bias': (768, ),
        'MlpBlock_3/Dense_0/kernel': (768, 3072),
        'MlpBlock_3/Dense_0/bias': (3072, ),
        'MlpBlock_3/Dense_1/kernel': (3072, 768),
        'MlpBlock_3/Dense_1/bias': (768, ),
        'MultiHeadDotProductAttention_1/out/kernel': (12, 64, 768),
        'MultiHeadDotProductAttention_1/out/bias': (768, ),
    }
    for name in ('query', 'key', 'value'):
        block[f'MultiHeadDotProductAttention_1/{name}/kernel'] = (768, 12, 64)
        block[f'MultiHeadDotProductAttention_1/{name}/bias'] = (12, 64)
    shapes = {
        'embedding/kernel': (16, 16, 3, 768),
        'embedding/bias': (768, ),
        'cls': (1, 1, 768),
        'Transformer/posembed_input/pos_embedding': (1, 197, 768),
        'Transformer/encoder_norm/scale': (768, ),
        'Transformer/encoder_norm/bias': (768, ),
        'pre_logits/kernel': (768, 768),
        'pre_logits/bias': (768, ),
        'head/kernel': (768, 21843),
        'head/bias': (21843, ),
    }
    for i in range(12):
        shapes.update({f'Transformer/encoderblock_{i}/{key}': shape
                       for key, shape in block.items()})
    return shapes


@pytest.mark.parametrize('source', ['timm', 'google_npz'])
def test_vit_b16_keys_and_shapes(source):
    """Full-size ViT-B/16 (21k classes), on the meta device: no memory and
    no compute, only names and shapes."""
    with torch.device('meta'):
        if source == 'timm':
            timm_weights = TimmViT(num_classes=21843).state_dict()
            hidden_dim = None
        else:
            timm_weights = npz_to_timm_state_dict({
                key: torch.empty(shape)
                for key, shape in google_b16_shapes().items()
            })
            hidden_dim = 768
        backbone = mmpretrain_vit(arch='base', img_size=224, patch_size=16)
        head = mmpretrain_head(hidden_dim, in_channels=768, num_classes=21843)
    converted = timm_vit_to_mmpretrain(timm_weights, keep_head=True)
    expected = {
        **backbone.state_dict(),
        **{f'head.{k}': v
           for k, v in head.state_dict().items()}
    }
    assert {k: v.shape for k, v in converted.items()} == \
        {k: v.shape for k, v in expected.items()}


@pytest.mark.parametrize('with_pre_logits', [False, True])
def test_google_npz_matches_timm_npz_loader(tmp_path, images,
                                            with_pre_logits):
    source = timm_vit()
    rng = np.random.default_rng(0)
    pre_logits = (rng.normal(size=(WIDTH, WIDTH)).astype(np.float32),
                  rng.normal(size=WIDTH).astype(np.float32)) \
        if with_pre_logits else None
    npz_path = tmp_path / 'ViT-tiny.npz'
    np.savez(npz_path, **to_google_npz(source.state_dict(), pre_logits))

    # timm's own loader reads the file into a differently seeded model.
    reference = timm_vit(seed=1)
    _load_weights(reference, str(npz_path))
    for key, value in source.state_dict().items():
        assert torch.equal(reference.state_dict()[key], value), key

    converted = convert_vit_checkpoint(npz_path, keep_head=True)
    backbone = mmpretrain_vit()
    head = mmpretrain_head(hidden_dim=WIDTH if with_pre_logits else None)
    load_backbone_and_head(converted, backbone, head)

    with torch.no_grad():
        features = backbone(images)
        cls_feature = timm_cls_feature(reference, images)
        torch.testing.assert_close(
            features[-1], cls_feature, atol=ATOL, rtol=0)
        if with_pre_logits:
            # Google's representation layer: Dense (kernel is in x out),
            # then tanh; timm's current ViT has no such layer.
            kernel, bias = map(torch.from_numpy, pre_logits)
            expected = reference.head(torch.tanh(cls_feature @ kernel + bias))
        else:
            expected = reference(images)
        torch.testing.assert_close(
            head(features), expected, atol=ATOL, rtol=0)


@pytest.mark.parametrize('filename,wrap', [
    ('model.safetensors', lambda sd: sd),
    ('pytorch_model.bin', lambda sd: sd),
    ('checkpoint.pth', lambda sd: dict(state_dict=sd, epoch=3)),
    ('deit.pth', lambda sd: dict(model=sd)),
    ('ddp.pt', lambda sd: dict(module=sd)),
])
def test_weight_file_round_trip(tmp_path, filename, wrap):
    state_dict = {k: v.clone() for k, v in timm_vit().state_dict().items()}
    path = tmp_path / filename
    if path.suffix == '.safetensors':
        save_file(state_dict, path)
    else:
        torch.save(wrap(state_dict), path)

    loaded = load_third_party_weights(path)
    assert loaded.keys() == state_dict.keys()
    for key, value in state_dict.items():
        assert torch.equal(loaded[key], value), key
    assert convert_vit_checkpoint(path).keys() == \
        timm_vit_to_mmpretrain(state_dict).keys()


@pytest.mark.parametrize('filename', ['ddp.pth', 'ddp.safetensors'])
def test_ddp_prefix_is_stripped(tmp_path, filename):
    state_dict = {k: v.clone() for k, v in timm_vit().state_dict().items()}
    prefixed = {f'module.{key}': value for key, value in state_dict.items()}
    path = tmp_path / filename
    if path.suffix == '.safetensors':
        save_file(prefixed, path)
    else:
        torch.save(dict(state_dict=prefixed), path)
    converted = convert_vit_checkpoint(path, prefix='backbone.')
    expected = timm_vit_to_mmpretrain(state_dict, prefix='backbone.')
    assert converted.keys() == expected.keys()
    for key, value in expected.items():
        assert torch.equal(converted[key], value), key


@pytest.mark.parametrize('suffix', ['.safetensors', '.npz'])
@pytest.mark.parametrize('damage', ['cut', 'garbage'])
def test_unreadable_archive_is_named(tmp_path, suffix, damage):
    path = tmp_path / f'vit{suffix}'
    if suffix == '.safetensors':
        save_file(timm_vit().state_dict(), path)
    else:
        np.savez(path, **to_google_npz(timm_vit().state_dict()))
    content = path.read_bytes()
    path.write_bytes(content[:len(content) * 6 // 10] if damage == 'cut'
                     else b'<html>404 Not Found</html>')
    with pytest.raises(UnreadableCheckpointError) as error:
        convert_vit_checkpoint(path)
    # The same reader (and words) as every other safetensors file.
    kind = 'safetensors' if suffix == '.safetensors' else suffix
    assert str(error.value).startswith(
        f'{path} cannot be read as a {kind} file (truncated, corrupt or '
        'another kind of file): ')


_UNPICKLE_CALLS = []


def _note_unpickled():
    _UNPICKLE_CALLS.append(True)
    return 'ran'


class _PickledCall:
    """Unpickling this calls a function, as a malicious file would."""

    def __reduce__(self):
        return _note_unpickled, ()


def test_pickle_needing_trust_is_refused_unless_trusted(tmp_path):
    state_dict = timm_vit().state_dict()
    path = tmp_path / 'train_checkpoint.pth'
    torch.save(dict(state_dict=state_dict, args=_PickledCall()), path)
    _UNPICKLE_CALLS.clear()
    safe_globals = torch.serialization.get_safe_globals()

    with pytest.raises(UntrustedCheckpointError) as error:
        convert_vit_checkpoint(path)
    assert str(path) in str(error.value)
    assert '_note_unpickled' in str(error.value)
    assert not _UNPICKLE_CALLS

    converted = convert_vit_checkpoint(path, trust=True)
    assert _UNPICKLE_CALLS == [True]
    assert converted.keys() == timm_vit_to_mmpretrain(state_dict).keys()
    assert torch.serialization.get_safe_globals() == safe_globals


def test_errors_name_the_path_or_key(tmp_path):
    missing = tmp_path / 'absent.npz'
    with pytest.raises(FileNotFoundError, match='absent.npz'):
        load_third_party_weights(missing)
    wrong_type = tmp_path / 'weights.ckpt'
    wrong_type.write_bytes(b'')
    with pytest.raises(ValueError, match=r'weights\.ckpt.*\.safetensors'):
        load_third_party_weights(wrong_type)

    state_dict = timm_vit().state_dict()
    state_dict['fc_norm.weight'] = torch.ones(WIDTH)
    with pytest.raises(ValueError, match=r"\['fc_norm\.weight'\]"):
        timm_vit_to_mmpretrain(state_dict)

    arrays = to_google_npz(timm_vit().state_dict())
    arrays['Transformer/encoderblock_0/LayerScale/scale'] = np.ones(WIDTH)
    with pytest.raises(ValueError, match='encoderblock_0/LayerScale/scale'):
        npz_to_timm_state_dict(arrays)
    del arrays['embedding/bias']
    with pytest.raises(ValueError, match='embedding/bias'):
        npz_to_timm_state_dict(arrays)

    # Already converted: neither source layout.
    mmpretrain_file = tmp_path / 'mmpretrain_vit.pth'
    torch.save(mmpretrain_vit().state_dict(), mmpretrain_file)
    with pytest.raises(ValueError, match='mmpretrain_vit.pth'):
        convert_vit_checkpoint(mmpretrain_file)


@pytest.mark.slow
def test_cli_output_loads_into_mmpretrain(tmp_path, images):
    timm_model = timm_vit()
    src = tmp_path / 'vit.safetensors'
    save_file(timm_model.state_dict(), src)
    dst = tmp_path / 'out' / 'vit_mmpretrain.safetensors'
    output = run_tool(sys.executable,
                      REPO_ROOT / 'tools' / 'model_converters' /
                      'vit_timm_to_mmpretrain.py', src, dst)
    num_params = sum(
        value.numel() for key, value in timm_model.state_dict().items()
        if not key.startswith('head.'))
    assert f'wrote 30 tensors ({num_params:,} values)' in output

    # A safetensors file (no pickle), where it came from as metadata.
    written = load_runner_checkpoint(str(dst))
    assert written['meta'] == dict(converted_from=str(src), keep_head=False)
    strict = mmpretrain_vit()
    strict.load_state_dict({
        key[len('backbone.'):]: value
        for key, value in written['state_dict'].items()
    }, strict=True)
    # The documented config route (adapterx's scope): init_cfg Pretrained
    # with a prefix.
    with DefaultScope.overwrite_default_scope('adapterx'):
        from_config = mmpretrain_vit(
            init_cfg=dict(
                type='Pretrained', checkpoint=str(dst), prefix='backbone.'))
        from_config.init_weights()
    with torch.no_grad():
        expected = timm_cls_feature(timm_model, images)
        for backbone in (strict, from_config):
            torch.testing.assert_close(
                backbone(images)[-1], expected, atol=ATOL, rtol=0)


@pytest.mark.slow
def test_cli_refuses_a_pickle_output_name(tmp_path):
    src = tmp_path / 'vit.safetensors'
    save_file(timm_vit().state_dict(), src)
    dst = tmp_path / 'vit_mmpretrain.pth'
    result = subprocess.run(
        [sys.executable,
         str(REPO_ROOT / 'tools' / 'model_converters' /
             'vit_timm_to_mmpretrain.py'), str(src), str(dst)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode != 0
    assert (f'{dst}: the converted weights (DST) are written as '
            'safetensors') in result.stderr
    assert not dst.exists()


# The image PEFT methods, by base config. Those whose added modules start
# as the identity (zero up-projections or increments) must reproduce timm's
# outputs once the converted file is loaded; for the others (prompts, SSF's
# random scales, Adapter-X's prompt generator) the backbone's tensors must
# still be the file's, exactly.
IDENTITY_AT_INIT = ['adapterx_smoa_only', 'adaptformer', 'convpass',
                    'fact_tk', 'fact_tt', 'lora']
CHANGED_AT_INIT = ['adapterx', 'idpt', 'ssf', 'vpt_deep', 'vpt_shallow']


def peft_classifier(peft_name, hidden_dim=None):
    """A PeftImageClassifier config with the converter's ViT settings and
    the PEFT method of ``configs/_base_/peft/<peft_name>.py``."""
    from mmengine.config import Config
    peft = Config.fromfile(
        str(REPO_ROOT / 'configs' / '_base_' / 'peft' / f'{peft_name}.py'))
    return dict(
        type='PeftImageClassifier',
        backbone=dict(
            type='VisionTransformer',
            arch=SMALL_ARCH,
            img_size=32,
            patch_size=8,
            **TIMM_EQUIVALENT_SETTINGS),
        neck=None,
        head=dict(type='VisionTransformerClsHead', num_classes=NUM_CLASSES,
                  in_channels=WIDTH, hidden_dim=hidden_dim),
        peft=peft.peft)


def build_peft_classifier(peft_name, **kwargs):
    from mmengine import DefaultScope

    from adapterx.registry import MODELS
    torch.manual_seed(3)
    with DefaultScope.overwrite_default_scope('adapterx'):
        model = MODELS.build(peft_classifier(peft_name, **kwargs))
        model.init_weights()
    return model


@pytest.fixture(scope='module')
def converted_classifier(tmp_path_factory):
    """timm's model and the converter's output for it, with its head, as
    the command line writes it."""
    from adapterx.models.converters.cli import save_converted
    directory = tmp_path_factory.mktemp('converted')
    timm_model = timm_vit()
    src = directory / 'vit.safetensors'
    save_file(timm_model.state_dict(), src)
    dst = directory / 'vit_mmpretrain.safetensors'
    save_converted(
        convert_vit_checkpoint(src, keep_head=True, prefix='backbone.'), dst,
        dict(converted_from=str(src)))
    return timm_model, dst


def assert_matches_timm(model, timm_model, images):
    model.eval()
    with torch.no_grad():
        torch.testing.assert_close(
            model.extract_feat(images)[-1],
            timm_cls_feature(timm_model, images), atol=ATOL, rtol=0)
        torch.testing.assert_close(
            model(images, mode='tensor'), timm_model(images), atol=ATOL,
            rtol=0)


@pytest.mark.parametrize('peft_name', IDENTITY_AT_INIT + CHANGED_AT_INIT)
def test_converted_classifier_loads_under_every_peft_wrapper(
        converted_classifier, images, peft_name):
    from adapterx.engine import load_checkpoint
    timm_model, dst = converted_classifier
    model = build_peft_classifier(peft_name)
    load_checkpoint(model, str(dst))

    converted = load_safetensors(dst)['state_dict']
    loaded = model.state_dict()
    for key, value in converted.items():
        wrapped = key.replace('backbone.', 'backbone.module.', 1)
        assert torch.equal(loaded[wrapped], value), key
    if peft_name in IDENTITY_AT_INIT:
        assert_matches_timm(model, timm_model, images)


def test_load_from_converted_classifier_under_peft(converted_classifier,
                                                   images, tmp_path):
    from mmengine.config import Config

    from adapterx.registry import RUNNERS
    timm_model, dst = converted_classifier
    cfg = Config(
        dict(
            model=peft_classifier('adapterx_smoa_only'),
            work_dir=str(tmp_path),
            load_from=str(dst),
            default_scope='adapterx',
            runner_type='PeftRunner'))
    runner = RUNNERS.build(cfg)
    runner.load_or_resume()
    assert_matches_timm(runner.model, timm_model, images)


def test_kept_pre_logits_without_hidden_dim_is_an_error(tmp_path):
    from adapterx.engine import load_checkpoint
    from adapterx.models.converters.cli import save_converted
    from adapterx.checkpoint.loading import CheckpointMismatchError
    rng = np.random.default_rng(0)
    pre_logits = (rng.normal(size=(WIDTH, WIDTH)).astype(np.float32),
                  rng.normal(size=WIDTH).astype(np.float32))
    npz_path = tmp_path / 'ViT-in21k.npz'
    np.savez(npz_path, **to_google_npz(timm_vit().state_dict(), pre_logits))
    dst = tmp_path / 'vit_in21k.safetensors'
    save_converted(
        convert_vit_checkpoint(npz_path, keep_head=True, prefix='backbone.'),
        dst, dict(converted_from=str(npz_path)))

    with pytest.raises(CheckpointMismatchError) as error:
        load_checkpoint(build_peft_classifier('lora'), str(dst))
    message = str(error.value)
    # safetensors files list their tensors sorted by name.
    assert ('- 2 unexpected (in the file, not in the model): '
            'head.layers.pre_logits.bias, head.layers.pre_logits.weight\n'
            ) in message
    assert ('that the model\'s head lacks, so the logits would lose it: set '
            f'head.hidden_dim={WIDTH} in the config, or convert without '
            '--keep-head.') in message
    # The fix the message names.
    model = build_peft_classifier('lora', hidden_dim=WIDTH)
    load_checkpoint(model, str(dst))
    assert torch.equal(
        model.state_dict()['head.layers.pre_logits.weight'],
        torch.from_numpy(pre_logits[0]).T)


def test_backbone_only_file_as_whole_model_names_init_cfg(tmp_path):
    from adapterx.engine import load_checkpoint
    from adapterx.models.converters.cli import save_converted
    from adapterx.checkpoint.loading import CheckpointMismatchError
    dst = tmp_path / 'vit_backbone.safetensors'
    save_converted(
        timm_vit_to_mmpretrain(timm_vit().state_dict(), prefix='backbone.'),
        dst, {})
    with pytest.raises(CheckpointMismatchError) as error:
        load_checkpoint(build_peft_classifier('lora'), str(dst))
    message = str(error.value)
    assert ('- 2 missing (in the model, not in the file): '
            'head.layers.head.weight, head.layers.head.bias\n') in message
    assert ("backbone.init_cfg=dict(type='Pretrained', "
            f"checkpoint='{dst}', prefix='backbone.')") in message
    assert message.endswith('To load the tensors that fit anyway: '
                            'strict=False.')
