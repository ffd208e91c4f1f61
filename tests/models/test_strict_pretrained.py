import pytest
import torch

from ..fixtures import pretrained_adapterx_vit, tiny_mmpretrain_vit


def pretrained_file(tmp_path, edit=None, prefix=''):
    torch.manual_seed(7)
    state = tiny_mmpretrain_vit().state_dict()
    if edit:
        edit(state)
    path = tmp_path / 'pretrained.pth'
    torch.save({'state_dict': {prefix + k: v for k, v in state.items()}},
               path)
    return path, state


def test_backbone_loads_and_only_adapters_are_missing(tmp_path):
    path, state = pretrained_file(tmp_path, prefix='backbone.')
    model = pretrained_adapterx_vit(path, prefix='backbone.')
    for key, value in state.items():
        assert torch.equal(model.module.state_dict()[key], value), key


def test_missing_backbone_key_fails_with_its_name(tmp_path):
    path, _ = pretrained_file(
        tmp_path, edit=lambda state: state.pop('layers.1.attn.qkv.weight'))
    with pytest.raises(ValueError) as error:
        pretrained_adapterx_vit(path)
    message = str(error.value)
    assert message.startswith(
        f'{path} (pretrained weights, 29 tensors) does not fit the '
        'VisionTransformer it is loaded into (30 tensors)')
    assert ('- 1 missing (in the model, not in the file): '
            'layers.1.attn.qkv.weight\n') in message
    assert 'unexpected' not in message
    assert message.endswith('set init_cfg.strict=False (if the names differ '
                            "by a prefix, set init_cfg.prefix instead: it is "
                            'None).')


def test_wrong_prefix_fails(tmp_path):
    path, _ = pretrained_file(tmp_path, prefix='backbone.')
    with pytest.raises(ValueError) as error:
        pretrained_adapterx_vit(path)
    message = str(error.value)
    assert ('- 30 missing (in the model, not in the file): cls_token, '
            'pos_embed, patch_embed.projection.weight, '
            'patch_embed.projection.bias, layers.0.ln1.weight, ... (25 more)'
            ) in message
    assert ('- 30 unexpected (in the file, not in the model): '
            'backbone.cls_token, backbone.pos_embed, ') in message


def test_strict_false_accepts_a_partial_load(tmp_path):
    path, state = pretrained_file(
        tmp_path, edit=lambda state: state.pop('ln1.weight'))
    model = pretrained_adapterx_vit(path, strict=False)
    assert torch.equal(model.module.state_dict()['layers.0.ln1.weight'],
                       state['layers.0.ln1.weight'])


class NotATensor:
    """A class no weights-only load may construct."""


def test_safetensors_weights_load_like_the_pth_files(tmp_path):
    from adapterx.checkpoint import save_weights
    _, state = pretrained_file(tmp_path)
    path = tmp_path / 'pretrained.safetensors'
    save_weights(path, {f'backbone.{k}': v for k, v in state.items()},
                 dict(converted_from='x.npz'))
    for prefix in ('backbone.', None):
        if prefix is None:  # a bare backbone file
            save_weights(path, state)
        model = pretrained_adapterx_vit(path, prefix=prefix)
        for key, value in state.items():
            assert torch.equal(model.module.state_dict()[key], value), key


def test_a_file_that_needs_unpickling_is_refused_naming_it(tmp_path):
    from adapterx.checkpoint import UntrustedCheckpointError
    _, state = pretrained_file(tmp_path)
    path = tmp_path / 'foreign.pth'
    torch.save({'state_dict': state, 'args': NotATensor()}, path)
    with pytest.raises(UntrustedCheckpointError) as error:
        pretrained_adapterx_vit(path)
    assert str(error.value).startswith(f'{path} needs full unpickling')
    assert 'convert the file with a tool of tools/model_converters/' in str(
        error.value)


def test_another_width_is_refused_with_the_file_and_shapes(tmp_path):
    path, _ = pretrained_file(
        tmp_path, edit=lambda state: state.update(
            {'ln1.weight': torch.ones(48), 'ln1.bias': torch.zeros(48)}))
    with pytest.raises(ValueError) as error:
        pretrained_adapterx_vit(path)
    message = str(error.value)
    assert message.startswith(f'{path} (pretrained weights')
    assert ('- 2 shape mismatch(es): ln1.weight: file (48,) vs model (32,), '
            'ln1.bias: file (48,) vs model (32,)\n') in message
    assert 'missing' not in message.split('\n')[1]
