"""The angle tool, training the selection it emits, and a greedy soup of
that run's checkpoints, as a user runs them on the tiny data."""
import contextlib
import io
import json
import runpy
import sys
from unittest import mock

import pytest
import torch
from mmengine.config import Config

from adapterx.checkpoint import load_runner_checkpoint
from ..utils import REPO_ROOT, data_root_options, run_tool, train
from ..fixtures import tiny_mmpretrain_vit

pytestmark = pytest.mark.slow  # every test here starts training

TINY_PARTIAL = REPO_ROOT / 'configs' / 'tiny' / \
    'partial-ft_vit-tiny_1xb8-2e_tiny-images.py'
# The reference run moves these units most: the largest angle of each group.
MOVED = {'layers.0.attn.': 1.0, 'layers.1.ffn.': 1.0,
         'layers.1.attn.': 0.01, 'layers.0.ffn.': 0.01}
LARGEST = ['backbone.layers.0.attention', 'backbone.layers.1.ffn']
SELECTED_PREFIXES = ('backbone.layers.0.ln1.', 'backbone.layers.0.attn.',
                     'backbone.layers.1.ln2.', 'backbone.layers.1.ffn.')


def run_in_process(script, *args):
    """Run a light tool as ``python script args`` would, in this process
    (saving the seconds a new interpreter spends importing the stack);
    returns what it printed."""
    output = io.StringIO()
    with mock.patch.object(sys, 'argv', [str(script), *map(str, args)]), \
            contextlib.redirect_stdout(output):
        runpy.run_path(str(script), run_name='__main__')
    return output.getvalue()


def pretrained_options(path):
    return ['model.backbone.init_cfg.type=Pretrained',
            f'model.backbone.init_cfg.checkpoint={path}']


@pytest.fixture(scope='module')
def selection_run(tmp_path_factory, tiny_image_root):
    """Angles between a pretrained tiny ViT and a 'fine-tuned' copy, the
    config that trains the largest-angle unit of each group, and its run."""
    root = tmp_path_factory.mktemp('partial_ft')
    torch.manual_seed(123)
    pretrained = tiny_mmpretrain_vit().state_dict()
    torch.save(pretrained, root / 'pretrained.pth')
    finetuned = {}
    for name, value in pretrained.items():
        scale = next((scale for prefix, scale in MOVED.items()
                      if name.startswith(prefix)), 0)
        finetuned[f'backbone.{name}'] = value + scale * value.abs().mean() * \
            torch.randn_like(value)
    torch.save(dict(state_dict=finetuned, meta={}), root / 'reference.pth')

    angle_log = run_in_process(
        REPO_ROOT / 'tools' / 'analysis_tools' / 'finetuned_angle.py',
        root / 'pretrained.pth', root / 'reference.pth', '--k', 1, '--plot',
        root / 'angles.png', '--emit-config', root / 'selection.py',
        '--base-config', TINY_PARTIAL)
    work_dir = root / 'work'
    train_log = train(root / 'selection.py', work_dir,
                      *pretrained_options(root / 'pretrained.pth'),
                      data_root=tiny_image_root)
    return dict(root=root, angle_log=angle_log, train_log=train_log,
                work_dir=work_dir, pretrained=pretrained)


def test_angle_tool_prints_ranks_plots_and_emits_the_selection(
        selection_run):
    root, log = selection_run['root'], selection_run['angle_log']
    rows = [line.split() for line in log.splitlines()
            if line.strip().startswith(('1 ', '2 '))]
    assert [(row[0], row[1], row[3:]) for row in rows] == [
        ('1', 'backbone.layers.0.attention', ['*']),
        ('2', 'backbone.layers.1.attention', []),
        ('1', 'backbone.layers.1.ffn', ['*']),
        ('2', 'backbone.layers.0.ffn', []),
    ]
    assert (root / 'angles.png').read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    emitted = Config.fromfile(str(root / 'selection.py'))
    assert emitted.model.peft == dict(type='PartialFineTune', units=LARGEST)
    assert emitted.custom_hooks == [
        dict(type='ParameterFreezeHook'),
        dict(type='TrainableCheckpointHook', interval=10),
    ]
    assert emitted.model.backbone.arch.embed_dims == 32


