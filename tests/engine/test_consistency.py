from types import SimpleNamespace

import pytest
from mmengine.config import Config

from adapterx.engine.consistency import (check_num_classes,
                                         check_num_classes_in_config)
from ..utils import CONFIGS


def model(head_classes, preprocessor_classes=None):
    return SimpleNamespace(
        head=SimpleNamespace(num_classes=head_classes),
        data_preprocessor=SimpleNamespace(num_classes=preprocessor_classes))


def vtab_dtd():
    return SimpleNamespace(metainfo={'classes': [str(i) for i in range(47)]},
                           task='dtd')


def test_matching_counts_pass():
    check_num_classes(model(47, 47), vtab_dtd(), 'training')


def test_mismatch_names_task_counts_and_keys():
    with pytest.raises(ValueError) as error:
        check_num_classes(model(100, 100), vtab_dtd(), 'test')
    message = str(error.value)
    assert "task 'dtd'" in message and 'has 47 classes' in message
    assert 'model.head.num_classes=100' in message
    assert 'data_preprocessor.num_classes=100' in message


def test_datasets_without_class_names_are_not_checked():
    check_num_classes(model(5), SimpleNamespace(metainfo={}), 'training')


# Before any data is read: the config's loaders name the datasets.


def protocol_config(path, **options):
    cfg = Config.fromfile(str(CONFIGS / path))
    cfg.merge_from_dict(options)
    return cfg


@pytest.mark.parametrize('path, options, expected, wrong', [
    # A task switched without its class counts (VTAB-1k dtd has 47).
    ('adapterx_vitb_vtab.py',
     {f'{split}_dataloader.dataset.task': 'dtd'
      for split in ('train', 'val', 'test')}, 47,
     ['model.head.num_classes=100', 'data_preprocessor.num_classes=100']),
    # A class count other than the protocol's (ModelNet40 has 40).
    ('_base_/protocols/point-mae_1xb32-300e_modelnet40.py',
     {'model.head.num_classes': 15}, 40, ['model.head.num_classes=15']),
    ('_base_/protocols/vit-b16_8xb8-100e_fgvc.py',
     {'model.head.num_classes': 100}, 200, ['model.head.num_classes=100']),
])
def test_config_counts_other_than_the_datasets_are_refused(
        path, options, expected, wrong):
    with pytest.raises(ValueError) as error:
        check_num_classes_in_config(protocol_config(path, **options))
    message = str(error.value)
    assert f'has {expected} classes' in message
    assert all(setting in message for setting in wrong)
    assert f'Set them to {expected}' in message


def test_a_task_switched_with_its_counts_passes():
    check_num_classes_in_config(protocol_config(
        'adapterx_vitb_vtab.py', **{
            'train_dataloader.dataset.task': 'dtd',
            'val_dataloader.dataset.task': 'dtd',
            'test_dataloader.dataset.task': 'dtd',
            'model.head.num_classes': 47,
            'data_preprocessor.num_classes': 47,
        }))


def proxy_task_options(head_classes):
    """VTAB-1k's config on a benchmark in its layout with its own task
    table (the offline proxy's), task ``proxy_digits`` of 10 classes."""
    options = {'model.head.num_classes': head_classes,
               'data_preprocessor.num_classes': head_classes}
    for split in ('train', 'val', 'test'):
        options[f'{split}_dataloader.dataset.task'] = 'proxy_digits'
        options[f'{split}_dataloader.dataset.tasks'] = dict(
            proxy_digits=('natural', 10))
    return options


def test_a_task_table_of_the_config_gives_the_class_count():
    check_num_classes_in_config(
        protocol_config('adapterx_vitb_vtab.py', **proxy_task_options(10)))
    with pytest.raises(ValueError, match='has 10 classes'):
        check_num_classes_in_config(protocol_config(
            'adapterx_vitb_vtab.py', **proxy_task_options(100)))
