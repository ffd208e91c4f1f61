"""The Python API: get_peft_model, the trainable report, save / load of
adapter files, merge_and_unload and unload, on timm's ViT, mmpretrain's
classifier and the point transformer."""
import copy
import re

import pytest
import torch
from mmpretrain.models import ImageClassifier
from mmpretrain.structures import DataSample

import adapterx
from adapterx.checkpoint.io import save_weights
from adapterx.models.peft import METHOD_NAMES, PeftModel
from ..fixtures import (WIDTH, in_eval_mode, tiny_point_transformer,
                        tiny_timm_vit, vit_config)
from ..utils import REPO_ROOT

IMAGE_METHODS = [
    'adapterx', 'adaptformer', 'convpass', 'vpt', 'lora', 'ssf', 'fact',
    'bitfit', 'partial_finetune', 'linear_probe', 'full_finetune'
]
POINT_METHODS = ['adapterx', 'dapt', 'idpt', 'vpt', 'lora']
MERGEABLE = {'lora', 'ssf', 'fact', 'bitfit', 'partial_finetune',
             'linear_probe', 'full_finetune'}
# Settings a method needs beyond its defaults.
SETTINGS = dict(partial_finetune=dict(strategy='ffn_only'))
NUM_CLASSES = 5


def timm_classifier(depth=2):
    torch.manual_seed(0)
    return in_eval_mode(tiny_timm_vit(depth=depth, num_classes=NUM_CLASSES))


def point_backbone():
    torch.manual_seed(0)
    backbone = tiny_point_transformer(num_groups=8, group_size=8)
    backbone.init_weights()
    return in_eval_mode(backbone)


def images():
    return torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(1))


def clouds():
    return torch.randn(2, 64, 3, generator=torch.Generator().manual_seed(1))


def output(model, inputs):
    # Point grouping samples its first centre at random.
    torch.manual_seed(3)
    with torch.no_grad():
        result = model(inputs)
    return result[-1] if isinstance(result, (tuple, list)) else result


def train_a_few_steps(model, inputs, steps=3):
    model.train()
    optimizer = torch.optim.SGD(
        [p for p in model.parameters() if p.requires_grad], lr=0.5)
    for _ in range(steps):
        torch.manual_seed(3)
        result = model(inputs)
        result = result[-1] if isinstance(result, (tuple, list)) else result
        loss = result.float().pow(2).mean()
        for extra in model.auxiliary_losses().values():
            loss = loss + extra
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()


def wrap(base, method):
    return adapterx.get_peft_model(
        copy.deepcopy(base), method, **SETTINGS.get(method, {}))


@pytest.mark.parametrize(
    'method,kind', [(m, 'timm') for m in IMAGE_METHODS] +
    [(m, 'point') for m in POINT_METHODS])
def test_trained_adapter_round_trips_into_a_fresh_wrap(method, kind,
                                                       tmp_path):
    base = timm_classifier() if kind == 'timm' else point_backbone()
    inputs = images() if kind == 'timm' else clouds()
    model = wrap(base, method)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    train_a_few_steps(model, inputs)
    trainable = set(model.trainable_parameter_names())
    changed = {
        key for key, value in model.state_dict().items()
        if not torch.equal(value, before[key])
    }
    # Training changed trainable tensors only (and at least one of them).
    assert changed and changed <= trainable | set(model.adapter_state_dict())
    path = tmp_path / f'{method}.safetensors'
    model.save_adapter(str(path))

    reloaded = adapterx.load_peft_model(copy.deepcopy(base), str(path))
    reloaded.eval()
    assert torch.equal(output(reloaded, inputs), output(model, inputs))
    # The file holds the trainable parameters and nothing of the frozen
    # backbone.
    saved = set(reloaded.adapter_state_dict())
    parameters = {name for name, _ in reloaded.named_parameters()}
    assert saved & parameters == trainable


@pytest.mark.parametrize('method', IMAGE_METHODS)
def test_unload_gives_back_the_model_as_it_came(method):
    base = timm_classifier()
    base.pos_embed.requires_grad_(False)
    given = copy.deepcopy(base)
    model = adapterx.get_peft_model(given, method, **SETTINGS.get(method, {}))
    train_a_few_steps(model, images())
    plain = model.unload()
    assert plain is given
    assert type(plain) is type(base)
    assert plain.state_dict().keys() == base.state_dict().keys()
    assert torch.equal(output(plain, images()), output(base, images()))
    assert [p.requires_grad for p in plain.parameters()] == [
        p.requires_grad for p in base.parameters()]
    with pytest.raises(RuntimeError, match='gave its model back'):
        model(images())


