"""An unknown type names the registry searched and the close matches,
whether adapterx builds it (nested: peft, adapters) or mmengine's Runner
does (top level: model, hooks, datasets)."""
import pytest
from mmengine import DefaultScope
from mmengine.config import Config

from adapterx.engine import PeftRunner
from adapterx.registry import ADAPTERS, MODELS
from adapterx.utils import register_all_modules
from adapterx.utils.registry_suggestions import UnknownTypeError
from .utils import TINY_CONFIG


def test_nested_peft_type_suggests_adapterx():
    backbone = dict(type='VisionTransformer', arch=dict(
        embed_dims=32, num_layers=2, num_heads=2, feedforward_channels=64),
        img_size=32, patch_size=8)
    with DefaultScope.overwrite_default_scope('adapterx'):
        with pytest.raises(KeyError) as error:
            MODELS.build(dict(type='PeftImageClassifier', backbone=backbone,
                              peft=dict(type='AdaptrX')))
    assert isinstance(error.value, UnknownTypeError)
    message = str(error.value)
    assert "Unknown model type 'AdaptrX'" in message
    assert ('searched adapterx::model, mmpretrain::model, mmengine::model'
            in message)
    assert 'did you mean AdapterX' in message


def test_adapter_type_suggests_the_registered_spelling():
    with DefaultScope.overwrite_default_scope('adapterx'):
        with pytest.raises(UnknownTypeError,
                           match=r"adapter type 'smoa': searched "
                           r'adapterx::adapter; did you mean SMoA'):
            ADAPTERS.build(dict(type='smoa', embed_dims=16))


def test_a_name_close_to_nothing_says_so():
    with DefaultScope.overwrite_default_scope('adapterx'):
        with pytest.raises(UnknownTypeError,
                           match='no registered name is close to it'):
            ADAPTERS.build(dict(type='Qwxyzzz'))


@pytest.fixture
def tiny_cfg(tmp_path):
    register_all_modules(init_default_scope=False)
    cfg = Config.fromfile(TINY_CONFIG)
    cfg.work_dir = str(tmp_path)
    return cfg


@pytest.mark.parametrize('key, value, expected', [
    ('model', 'PeftImageClasifier',
     "model type 'PeftImageClasifier': searched adapterx::model"),
    ('custom_hooks', 'ParameterFreezHook',
     "hook type 'ParameterFreezHook': searched adapterx::hook, "
     'mmpretrain::hook, mmengine::hook; did you mean ParameterFreezeHook'),
])
def test_runner_names_close_matches_of_top_level_types(tiny_cfg, key, value,
                                                       expected):
    if key == 'model':
        tiny_cfg.model.type = value
    else:
        tiny_cfg.custom_hooks = [dict(type=value, trainable=[])]
    with pytest.raises(UnknownTypeError) as error:
        PeftRunner.from_cfg(tiny_cfg)
    assert expected in str(error.value)
    if key == 'model':
        assert 'did you mean PeftImageClassifier' in str(error.value)


@pytest.mark.slow
def test_runner_names_close_matches_of_the_dataset_type(tiny_cfg):
    # Datasets are built when training starts, not with the runner.
    tiny_cfg.train_dataloader.dataset.type = 'CustomDatset'
    runner = PeftRunner.from_cfg(tiny_cfg)
    with pytest.raises(UnknownTypeError,
                       match=r"dataset type 'CustomDatset': searched "
                       r'adapterx::dataset, .*did you mean CustomDataset'):
        runner.train()
