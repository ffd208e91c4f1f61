"""The CLIP ViT-B/32 eight-task configs run end to end through
tools/merge_vits.py on a tiny CLIP with random weights (the widths, the
image size and the class counts set small, everything else as the configs
have it): converted towers in, per-task accuracy and storage out; a
checkpoint holding another task's head is refused before any evaluation."""
import json
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config
from PIL import Image

from adapterx.checkpoint.io import load_safetensors, save_weights
from adapterx.datasets import EIGHT_TASKS
from tests.models.clip_reference import (EMBED_DIMS, VISION,
                                         random_clip_state)
from tests.utils import REPO_ROOT, load_tool

CONFIGS = REPO_ROOT / 'configs' / 'merging' / 'clip'
SIZE = VISION['image_size']
NAMES = [task.name for task in EIGHT_TASKS]
# A different small class count per task, so that heads of two tasks
# differ.
NUM_CLASSES = {name: 2 + index for index, name in enumerate(NAMES)}


def test_the_configs_tasks_are_the_eight():
    cfg = Config.fromfile(
        str(CONFIGS / 'task-arithmetic_clip-vit-b32_8tasks.py'))
    assert [(task.name, task.test_data.num_classes, task.train_data.task)
            for task in cfg.tasks] == [
                (task.name, task.num_classes, task.name)
                for task in EIGHT_TASKS]


def write_data(root):
    """The eight task folders, a few classes each, two train and one test
    image a class (16x16, grey for MNIST)."""
    rng = np.random.default_rng(0)
    for name, num_classes in NUM_CLASSES.items():
        folder = root / name
        folder.mkdir(parents=True)
        (folder / 'classnames.txt').write_text(''.join(
            f'c{index}\tclass {index}\n' for index in range(num_classes)))
        shape = (SIZE, SIZE) if name == 'MNIST' else (SIZE, SIZE, 3)
        for split, count in (('train', 2), ('test', 1)):
            for index in range(num_classes):
                (folder / split / f'c{index}').mkdir(parents=True)
                for image in range(count):
                    Image.fromarray(
                        rng.integers(0, 256, shape, np.uint8)).save(
                            folder / split / f'c{index}' / f'{image}.png')


@pytest.fixture(scope='module')
def benchmark(tmp_path_factory):
    """The data root, the converted zero-shot tower and each task's
    converted checkpoint (the tower plus noise, with a random head of the
    task's classes)."""
    root = tmp_path_factory.mktemp('clip_merge')
    write_data(root / 'data')
    convert = load_tool('tools/model_converters/clip_to_mmpretrain.py').main
    state = random_clip_state()
    save_weights(root / 'openai.safetensors', state)
    convert([str(root / 'openai.safetensors'),
             str(root / 'zeroshot.safetensors')])
    generator = torch.Generator().manual_seed(0)
    checkpoints = {}
    for name, num_classes in NUM_CLASSES.items():
        finetuned = {
            key: value + 0.02 * torch.randn(value.shape, generator=generator)
            if key.startswith('visual.') else value
            for key, value in state.items()}
        save_weights(root / 'finetuned.safetensors', finetuned)
        save_weights(root / 'head.safetensors', {
            'head.fc.weight': torch.randn(num_classes, EMBED_DIMS,
                                          generator=generator)})
        checkpoints[name] = root / f'{name}.safetensors'
        convert([str(root / 'finetuned.safetensors'),
                 str(checkpoints[name]), '--head',
                 str(root / 'head.safetensors')])
    return root, checkpoints


def tiny_config(config_name, root, checkpoints, **merging):
    """The config with the tiny CLIP's sizes, the test's files and a short
    gate training, written next to the data."""
    cfg = Config.fromfile(str(CONFIGS / config_name))
    cfg.model.backbone.update(
        arch=dict(embed_dims=VISION['width'], num_layers=VISION['layers'],
                  num_heads=VISION['heads'],
                  feedforward_channels=4 * VISION['width']),
        img_size=SIZE, patch_size=VISION['patch'], output_dims=EMBED_DIMS)
    cfg.model.head.in_channels = EMBED_DIMS
    for transform in cfg.pipeline:
        if transform.type == 'ResizeEdge':
            transform.scale = SIZE
        if transform.type == 'CenterCrop':
            transform.crop_size = SIZE
    cfg.pretrained = str(root / 'zeroshot.safetensors')
    for task in cfg.tasks:
        task.checkpoint = str(checkpoints[task.name])
        for split in ('train_data', 'test_data'):
            # Unserialised: serialising runs gc.collect, ~0.5 s a dataset.
            task[split].update(data_root=str(root / 'data'),
                               num_classes=NUM_CLASSES[task.name],
                               serialize_data=False)
    cfg.merging.update(merging)
    cfg.gate_training.update(epochs=1, pool_cap=8)
    cfg.num_workers = 0
    # JSON: dumping Python formats it with yapf, seconds a config.
    path = root / config_name.replace('.py', '.json')
    cfg.dump(str(path))
    return path


