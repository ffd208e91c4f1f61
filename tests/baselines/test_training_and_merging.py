"""One short training run of each mergeable baseline on the tiny data
(the runner, in this process), then tools/deployment/merge_adapters.py
(its main(), in this process: interpreter start-ups cost half a minute
each on a busy machine; the CLI is the same code): the merged
checkpoint loads into the plain model (no PEFT method, the unmodified
backbone's keys) and gives the trained model's outputs. A token-routed
method is refused."""
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from adapterx.checkpoint import (TRAINABLE_ONLY_KEY, load_runner_checkpoint,
                                 trainable_state_dict)
from adapterx.registry import MODELS
from ..utils import (PEFT_BASES, REPO_ROOT, TINY_CONFIG, data_root_options,
                     load_tool, run_tool, tiny_config_with, train_in_process)
from .tiny_backbones import perturb

MERGE_TOOL = REPO_ROOT / 'tools' / 'deployment' / 'merge_adapters.py'


@pytest.fixture(scope='module')
def merge_tool():
    module = load_tool(MERGE_TOOL.relative_to(REPO_ROOT))

    def run(*args):
        argv = sys.argv
        sys.argv = [str(MERGE_TOOL), *map(str, args)]
        try:
            module.main()
        finally:
            sys.argv = argv

    return run


def build(config, peft_override=False):
    init_default_scope('adapterx')
    cfg = Config.fromfile(str(config))
    if peft_override:
        cfg.model.peft = None
    return MODELS.build(cfg.model).eval()


@pytest.mark.slow
@pytest.mark.parametrize('method',
                         ('bitfit', 'lora', 'ssf', 'fact_tt', 'fact_tk'))
def test_train_then_merge(method, tmp_path, tiny_image_root, merge_tool,
                          capsys):
    config = tiny_config_with(PEFT_BASES / f'{method}.py', tmp_path)
    work_dir = tmp_path / 'run'
    # The freezing hook fingerprints every frozen tensor and fails the run
    # if one changed.
    train_in_process(config, work_dir, tiny_image_root,
                     **{'train_cfg.max_epochs': 1})
    checkpoint = work_dir / 'epoch_1.pth'
    merged_file = tmp_path / 'merged.safetensors'
    merge_tool(config, checkpoint, merged_file)
    assert 'Merged' in capsys.readouterr().out

    trained = build(config)
    trained.load_state_dict(
        load_runner_checkpoint(str(checkpoint))['state_dict'])
    plain = build(config, peft_override=True)
    written = load_runner_checkpoint(str(merged_file))
    # JSON metadata, under no key that mmengine's resume would execute.
    assert written['meta']['config_file'] == str(config)
    assert written['meta']['source'] == str(checkpoint)
    merged = written['state_dict']
    assert set(merged) == set(plain.state_dict())
    plain.load_state_dict(merged, strict=True)
    images = torch.randn(3,
                         3,
                         32,
                         32,
                         generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected = trained(images, mode='tensor')
        torch.testing.assert_close(plain(images, mode='tensor'),
                                   expected,
                                   rtol=0,
                                   atol=1e-5)
    if method == 'lora':
        # The README's command: the merged file tested as a plain backbone,
        # the freezing hook of the method's config still in custom_hooks.
        output = run_tool(sys.executable, REPO_ROOT / 'tools' / 'test.py',
                          config, merged_file, '--work-dir',
                          tmp_path / 'test_merged', '--cfg-options',
                          'model.peft=None',
                          *data_root_options(tiny_image_root))
        assert 'accuracy/top1' in output


def test_token_routed_method_is_refused(tmp_path, merge_tool):
    config = (REPO_ROOT / 'configs' / 'tiny' /
              'adapterx_vit-tiny_1xb8-2e_tiny-images.py')
    checkpoint = tmp_path / 'adapterx.pth'
    torch.save({'state_dict': build(config).state_dict()}, checkpoint)
    with pytest.raises(SystemExit) as exit_info:
        merge_tool(config, checkpoint, tmp_path / 'o.safetensors')
    message = str(exit_info.value.code)
    assert str(config) in message
    assert 'AdapterX cannot be merged' in message
    assert 'token-routed' in message
    assert not (tmp_path / 'o.safetensors').exists()


def test_a_pickle_output_name_is_refused_before_any_work(tmp_path,
                                                        merge_tool):
    # The checkpoint need not exist: the name is checked first.
    out = tmp_path / 'merged.pth'
    with pytest.raises(ValueError) as error:
        merge_tool(TINY_CONFIG, tmp_path / 'absent.pth', out)
    assert str(error.value).startswith(
        f'{out}: the merged weights (OUT) are written as safetensors')
    assert not out.exists()


def test_trainable_only_checkpoint_merges_onto_the_pretrained_weights(
        tmp_path, merge_tool):
    """Strict pretrained loading accepts the wrapped backbone (only LoRA's
    injected tensors are missing from the plain file), and a trainable-only
    file is merged on top of those pretrained weights."""
    tiny = tiny_config_with(PEFT_BASES / 'lora.py', tmp_path)
    pretrained_model = build(tiny, peft_override=True)
    pretrained = tmp_path / 'pretrained.pth'
    torch.save({'state_dict': pretrained_model.state_dict()}, pretrained)
    config = tmp_path / 'lora_pretrained.py'
    config.write_text(
        f"_base_ = ['{tiny}']\n"
        "model = dict(backbone=dict(init_cfg=dict(type='Pretrained', "
        f"checkpoint='{pretrained}', prefix='backbone.')))\n")
    trained = build(config)
    trained.init_weights()
    for key, value in pretrained_model.backbone.state_dict().items():
        assert torch.equal(trained.backbone.module.state_dict()[key], value)
    perturb(trained, ('.lora.', 'head.'))
    trainable_file = tmp_path / 'trainable_epoch_10.pth'
    torch.save(
        {
            'state_dict': trainable_state_dict(trained),
            'meta': {
                TRAINABLE_ONLY_KEY: True
            }
        }, trainable_file)

    merged_file = tmp_path / 'merged.safetensors'
    merge_tool(config, trainable_file, merged_file)
    plain = build(config, peft_override=True)
    plain.load_state_dict(
        load_runner_checkpoint(str(merged_file))['state_dict'])
    images = torch.randn(3,
                         3,
                         32,
                         32,
                         generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        torch.testing.assert_close(plain(images, mode='tensor'),
                                   trained.eval()(images, mode='tensor'),
                                   rtol=0,
                                   atol=1e-5)


@pytest.mark.slow
def test_checkpoint_of_another_method_is_named(tmp_path, merge_tool):
    config = tiny_config_with(PEFT_BASES / 'lora.py', tmp_path)
    full_finetune = build(TINY_CONFIG)
    checkpoint = tmp_path / 'epoch_2.pth'
    torch.save(dict(meta=dict(epoch=2), state_dict=full_finetune.state_dict(),
                    message_hub={}), checkpoint)
    from adapterx.checkpoint.loading import CheckpointMismatchError
    with pytest.raises(CheckpointMismatchError) as error:
        merge_tool(config, checkpoint, tmp_path / 'merged.safetensors')
    message = str(error.value)
    assert message.startswith(
        f"{checkpoint} (a training run's checkpoint, 32 tensors) does not "
        'fit the PeftImageClassifier it is loaded into (36 tensors)')
    assert ('- 4 missing (in the model, not in the file): '
            'backbone.module.layers.0.attn.qkv.lora.lora_A, ') in message
    assert not (tmp_path / 'merged.safetensors').exists()
