from types import SimpleNamespace

import pytest

from adapterx.engine.consistency import check_num_classes


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
