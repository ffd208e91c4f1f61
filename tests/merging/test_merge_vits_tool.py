"""End to end: three tiny ViTs fine-tuned from one pretrained tiny ViT on
three generated tasks, merged by tools/merge_vits.py."""
import argparse
import json
import sys

import pytest
import torch
from mmengine.config import Config

from adapterx.models.merging import group_parameters
from tests.merging.tiny import (NUM_CLASSES, TASKS, fit, shapes_data,
                                task_data, tiny_classifier,
                                write_merge_config)
from tests.utils import REPO_ROOT, load_tool, run_tool

TRAIN_PER_CLASS, TEST_PER_CLASS = 30, 15


@pytest.fixture(scope='module')
def finetuned(tmp_path_factory):
    """The pretrained backbone file and each task's runner checkpoint and
    in-process test accuracy (%)."""
    root = tmp_path_factory.mktemp('merging')
    inputs, labels = shapes_data(20)
    pretrained = fit(tiny_classifier(num_classes=10), inputs, labels,
                     epochs=3, lr=2e-3)
    backbone = {name: value.clone()
                for name, value in pretrained.backbone.state_dict().items()}
    torch.save(backbone, root / 'pretrained.pth')
    checkpoints, accuracies = [], []
    for task in TASKS:
        model = tiny_classifier(NUM_CLASSES[task])
        model.backbone.load_state_dict(backbone)
        fit(model, *task_data(task, 'train', TRAIN_PER_CLASS), epochs=4)
        inputs, labels = task_data(task, 'test', TEST_PER_CLASS)
        with torch.no_grad():
            predictions = model(inputs, mode='tensor').argmax(1)
        accuracies.append(100.0 *
                          float((predictions == labels).float().mean()))
        path = root / f'{task}.pth'
        torch.save(dict(state_dict=model.state_dict(), meta=dict()), path)
        checkpoints.append(path)
    return root, checkpoints, accuracies


def write_config(root, checkpoints):
    def data(task, split, per_class):
        return dict(type='SyntheticTaskImages', task=task, split=split,
                    num_classes=NUM_CLASSES[task], num_per_class=per_class)

    tasks = [
        dict(name=task, checkpoint=str(checkpoint),
             train_data=data(task, 'train', TRAIN_PER_CLASS),
             test_data=data(task, 'test', TEST_PER_CLASS))
        for task, checkpoint in zip(TASKS, checkpoints)
    ]
    return write_merge_config(
        root, tasks,
        "merging = dict(static=['weight_average', 'ties',",
        "                       'layer_wise_adamerging'], m=[0, 2],",
        "               routing=['sample', 'batch'],",
        "               ties=dict(density=0.2),",
        "               adamerging=dict(steps=4, batch_size=8))",
        "gate = dict(type='TaskGate', arch='tiny_cnn', width=8)",
        # TrivialAugmentWide's colour operations would hide what tells
        # these generated tasks apart (the hues task is its colours).
        'gate_training = dict(epochs=3, lr=1e-3, batch_size=32, seed=0,',
        '                     pool_cap=None, trivial_augment=False)',
        'num_workers = 1')