@pytest.mark.parametrize('method', IMAGE_METHODS)
def test_merge_and_unload_folds_what_folds(method):
    base = timm_classifier()
    model = wrap(base, method)
    train_a_few_steps(model, images())
    adapted = output(model, images())
    if method not in MERGEABLE:
        with pytest.raises(ValueError, match='cannot be merged'):
            model.merge_and_unload()
        return
    merged = model.merge_and_unload()
    assert type(merged) is type(base)
    assert merged.state_dict().keys() == base.state_dict().keys()
    torch.testing.assert_close(output(merged, images()), adapted,
                               atol=1e-5, rtol=1e-5)
    assert all(p.requires_grad for p in merged.parameters())


def mmpretrain_classifier():
    torch.manual_seed(0)
    return in_eval_mode(
        ImageClassifier(
            backbone=vit_config(),
            head=dict(type='VisionTransformerClsHead',
                      num_classes=NUM_CLASSES, in_channels=WIDTH)))


def test_mmpretrain_classifier_adapts_its_backbone_and_trains_its_head(
        tmp_path):
    base = mmpretrain_classifier()
    model = adapterx.get_peft_model(copy.deepcopy(base), 'lora')
    assert type(model.model) is ImageClassifier
    assert type(model.model.backbone).__name__ == 'LoRA'
    trainable = model.trainable_parameter_names()
    head = [name for name in trainable if name.startswith('model.head.')]
    assert head == ['model.head.layers.head.weight',
                    'model.head.layers.head.bias']
    assert all('.lora.' in name for name in trainable if name not in head)
    report = model.trainable_parameter_report()
    assert report.trainable_head == WIDTH * NUM_CLASSES + NUM_CLASSES
    assert report.trainable_without_head == sum(
        p.numel() for name, p in model.named_parameters()
        if '.lora.' in name)

    samples = [DataSample().set_gt_label(label) for label in (1, 3)]
    model.train()
    optimizer = torch.optim.SGD(
        [p for p in model.parameters() if p.requires_grad], lr=0.5)
    for _ in range(2):
        loss = model(images(), samples, mode='loss')['loss']
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    path = tmp_path / 'lora.safetensors'
    model.save_adapter(str(path))
    reloaded = adapterx.load_peft_model(copy.deepcopy(base), str(path))
    tensor = model(images(), mode='tensor')
    assert torch.equal(reloaded(images(), mode='tensor'), tensor)

    merged = reloaded.merge_and_unload()
    assert type(merged.backbone).__name__ == 'VisionTransformer'
    assert merged.state_dict().keys() == base.state_dict().keys()
    torch.testing.assert_close(merged(images(), mode='tensor'), tensor,
                               atol=1e-5, rtol=1e-5)


def test_train_head_false_leaves_the_head_frozen():
    model = adapterx.get_peft_model(timm_classifier(), 'lora',
                                    train_head=False)
    assert model.get_classifier() is None
    assert not any(
        name.startswith('model.module.head.')
        for name in model.trainable_parameter_names())


def test_print_trainable_parameters_counts_both_conventions(capsys):
    model = adapterx.get_peft_model(timm_classifier(), 'linear_probe')
    model.print_trainable_parameters()
    head = WIDTH * NUM_CLASSES + NUM_CLASSES
    printed = capsys.readouterr().out
    assert 'trainable without head: 0 = 0.00%' in printed
    assert f'with head: {head:,} =' in printed


def test_settings_override_the_method_defaults():
    model = adapterx.get_peft_model(timm_classifier(), 'lora', rank=2)
    # (q and v parts, rank, in) per block.
    lora_a = [p for name, p in model.named_parameters()
              if name.endswith('lora.lora_A')]
    assert [tuple(p.shape) for p in lora_a] == [(2, 2, WIDTH)] * 2
    assert model.method == dict(type='LoRA', rank=2)