def run_merge(monkeypatch, config, work_dir, *options):
    monkeypatch.setattr(sys, 'argv', ['merge_vits.py', str(config),
                                      '--work-dir', str(work_dir),
                                      *options])
    load_tool('tools/merge_vits.py').main()
    return json.loads((work_dir / 'merge_report.json').read_text())


def test_the_static_merges_report_every_task(benchmark, monkeypatch):
    root, checkpoints = benchmark
    config = tiny_config('task-arithmetic_clip-vit-b32_8tasks.py', root,
                         checkpoints)
    report = run_merge(monkeypatch, config, root / 'static')
    methods = [result['method'] for result in report['results']]
    assert methods == ['individual', 'weight_average', 'task_arithmetic',
                       'ties']
    for result in report['results']:
        assert list(result['accuracies']) == NAMES
        assert all(0 <= value <= 100
                   for value in result['accuracies'].values())
    tower = sum(value.numel() for key, value in random_clip_state().items()
                if key.startswith('visual.'))
    heads = sum(NUM_CLASSES.values()) * EMBED_DIMS
    storage = {result['method']: result['storage']
               for result in report['results']}
    assert storage['individual'] == 8 * tower + heads
    assert storage['ties'] == tower + heads
    assert report['settings']['task_arithmetic'] == dict(scaling=0.3)
    assert 'Cars' in (root / 'static' / 'merge_report.md').read_text()
    # The merged models out: task arithmetic's is the zero-shot tower plus
    # 0.3 times the sum of the task vectors.
    merged = load_safetensors(root / 'static' /
                              'task_arithmetic.safetensors')['state_dict']
    pretrained = load_safetensors(root /
                                  'zeroshot.safetensors')['state_dict']
    assert set(merged) == set(pretrained)
    finetuned = [load_safetensors(checkpoints[name])['state_dict']
                 for name in NAMES]
    for key in ('backbone.proj', 'backbone.layers.1.attn.qkv.weight'):
        torch.testing.assert_close(merged[key], pretrained[key] + 0.3 * sum(
            state[key] - pretrained[key] for state in finetuned))


def test_the_dynamic_merge_runs_on_the_eight_tasks(benchmark, monkeypatch):
    root, checkpoints = benchmark
    config = tiny_config('dynamic-merge_clip-vit-b32_8tasks.py', root,
                         checkpoints, m=[0, 1], routing=['batch'],
                         static=['ties'])
    report = run_merge(monkeypatch, config, root / 'dynamic')
    dynamic = [result for result in report['results']
               if result['method'] == 'dynamic']
    assert [result['m'] for result in dynamic] == [0, 1]
    assert all(len(result['gate_accuracy']) == 8 for result in dynamic)


def test_a_checkpoint_with_another_tasks_head_is_refused(benchmark,
                                                         monkeypatch):
    root, checkpoints = benchmark
    config = tiny_config('task-arithmetic_clip-vit-b32_8tasks.py', root,
                         checkpoints, static=[])
    # SUN397's checkpoint given Cars' (3 classes, not 2) and the reverse.
    swapped = [checkpoints[name] for name in ['Cars', 'SUN397'] + NAMES[2:]]
    with pytest.raises(ValueError, match=f"Task SUN397: the head of "
                       f"{checkpoints['Cars']} scores 3 classes, but its "
                       r"test data \(ImageFolderTask\) has 2"):
        run_merge(monkeypatch, config, root / 'refused', '--checkpoints',
                  *map(str, swapped))
    assert not (root / 'refused' / 'merge_report.json').exists()
