import pytest
import torch
from mmengine import DefaultScope
from mmpretrain.models import VisionTransformer

from adapterx.models import AdapterX

ARCH = dict(embed_dims=32, num_layers=2, num_heads=2, feedforward_channels=64)


def pretrained_file(tmp_path, edit=None, prefix=''):
    torch.manual_seed(7)
    state = VisionTransformer(arch=ARCH, img_size=32,
                              patch_size=8).state_dict()
    if edit:
        edit(state)
    path = tmp_path / 'pretrained.pth'
    torch.save({'state_dict': {prefix + k: v for k, v in state.items()}},
               path)
    return path, state


def adapterx_vit(path, **init):
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('adapterx'):
        return AdapterX(
            dict(type='VisionTransformer', arch=ARCH, img_size=32,
                 patch_size=8,
                 init_cfg=dict(type='Pretrained', checkpoint=str(path),
                               **init)))


def test_backbone_loads_and_only_adapters_are_missing(tmp_path):
    path, state = pretrained_file(tmp_path, prefix='backbone.')
    model = adapterx_vit(path, prefix='backbone.')
    for key, value in state.items():
        assert torch.equal(model.module.state_dict()[key], value), key


def test_missing_backbone_key_fails_with_its_name(tmp_path):
    path, _ = pretrained_file(
        tmp_path, edit=lambda state: state.pop('layers.1.attn.qkv.weight'))
    with pytest.raises(ValueError) as error:
        adapterx_vit(path)
    message = str(error.value)
    assert 'layers.1.attn.qkv.weight' in message
    assert str(path) in message and '1 missing key(s)' in message


def test_wrong_prefix_fails(tmp_path):
    path, _ = pretrained_file(tmp_path, prefix='backbone.')
    with pytest.raises(ValueError, match=r'unexpected key\(s\)'):
        adapterx_vit(path)


def test_strict_false_accepts_a_partial_load(tmp_path):
    path, state = pretrained_file(
        tmp_path, edit=lambda state: state.pop('ln1.weight'))
    model = adapterx_vit(path, strict=False)
    assert torch.equal(model.module.state_dict()['layers.0.ln1.weight'],
                       state['layers.0.ln1.weight'])


class NotATensor:
    """A class no weights-only load may construct."""


def test_safetensors_weights_load_like_the_pth_files(tmp_path):
    from adapterx.engine.checkpoint import save_weights
    _, state = pretrained_file(tmp_path)
    path = tmp_path / 'pretrained.safetensors'
    save_weights(path, {f'backbone.{k}': v for k, v in state.items()},
                 dict(converted_from='x.npz'))
    for prefix in ('backbone.', None):
        if prefix is None:  # a bare backbone file
            save_weights(path, state)
        model = adapterx_vit(path, prefix=prefix)
        for key, value in state.items():
            assert torch.equal(model.module.state_dict()[key], value), key


def test_a_file_that_needs_unpickling_is_refused_naming_it(tmp_path):
    from adapterx.engine.checkpoint import UntrustedCheckpointError
    _, state = pretrained_file(tmp_path)
    path = tmp_path / 'foreign.pth'
    torch.save({'state_dict': state, 'args': NotATensor()}, path)
    with pytest.raises(UntrustedCheckpointError) as error:
        adapterx_vit(path)
    assert str(error.value).startswith(f'{path} needs full unpickling')
    assert 'convert the file once with tools/model_converters/' in str(
        error.value)