@pytest.mark.parametrize(
    'saved_for,loaded_into,named', [
        (dict(method='lora'), dict(method='adapterx'), "'type': 'LoRA'"),
        (dict(method='lora'), dict(method='lora', rank=4), "'rank': 4"),
        (dict(method='lora'), dict(method='lora', depth=3), 'parameter '
         'layout'),
    ])
def test_load_adapter_refuses_another_method_or_model(saved_for,
                                                      loaded_into, named,
                                                      tmp_path):
    path = tmp_path / 'adapter.safetensors'
    adapterx.get_peft_model(timm_classifier(), saved_for['method']).save_adapter(
        str(path))
    settings = {k: v for k, v in loaded_into.items()
                if k not in ('method', 'depth')}
    target = adapterx.get_peft_model(
        timm_classifier(depth=loaded_into.get('depth', 2)),
        loaded_into['method'], **settings)
    with pytest.raises(ValueError, match='holds an adapter for') as error:
        target.load_adapter(str(path))
    assert named in str(error.value) and 'this model is' in str(error.value)


def test_load_peft_model_checks_the_model_before_changing_it(tmp_path):
    path = tmp_path / 'adapter.safetensors'
    adapterx.get_peft_model(timm_classifier(), 'adapterx').save_adapter(
        str(path))
    other = timm_classifier(depth=3)
    keys = list(other.state_dict())
    with pytest.raises(ValueError, match='parameter layout'):
        adapterx.load_peft_model(other, str(path))
    assert list(other.state_dict()) == keys


def test_a_file_without_adapter_metadata_is_refused(tmp_path):
    path = tmp_path / 'weights.safetensors'
    save_weights(str(path), timm_classifier().state_dict())
    with pytest.raises(ValueError, match='not an adapter file'):
        adapterx.load_peft_model(timm_classifier(), str(path))


def test_an_unknown_method_lists_the_names():
    with pytest.raises(ValueError, match='No PEFT method is named') as error:
        adapterx.get_peft_model(timm_classifier(), 'loraa')
    assert all(name in str(error.value) for name in METHOD_NAMES)


@pytest.mark.parametrize('method', ['adapterx', 'vpt', 'dapt'])
def test_a_model_without_vit_blocks_is_refused_naming_it(method):
    from timm.models.resnet import BasicBlock, ResNet
    resnet = ResNet(BasicBlock, [1, 1, 1, 1], num_classes=NUM_CLASSES)
    with pytest.raises(ValueError, match=r'ResNet has no .*Block') as error:
        adapterx.get_peft_model(resnet, method)
    assert 'VisionTransformer' in str(error.value)


def test_a_swin_is_refused_by_a_vit_only_method():
    from timm.models.swin_transformer import SwinTransformer
    swin = SwinTransformer(img_size=32, patch_size=4, window_size=2,
                           embed_dim=16, depths=(1, 1), num_heads=(1, 1),
                           num_classes=NUM_CLASSES)
    with pytest.raises(ValueError, match='SwinTransformer has no'):
        adapterx.get_peft_model(swin, 'adapterx')


def test_the_top_level_names_are_the_api():
    assert adapterx.PeftModel is PeftModel
    with pytest.raises(AttributeError, match='no attribute'):
        adapterx.get_peft_modle  # noqa: B018


def readme_python_api_blocks():
    readme = (REPO_ROOT / 'README.md').read_text()
    section = readme.split('## Python API (without configs)')[1].split(
        '\n## ')[0]
    return re.findall(r'```python\n(.*?)```', section, flags=re.S)


@pytest.mark.slow
def test_the_readme_examples_run(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    timm_training, timm_loading, mmpretrain_merging = (
        readme_python_api_blocks())
    namespace = {}
    exec(timm_training, namespace)
    assert 'trainable without head' in capsys.readouterr().out
    trained = namespace['model'].adapter_state_dict()
    exec(timm_loading, namespace)
    loaded = namespace['model'].adapter_state_dict()
    assert trained.keys() == loaded.keys()
    assert all(torch.equal(trained[key], loaded[key]) for key in trained)

    namespace = {}
    exec(mmpretrain_merging, namespace)
    plain = namespace['plain']
    assert type(plain) is ImageClassifier
    assert type(plain.backbone).__name__ == 'VisionTransformer'
    assert set(torch.load(tmp_path / 'vit_b16_lora_merged.pth')) == set(
        plain.state_dict())
