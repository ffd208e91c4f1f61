"""``init_cfg=dict(type='Pretrained', checkpoint='x.safetensors')``: local
safetensors files load through the strict Pretrained init."""
import pytest
import torch
from mmengine import DefaultScope
from mmengine.runner.checkpoint import CheckpointLoader
from safetensors.torch import save_file

from adapterx.checkpoint.third_party import load_from_safetensors
from adapterx.registry import MODELS
from ..fixtures import vit_config


def vit(init_cfg=None):
    with DefaultScope.overwrite_default_scope('adapterx'):
        backbone = MODELS.build(vit_config(init_cfg=init_cfg))
        backbone.init_weights()
    return backbone


def fp16_file(tmp_path, drop=None):
    torch.manual_seed(3)
    state = {key: value.half().contiguous()
             for key, value in vit().state_dict().items() if key != drop}
    path = tmp_path / 'vit.safetensors'
    save_file(state, str(path))
    return path, state


def test_fp16_safetensors_load_into_the_fp32_backbone(tmp_path):
    path, state = fp16_file(tmp_path)
    torch.manual_seed(4)  # a different random start than the file's
    backbone = vit(dict(type='Pretrained', checkpoint=str(path)))
    loaded = backbone.state_dict()
    assert sorted(loaded) == sorted(state)
    for key, value in state.items():
        assert loaded[key].dtype == torch.float32
        assert torch.equal(loaded[key], value.float()), key


def test_a_safetensors_file_missing_a_key_is_refused_by_name(tmp_path):
    path, _ = fp16_file(tmp_path, drop='layers.1.attn.qkv.weight')
    with pytest.raises(ValueError) as error:
        vit(dict(type='Pretrained', checkpoint=str(path)))
    message = str(error.value)
    assert message.startswith(f'{path} (pretrained weights')
    assert '- 1 missing (in the model, not in the file): ' in message
    assert 'layers.1.attn.qkv.weight' in message


def test_only_local_safetensors_paths_take_the_safetensors_loader():
    loader = CheckpointLoader._get_checkpoint_loader
    assert loader('/weights/vit.safetensors') is load_from_safetensors
    assert loader('vit.safetensors') is load_from_safetensors
    assert loader('/weights/vit.pth') is not load_from_safetensors
    assert loader('https://host/vit.safetensors') is not load_from_safetensors
    assert loader('s3://bucket/vit.safetensors') is not load_from_safetensors