@pytest.mark.slow
def test_merge_vits_end_to_end(finetuned):
    root, checkpoints, accuracies = finetuned
    assert min(accuracies) >= 80, accuracies
    config = write_config(root, checkpoints)
    work_dir = root / 'report'
    output = run_tool(sys.executable, REPO_ROOT / 'tools' / 'merge_vits.py',
                      config, '--work-dir', work_dir)
    assert 'md report' in output
    # Quiet: the table, not the log (which went to the work dir).
    assert "{'" not in output and 'gate loss' not in output
    assert 'gate loss per epoch' in (work_dir / 'merge_vits.log').read_text()
    report = json.loads((work_dir / 'merge_report.json').read_text())
    rows = {(row['method'], row['m'], row['routing']): row
            for row in report['results']}
    table_row = next(line for line in output.splitlines()
                     if 'weight_average' in line)
    assert f"{rows[('weight_average', None, None)]['mean']:.2f}" in table_row
    assert set(rows) == {('individual', None, None),
                         ('weight_average', None, None),
                         ('ties', None, None),
                         ('layer_wise_adamerging', None, None),
                         ('dynamic', 0, 'sample'), ('dynamic', 0, 'batch'),
                         ('dynamic', 2, 'sample'), ('dynamic', 2, 'batch')}
    # The tool loaded the checkpoints and data the models were tested on.
    individual = rows[('individual', None, None)]
    assert [individual['accuracies'][task] for task in TASKS] == \
        pytest.approx(accuracies)
    # With every block dynamic, the merge recovers most of each task.
    dynamic = rows[('dynamic', 2, 'sample')]
    assert dynamic['mean'] >= 0.8 * individual['mean']
    assert dynamic['mean'] > rows[('weight_average', None, None)]['mean']
    assert min(dynamic['gate_accuracy'].values()) >= 80

    # Storage counted from the architecture: T models; one shared model +
    # T heads; for m=2 (everything dynamic) T models plus the gate.
    model = tiny_classifier()
    groups = group_parameters(dict(model.named_parameters()))
    sizes = dict((name, value.numel())
                 for name, value in model.named_parameters())
    shared = sum(sizes[name] for name in groups.shared)
    width = model.head.layers.head.in_features
    heads = sum((width + 1) * NUM_CLASSES[task] for task in TASKS)
    assert individual['storage'] == 3 * shared + heads
    assert rows[('ties', None, None)]['storage'] == shared + heads
    adamerging = rows[('layer_wise_adamerging', None, None)]
    assert adamerging['storage'] == shared + heads
    assert len(adamerging['entropies']) == 5
    assert set(adamerging['coefficients']) == set(TASKS)
    gate = dynamic['storage'] - individual['storage']
    assert gate > 0
    static_m0 = rows[('dynamic', 0, 'sample')]['storage'] - gate
    embeddings_norms = sum(sizes[name]
                           for name in groups.embeddings + groups.norms)
    assert static_m0 == shared + 2 * embeddings_norms + heads

    assert len(report['similarity']) == 4
    assert rows[('dynamic', 0, 'sample')]['dynamic_units'] == []
    assert rows[('dynamic', 2, 'sample')]['dynamic_units'] == list(
        groups.units)
    markdown = (work_dir / 'merge_report.md').read_text()
    assert '| dynamic m=2 (sample) |' in markdown
    png = (work_dir / 'accuracy_vs_storage.png').read_bytes()
    assert png.startswith(b'\x89PNG')


def test_merge_vits_names_a_bad_config(tmp_path):
    tool = load_tool('tools/merge_vits.py')
    config = tmp_path / 'bad.py'
    config.write_text("model = dict()\npretrained = 'x.pth'\n"
                      "tasks = [dict(name='a', checkpoint='a.pth')]\n"
                      'merging = dict()\n')
    args = argparse.Namespace(config=str(config), cfg_options=None,
                              pretrained=None, checkpoints=['a.pth', 'b.pth'],
                              m=None, static=None, work_dir=None)
    with pytest.raises(ValueError, match='2 files for 1 tasks'):
        tool.load_config(args)
    args.checkpoints = None
    with pytest.raises(KeyError, match="tasks\\[0\\] has no 'test_data'"):
        tool.load_config(args)


def test_weights_stored_in_half_precision_merge_in_the_models_dtype(
        tmp_path):
    """The demo's fractal backbone is an fp16 file: its tensors (and a
    task's, stored likewise) come back in the model's fp32, exactly the
    stored values, and a merge of them runs (mixed dtypes fail at the
    first forward)."""
    tool = load_tool('tools/merge_vits.py')
    model = tiny_classifier(NUM_CLASSES['patterns'], seed=0)
    half_backbone = {name: value.half()
                     for name, value in model.backbone.state_dict().items()}
    torch.save(half_backbone, tmp_path / 'pretrained.pth')
    task = tiny_classifier(NUM_CLASSES['patterns'], seed=1)
    half_task = {name: value.half()
                 for name, value in task.state_dict().items()}
    torch.save(dict(state_dict=half_task, meta=dict()),
               tmp_path / 'patterns.pth')
    cfg = Config.fromfile(write_merge_config(
        tmp_path, [dict(name='patterns',
                        checkpoint=str(tmp_path / 'patterns.pth'))]))

    pretrained, (finetuned, ) = tool.load_models(cfg, model, trust=False)
    for state in (pretrained, finetuned):
        assert {value.dtype for value in state.values()} == {torch.float32}
    assert torch.equal(pretrained['backbone.cls_token'],
                       half_backbone['cls_token'].float())
    assert torch.equal(finetuned['head.layers.head.weight'],
                       half_task['head.layers.head.weight'].float())
    merged = {name: (pretrained[name] + finetuned[name]) / 2
              if name in pretrained else finetuned[name]
              for name in finetuned}
    inputs, _ = task_data('patterns', 'test', 1)
    logits = torch.func.functional_call(model, merged, (inputs, ),
                                        dict(mode='tensor'))
    assert logits.shape == (len(inputs), NUM_CLASSES['patterns'])