def test_the_emitted_config_trains_exactly_the_selected_units(
        selection_run):
    work_dir, pretrained = selection_run['work_dir'], \
        selection_run['pretrained']
    assert 'Verified: none of the' in selection_run['train_log']
    final = load_runner_checkpoint(str(work_dir / 'epoch_2.pth'))['state_dict']
    selected = {f'backbone.{name}' for name in pretrained
                if f'backbone.{name}'.startswith(SELECTED_PREFIXES)}
    report = json.loads((work_dir / 'trainable_parameters.json').read_text())
    assert report['trainable_without_head'] == sum(
        final[name].numel() for name in selected)
    for name, value in pretrained.items():
        changed = not torch.equal(final[f'backbone.{name}'], value)
        assert changed == (f'backbone.{name}' in selected), name


def test_greedy_soup_of_the_run_never_ends_below_its_best_ingredient(
        selection_run, tiny_image_root):
    root, work_dir = selection_run['root'], selection_run['work_dir']
    ingredients = [work_dir / 'epoch_1.pth', work_dir / 'epoch_2.pth',
                   work_dir / 'trainable_epoch_2.safetensors']
    out = root / 'soup.safetensors'
    log = run_tool(
        sys.executable, REPO_ROOT / 'tools' / 'model_soups.py',
        root / 'selection.py', *ingredients, '--out', out, '--split', 'test',
        '--work-dir', root / 'soup_work', '--cfg-options',
        *data_root_options(tiny_image_root),
        *pretrained_options(root / 'pretrained.pth'))
    soup = load_runner_checkpoint(str(out))
    summary = soup['meta']['adapterx_soup']
    assert summary['score'] >= max(summary['scores'].values())
    assert f"soup accuracy/top1 on test: {summary['score']:.4f}" in log
    # The console: one progress bar over the 3 + 2 scorings, no INFO log.
    assert 'greedy soup, scoring on test' in log and '5/5' in log
    assert ' - mmengine - INFO - ' not in log

    # The soup is the mean of the chosen checkpoints, the trainable-only one
    # completed with the pretrained backbone.
    epoch_2 = load_runner_checkpoint(str(ingredients[1]))['state_dict']
    completed = {
        str(ingredients[0]):
        load_runner_checkpoint(str(ingredients[0]))['state_dict'],
        str(ingredients[1]): epoch_2,
        str(ingredients[2]): dict(
            {f'backbone.{name}': value
             for name, value in selection_run['pretrained'].items()},
            **load_runner_checkpoint(str(ingredients[2]))['state_dict']),
    }
    # A partial run's trainable-only file is its full checkpoint.
    for name, value in completed[str(ingredients[2])].items():
        assert torch.equal(value, epoch_2[name]), name
    chosen = [completed[path] for path in summary['chosen']]
    for name, value in soup['state_dict'].items():
        expected = torch.stack([state[name].double() for state in chosen
                                ]).mean(0).float()
        assert torch.equal(value, expected), name


