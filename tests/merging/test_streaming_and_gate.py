"""The merge streams its data (nothing materialised), the gate's pool cap
and augmentation, and the MobileNetV2 gate's torchvision weights."""
import sys

import pytest
import torch
import torchvision
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from torch.utils.data import DataLoader, Dataset

from adapterx.datasets import SyntheticTaskImages
from adapterx.models.merging import (GatePool, PreprocessedBatches,
                                     TaskGate, capped_indices, train_gate)
from tests.merging.tiny import NUM_CLASSES, tiny_classifier
from tests.utils import REPO_ROOT, load_tool

PIPELINE = [dict(type='PackInputs')]


def load_merge_vits():
    return load_tool('tools/merge_vits.py')


def task_dataset(task, split='train', num_per_class=6):
    return SyntheticTaskImages(task=task, split=split,
                               num_classes=NUM_CLASSES[task],
                               num_per_class=num_per_class, seed=0,
                               pipeline=PIPELINE)


class CountingDataset(Dataset):
    """Counts the samples read from it."""

    def __init__(self, dataset):
        self.dataset = dataset
        self.reads = 0

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, index):
        self.reads += 1
        return self.dataset[index]


def test_capped_indices():
    drawn = capped_indices(10, 3, seed=0)
    assert len(drawn) == len(set(drawn)) == 3
    assert drawn == sorted(drawn) and set(drawn) <= set(range(10))
    assert capped_indices(10, 3, seed=0) == drawn
    assert {tuple(capped_indices(10, 3, seed)) for seed in range(5)} != {
        tuple(drawn)}
    assert capped_indices(4, None, 0) == capped_indices(4, 4, 0) == \
        capped_indices(4, 100, 0) == [0, 1, 2, 3]
    with pytest.raises(ValueError, match='at least 1, got 0'):
        capped_indices(4, 0, 0)


def test_gate_pool_caps_each_task_and_labels_it():
    datasets = [task_dataset('patterns'), task_dataset('gratings')]
    pool = GatePool(datasets, cap=5, seed=0)
    assert len(pool) == 10 and pool.num_tasks == 2
    tasks = [pool[index][1] for index in range(len(pool))]
    assert tasks == [0] * 5 + [1] * 5
    # Each item is the task dataset's image at the capped indices.
    for position, (task, index) in enumerate(
            zip([0] * 5 + [1] * 5, capped_indices(
                len(datasets[0]), 5, 0) + capped_indices(
                    len(datasets[1]), 5, 1))):
        assert torch.equal(pool[position][0], datasets[task][index]['inputs'])
    assert len(GatePool(datasets, cap=None)) == sum(map(len, datasets))
    with pytest.raises(ValueError, match=r'pools of tasks \[1\] are empty'):
        GatePool([datasets[0], []])


def test_gate_pool_reads_only_what_a_batch_needs():
    counting = CountingDataset(task_dataset('patterns', num_per_class=20))
    pool = GatePool([counting, task_dataset('hues')], cap=None)
    assert counting.reads == 0
    loader = DataLoader(pool, batch_size=4, collate_fn=GatePool.collate)
    (batch, tasks) = next(iter(loader))
    assert counting.reads == 4
    assert len(batch['inputs']) == 4 and tasks.tolist() == [0] * 4


def test_evaluation_streams_and_equals_the_in_memory_result():
    tool = load_merge_vits()
    counting = CountingDataset(task_dataset('hues', 'test', 8))
    model = tiny_classifier(NUM_CLASSES['hues']).eval()
    loader = DataLoader(counting, batch_size=8, collate_fn=pseudo_collate)
    batches = PreprocessedBatches(loader, model.data_preprocessor)
    first_inputs, first_labels = next(iter(batches))
    assert counting.reads == 8 and first_inputs.shape == (8, 3, 32, 32)

    # The former path: every sample preprocessed and held at once.
    everything = model.data_preprocessor(
        pseudo_collate([counting[index] for index in range(len(counting))]),
        False)
    labels = torch.cat([sample.gt_label
                        for sample in everything['data_samples']])
    with torch.no_grad():
        expected = 100.0 * float(
            (model(everything['inputs'], mode='tensor').argmax(1) == labels
             ).float().mean())
    streamed = tool.accuracy(
        batches, lambda inputs: model(inputs, mode='tensor'))
    assert streamed == pytest.approx(expected)
    assert len(batches) == 5


def tool_cfg(num_per_class=6):
    return Config(dict(
        pipeline=PIPELINE, batch_size=4, num_workers=0,
        tasks=[dict(name=task,
                    train_data=dict(type='SyntheticTaskImages', task=task,
                                    split='train',
                                    num_classes=NUM_CLASSES[task],
                                    num_per_class=num_per_class),
                    test_data=dict(type='SyntheticTaskImages', task=task,
                                   split='test',
                                   num_classes=NUM_CLASSES[task],
                                   num_per_class=num_per_class))
               for task in ('patterns', 'gratings')]))


def images_of(batches):
    return torch.cat([inputs for inputs, _ in batches])


