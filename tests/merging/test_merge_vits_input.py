"""tools/merge_vits.py refuses bad input before any work, naming the file
or key at fault and what was expected."""
import json
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from tests.merging.tiny import (NUM_CLASSES, tiny_classifier,
                                write_merge_config)
from tests.utils import load_tool

TASKS = ('patterns', 'gratings')


def synthetic(task, split, classes=None):
    return dict(type='SyntheticTaskImages', task=task, split=split,
                num_classes=classes or NUM_CLASSES[task], num_per_class=2)


def write_models(root, far=None):
    """The pretrained tiny ViT and per task a slightly changed copy with
    its own head; ``far``: that task's model comes from other weights."""
    pretrained = tiny_classifier(seed=0)
    torch.save(dict(state_dict=pretrained.state_dict(), meta=dict()),
               root / 'pretrained.pth')
    paths = {}
    for index, task in enumerate(TASKS):
        model = tiny_classifier(NUM_CLASSES[task],
                                seed=1 if task == far else 0)
        state = model.state_dict()
        if task != far:
            generator = torch.Generator().manual_seed(index)
            state = {name: value + 1e-3 * torch.randn(value.shape,
                                                      generator=generator)
                     if value.is_floating_point() else value
                     for name, value in state.items()}
        paths[task] = root / f'{task}.pth'
        torch.save(dict(state_dict=state, meta=dict()), paths[task])
    return paths


def run(root, monkeypatch, tasks, merging="dict(static=['ties'], m=[0])"):
    """main() on a config of ``tasks``; any evaluation or gate training
    fails the test (the refusal must come first)."""
    config = write_merge_config(root, tasks, f'merging = {merging}')
    tool = load_tool('tools/merge_vits.py')

    def no_work(*args, **kwargs):
        raise AssertionError('work started before the input was checked')

    monkeypatch.setattr(tool, 'accuracy', no_work)
    monkeypatch.setattr(tool, 'train_gate', no_work)
    monkeypatch.setattr(sys, 'argv', ['merge_vits.py', str(config),
                                      '--work-dir', str(root / 'out')])
    tool.main()


def tasks_of(paths, **test_data):
    return [dict(name=task, checkpoint=str(paths[task]),
                 train_data=synthetic(task, 'train'),
                 test_data=test_data.get(task, synthetic(task, 'test')))
            for task in TASKS]


def test_a_model_fine_tuned_from_other_weights(tmp_path, monkeypatch):
    paths = write_models(tmp_path, far='gratings')
    with pytest.raises(ValueError, match=r"Not fine-tuned from the "
                       rf".*\['{paths['gratings']}: \d\.\d\d'\]"):
        run(tmp_path, monkeypatch, tasks_of(paths))


def test_a_head_of_another_class_count(tmp_path, monkeypatch):
    paths = write_models(tmp_path)
    tasks = tasks_of(paths, gratings=synthetic('gratings', 'test', 7))
    with pytest.raises(ValueError, match=rf"Task gratings: the head of "
                       rf"{paths['gratings']} scores 4 classes, but its test "
                       r'data \(SyntheticTaskImages\) has 7'):
        run(tmp_path, monkeypatch, tasks)


def test_a_folder_that_is_not_an_image_folder(tmp_path, monkeypatch):
    paths = write_models(tmp_path)
    flat = tmp_path / 'flat'
    flat.mkdir()
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(flat / 'a.png')
    folder = dict(type='CustomDataset', data_root=str(flat),
                  pipeline=[dict(type='LoadImageFromFile'),
                            dict(type='PackInputs')])
    with pytest.raises(ValueError, match=rf'Task patterns: its test_data '
                       rf'\(CustomDataset at {flat}\) cannot be read.*'
                       r'<data_root>/<class name>/<image>'):
        run(tmp_path, monkeypatch, tasks_of(paths, patterns=folder))
    missing = dict(folder, data_root=str(tmp_path / 'absent'))
    with pytest.raises(ValueError, match=rf'{tmp_path / "absent"}.*No such'):
        run(tmp_path, monkeypatch, tasks_of(paths, gratings=missing))


@pytest.mark.parametrize('merging, message', [
    ("dict(static=['soup'], m=[0])", r"merging.static: unknown merges "
     r"\['soup'\]"),
    ("dict(static=['ties'], combine_with='adamerging', m=[0])",
     r"merging.combine_with: unknown merges \['adamerging'\]; known: .*"
     r"'layer_wise_adamerging'"),
    ("dict(static=['ties'], m=[3])", r'merging.m=\[3\].*2 blocks'),
    ("dict(static=['ties'], m=[0], routing=['token'])",
     r"merging.routing: unknown \['token'\]"),
    ("dict(static=['ties'], m=[0], head_mode='domain')",
     r"head_mode='domain' mixes the heads.*differ"),
])
def test_bad_merging_settings(tmp_path, monkeypatch, merging, message):
    paths = write_models(tmp_path)
    with pytest.raises(ValueError, match=message):
        run(tmp_path, monkeypatch, tasks_of(paths), merging)


def test_without_a_dynamic_merge_no_gate_is_trained(tmp_path, monkeypatch):
    """m=[]: only static merges, so no gate is trained and no merge is made
    for a dynamic one to build on (TIES, the default ``combine_with``)."""
    paths = write_models(tmp_path)
    config = write_merge_config(
        tmp_path, tasks_of(paths),
        "merging = dict(static=['weight_average'], m=[])")
    tool = load_tool('tools/merge_vits.py')

    def no_gate(*args, **kwargs):
        raise AssertionError('a gate was trained with nothing to route')

    made = []
    static = tool.ViTMerger.static

    def record_static(merger, method, **options):
        made.append(method)
        return static(merger, method, **options)

    monkeypatch.setattr(tool, 'train_gate', no_gate)
    monkeypatch.setattr(tool.ViTMerger, 'static', record_static)
    monkeypatch.setattr(sys, 'argv', ['merge_vits.py', str(config),
                                      '--work-dir', str(tmp_path / 'out')])
    tool.main()
    report = json.loads((tmp_path / 'out' / 'merge_report.json').read_text())
    assert [row['method'] for row in report['results']] == [
        'individual', 'weight_average']
    assert made == ['weight_average']
    assert report['settings']['gate_losses'] == []