@pytest.mark.parametrize('options, message', [
    # Scored on the run's own training list.
    (['test_dataloader.dataset.ann_file=train.txt'],
     r"--split test scores on CustomDataset\(ann_file='train\.txt', "
     r"data_root=.*inside the training data of .*"
     r"trainable_epoch_2\.safetensors \(CustomDataset\(ann_file="
     r"'train\.txt'"),
    (['test_dataloader.dataset.classes=[cat,dog,fox,owl]'],
     r"trainable_epoch_2\.safetensors and the soup config's data have "
     r"different classes \(4 vs 4; the first difference is class 0: "
     r"'class_0' vs 'cat'\)"),
    (pretrained_options('OTHER'),
     r'trainable_epoch_2\.safetensors was fine-tuned from .*pretrained\.pth, '
     r"not from the soup config's pretrained weights .*other\.pth"),
])
def test_soup_tool_refuses_a_trainable_only_file_that_does_not_belong(
        selection_run, tiny_image_root, options, message):
    """A trainable-only file records its config, classes and training
    data, as a runner checkpoint does, so these are checked for it too."""
    root = selection_run['root']
    other = root / 'other.pth'
    torch.save({name: value + 1 for name, value in
                selection_run['pretrained'].items()}, other)
    options = [option.replace('OTHER', str(other)) for option in options]
    with pytest.raises(ValueError, match=message):
        run_in_process(
            REPO_ROOT / 'tools' / 'model_soups.py', root / 'selection.py',
            selection_run['work_dir'] / 'trainable_epoch_2.safetensors',
            '--out', root / 'refused.safetensors', '--split', 'test', '--work-dir',
            root / 'refused_work', '--cfg-options',
            *data_root_options(tiny_image_root),
            *pretrained_options(root / 'pretrained.pth'), *options)
    assert not (root / 'refused.safetensors').exists()


@pytest.fixture(scope='module')
def disjoint_runs(selection_run, tiny_image_root):
    """An attention-only and an FFN-only run from the same pretrained
    weights."""
    root = selection_run['root']
    runs = {}
    for strategy in ('attention_only', 'ffn_only'):
        work_dir = root / strategy
        train(TINY_PARTIAL, work_dir, f'model.peft.strategy={strategy}',
              *pretrained_options(root / 'pretrained.pth'),
              data_root=tiny_image_root)
        runs[strategy] = work_dir / 'epoch_2.pth'
    return runs


def test_unit_mean_soup_keeps_each_partial_runs_units(
        selection_run, disjoint_runs, tiny_image_root):
    """The per-unit mean of an attention-only and an FFN-only run, made as
    a user makes it: each block's attention unit is the attention run's,
    its FFN unit the FFN run's, the head their mean, the rest pretrained."""
    root = selection_run['root']
    out = root / 'unit_mean.safetensors'
    log = run_tool(
        sys.executable, REPO_ROOT / 'tools' / 'model_soups.py', TINY_PARTIAL,
        disjoint_runs['attention_only'], disjoint_runs['ffn_only'], '--mode',
        'unit_mean', '--split', 'test', '--out', out, '--work-dir',
        root / 'unit_mean_work', '--cfg-options',
        *data_root_options(tiny_image_root),
        *pretrained_options(root / 'pretrained.pth'))
    soup = load_runner_checkpoint(str(out))
    assert soup['meta']['adapterx_soup']['mode'] == 'unit_mean'
    assert 'unit_mean soup of 2' in log
    attention, ffn = (load_runner_checkpoint(str(path))['state_dict']
                      for path in disjoint_runs.values())
    pretrained = {f'backbone.{name}': value
                  for name, value in selection_run['pretrained'].items()}
    for name, value in soup['state_dict'].items():
        if name.startswith('head.'):
            expected = ((attention[name].double() + ffn[name].double()) /
                        2).float()
        elif name.startswith('backbone.layers.') and (
                '.ln1.' in name or '.attn.' in name):
            expected = attention[name]
        elif name.startswith('backbone.layers.') and (
                '.ln2.' in name or '.ffn.' in name):
            expected = ffn[name]
        else:
            expected = pretrained[name]
        assert torch.equal(value, expected), name
    # Each run changed its own units only, so the soup holds both deltas.
    assert not torch.equal(attention['backbone.layers.0.attn.qkv.weight'],
                           pretrained['backbone.layers.0.attn.qkv.weight'])
    assert not torch.equal(ffn['backbone.layers.0.ffn.layers.1.weight'],
                           pretrained['backbone.layers.0.ffn.layers.1.weight'])