def test_augmentation_only_in_gate_training():
    from adapterx.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    tool = load_merge_vits()
    cfg = tool_cfg()
    model = tiny_classifier().eval()
    pools = [tool.build_dataset(cfg, task, 'train_data')
             for task in cfg.tasks]
    plain = images_of(tool.gate_batches(cfg, model, pools, pool_cap=3,
                                        trivial_augment=False, batch_size=4))
    assert len(plain) == 6
    torch.manual_seed(0)
    augmented = images_of(tool.gate_batches(
        cfg, model, pools, pool_cap=3, trivial_augment=True, batch_size=4))
    assert augmented.shape == plain.shape
    assert not torch.equal(augmented, plain)
    # The test sets are the datasets' own images, unaugmented, every one.
    for task in cfg.tasks:
        torch.manual_seed(0)
        test = images_of(tool.evaluation_batches(
            cfg, model, tool.build_dataset(cfg, task, 'test_data')))
        dataset = task_dataset(task['name'], 'test')
        assert len(test) == len(dataset)
        reference = model.data_preprocessor(
            pseudo_collate([dataset[index]
                            for index in range(len(dataset))]),
            False)['inputs']
        assert torch.equal(test, reference)


def test_gate_learns_from_streamed_batches():
    torch.manual_seed(0)
    pool = GatePool([task_dataset('patterns', num_per_class=10),
                     task_dataset('gratings', num_per_class=10)], cap=None)
    model = tiny_classifier()
    loader = DataLoader(pool, batch_size=8, shuffle=True,
                        collate_fn=GatePool.collate,
                        generator=torch.Generator().manual_seed(0))
    batches = PreprocessedBatches(loader, model.data_preprocessor)
    gate = TaskGate(num_tasks=2, width=4)
    losses = train_gate(gate, batches, epochs=6, lr=1e-2)
    assert len(losses) == 6 and losses[-1] < losses[0]
    pairs = list(batches)
    inputs = torch.cat([images for images, _ in pairs])
    tasks = torch.cat([task for _, task in pairs])
    assert (gate.probabilities(inputs).argmax(1) == tasks).float().mean() \
        >= 0.9
    with pytest.raises(ValueError, match=r'Task indices \[0, 2\]'):
        train_gate(TaskGate(num_tasks=2, width=4),
                   [(inputs[:2], torch.tensor([0, 2]))], epochs=1)


def test_mobilenet_v2_gate_loads_torchvision_weights(tmp_path):
    torch.manual_seed(0)
    source = torchvision.models.mobilenet_v2(width_mult=0.25)
    path = tmp_path / 'mobilenet_v2.pth'
    torch.save(source.state_dict(), path)
    gate = TaskGate(num_tasks=3, arch='mobilenet_v2', width_mult=0.25,
                    pretrained=str(path))
    loaded = gate.net.state_dict()
    for name, value in source.state_dict().items():
        if not name.startswith('classifier.'):
            assert torch.equal(loaded[name], value), name
    assert gate.net.classifier[1].out_features == 3
    assert gate(torch.randn(2, 3, 32, 32)).shape == (2, 3)
    # A random initialisation differs from the file.
    fresh = TaskGate(num_tasks=3, arch='mobilenet_v2', width_mult=0.25)
    assert not torch.equal(fresh.net.features[0][0].weight,
                           source.features[0][0].weight)


@pytest.mark.parametrize('make, reason', [
    (lambda: torchvision.models.resnet18().state_dict(), 'keys missing'),
    (lambda: torchvision.models.mobilenet_v2(width_mult=0.5).state_dict(),
     'shapes differ'),
])
def test_a_gate_file_of_another_architecture_is_refused(tmp_path, make,
                                                        reason):
    path = tmp_path / 'other.pth'
    torch.save(make(), path)
    with pytest.raises(ValueError, match=f'{path}.*MobileNetV2.*'
                       f'width_mult=0.25.*{reason}'):
        TaskGate(num_tasks=3, arch='mobilenet_v2', width_mult=0.25,
                 pretrained=str(path))
    with pytest.raises(ValueError, match='tiny_cnn gate has no pretrained'):
        TaskGate(num_tasks=3, pretrained=str(path))


def test_the_tool_refuses_a_wrong_gate_file_before_any_work(tmp_path,
                                                            monkeypatch):
    path = tmp_path / 'resnet.pth'
    torch.save(torchvision.models.resnet18().state_dict(), path)
    config = tmp_path / 'merge.py'
    # Neither the pretrained file nor the checkpoints exist: the gate is
    # checked first.
    config.write_text('\n'.join([
        f"_base_ = ['{REPO_ROOT}/configs/_base_/models/vit_tiny_test.py']",
        f"pretrained = '{tmp_path / 'absent.pth'}'",
        "tasks = [dict(name=name, checkpoint=name + '.pth',",
        "              train_data=dict(), test_data=dict())",
        "         for name in ('a', 'b')]",
        "merging = dict(static=['ties'], m=[0])",
        f"gate = dict(type='TaskGate', arch='mobilenet_v2', "
        f"width_mult=1.0, pretrained='{path}')",
    ]) + '\n')
    monkeypatch.setattr(sys, 'argv', ['merge_vits.py', str(config),
                                      '--work-dir', str(tmp_path / 'out')])
    with pytest.raises(ValueError, match=f'{path} is not a torchvision '
                       'MobileNetV2'):
        load_merge_vits().main()
