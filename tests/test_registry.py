from mmengine import DefaultScope
from mmengine.registry import Registry
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import RUNNERS as MMENGINE_RUNNERS
from mmpretrain import registry as mmpretrain_registry

import adapterx.registry as adapterx_registry
from adapterx.engine import EpochSeedHook, PeftRunner
from adapterx.utils import register_all_modules


def test_every_registry_is_a_child_of_mmpretrains():
    for name in adapterx_registry.__all__:
        registry = getattr(adapterx_registry, name)
        assert registry.scope == 'adapterx'
        if name == 'ADAPTERS':
            assert registry.parent is None
        else:
            assert registry.parent is getattr(mmpretrain_registry, name)


def test_adapterx_scope_finds_its_own_and_mmpretrains_components():
    # Lookups through the adapterx node import the locations on demand.
    assert adapterx_registry.RUNNERS.get('PeftRunner') is PeftRunner
    assert adapterx_registry.HOOKS.get('EpochSeedHook') is EpochSeedHook
    vit = adapterx_registry.MODELS.get('VisionTransformer')
    assert vit is mmpretrain_registry.MODELS.get('VisionTransformer')
    assert vit.__module__.startswith('mmpretrain.models')
    assert adapterx_registry.DATASETS.get('CustomDataset') is not None
    assert adapterx_registry.TRANSFORMS.get('PackInputs') is not None
    assert adapterx_registry.METRICS.get('Accuracy') is not None
    # mmengine's own components are found through mmpretrain's node.
    assert adapterx_registry.HOOKS.get('CheckpointHook') is not None
    assert adapterx_registry.ADAPTERS.get('SMoA').__module__ == \
        'adapterx.models.modules.smoa.smoa'


def test_scoped_names_from_the_root_and_from_other_codebases():
    register_all_modules(init_default_scope=False)
    assert MMENGINE_RUNNERS.get('adapterx.PeftRunner') is PeftRunner
    # A sibling codebase (mmdet, mmseg) names adapterx components by scope.
    downstream = Registry(
        'runner', parent=MMENGINE_RUNNERS, scope='downstream_codebase')
    assert downstream.get('adapterx.PeftRunner') is PeftRunner
    assert MMENGINE_MODELS.get('mmpretrain.VisionTransformer') is \
        mmpretrain_registry.MODELS.get('VisionTransformer')


def test_default_scope_adapterx_builds_mmpretrain_models():
    with DefaultScope.overwrite_default_scope('adapterx'):
        head = MMENGINE_MODELS.build(
            dict(type='LinearClsHead', num_classes=3, in_channels=8))
    assert type(head).__module__.startswith('mmpretrain.models.heads')


def test_adapters_build_from_adapters_under_the_default_scope():
    with DefaultScope.overwrite_default_scope('adapterx'):
        pool = adapterx_registry.ADAPTERS.build(
            dict(type='SharedExpertPool', embed_dims=16))
    assert type(pool).__name__ == 'SharedExpertPool'


def test_register_all_modules_sets_the_default_scope():
    register_all_modules(init_default_scope=True)
    assert DefaultScope.get_current_instance().scope_name == 'adapterx'
