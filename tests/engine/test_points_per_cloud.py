"""Clouds with fewer points than the model groups fail when the loops are
built, naming the file and key (or setting) and the model's settings,
instead of "cannot sample 32 of 10 points" at the first forward."""
import numpy as np
import pytest
from mmcv.transforms import TestTimeAug
from mmengine import DefaultScope

from adapterx.datasets import ScanObjectNN, SyntheticPointClouds
from adapterx.engine.consistency import check_points_per_cloud

from ..datasets.point_cloud_writers import random_clouds, write_h5
from ..fixtures import tiny_point_transformer
from ..utils import REPO_ROOT, train_in_process


def write_scanobjectnn(root, points_per_cloud):
    """PB_T50_RS's training and test files, 4 clouds each."""
    rng = np.random.default_rng(0)
    for split in ('training', 'test'):
        write_h5(root / 'main_split' /
                 f'{split}_objectdataset_augmentedrot_scale75.h5',
                 data=random_clouds(rng, 4, points_per_cloud),
                 label=np.arange(4))
    return root / 'main_split' / \
        'training_objectdataset_augmentedrot_scale75.h5'


def too_few_points_message(dataset, points, source, groups, group_size):
    return (
        f'The training dataset ({dataset}) gives the model clouds of '
        f'{points} points ({source}), but the model chooses num_groups='
        f'{groups} centres by furthest point sampling and group_size='
        f'{group_size} neighbours of each (model.backbone.num_groups and '
        f'group_size): every cloud needs {max(groups, group_size)} points '
        'or more. Lower those settings, use clouds of more points, or add '
        'ResamplePoints(num_points=...) to the pipeline, which fills small '
        'clouds up by repeating points.')


@pytest.mark.slow
def test_scanobjectnn_run_with_10_points_fails_before_training(tmp_path):
    h5_file = write_scanobjectnn(tmp_path / 'h5_files', 10)
    config = (REPO_ROOT / 'configs' / 'full_finetune' /
              'full-finetune_point-mae_8xb4-300e_scanobjectnn-pb-t50-rs.py')
    loaders = {
        f'{split}_dataloader.{key}': value
        for split in ('train', 'val', 'test')
        for key, value in (('num_workers', 0), ('persistent_workers', False))
    }
    with pytest.raises(ValueError) as error:
        train_in_process(config, tmp_path / 'work', tmp_path / 'h5_files',
                         **{'model.backbone.init_cfg': None}, **loaders)
    assert str(error.value) == too_few_points_message(
        'ScanObjectNN', 10, f"{h5_file}, key 'data'", 128, 32)
    assert not list((tmp_path / 'work').glob('*.pth'))


def point_transformer(num_groups, group_size):
    with DefaultScope.overwrite_default_scope('adapterx'):
        return tiny_point_transformer(depth=1, group_embed_dims=16,
                                      embed_dims=16, num_groups=num_groups,
                                      group_size=group_size)


def synthetic(pipeline=(), num_points=16):
    with DefaultScope.overwrite_default_scope('adapterx'):
        return SyntheticPointClouds(num_samples=4, num_points=num_points,
                                    num_classes=2, pipeline=list(pipeline),
                                    serialize_data=False)


def test_the_larger_of_groups_and_group_size_counts():
    check_points_per_cloud(point_transformer(16, 8), synthetic(), 'training')
    check_points_per_cloud(point_transformer(8, 16), synthetic(), 'training')
    with pytest.raises(ValueError) as error:
        check_points_per_cloud(point_transformer(8, 17), synthetic(),
                               'training')
    assert str(error.value) == too_few_points_message(
        'SyntheticPointClouds', 16, "the dataset's num_points=16", 8, 17)


def test_resampling_in_the_pipeline_sets_the_count():
    fill_up = [dict(type='ResamplePoints', num_points=64)]
    check_points_per_cloud(point_transformer(32, 32), synthetic(fill_up),
                           'training')
    cut = [dict(type='ResamplePoints', num_points=64),
           dict(type='ResamplePoints', num_points=8, method='first')]
    with pytest.raises(ValueError) as error:
        check_points_per_cloud(point_transformer(16, 8),
                               synthetic(cut, num_points=512), 'training')
    assert str(error.value) == too_few_points_message(
        'SyntheticPointClouds', 8,
        'ResamplePoints(num_points=8) in the pipeline', 16, 8)


def test_the_smallest_test_time_branch_counts():
    voting = [dict(type='TestTimeAug', transforms=[[
        dict(type='ResamplePoints', num_points=64),
        dict(type='ResamplePoints', num_points=12, method='first'),
    ]])]
    dataset = synthetic(voting, num_points=512)
    assert isinstance(dataset.pipeline.transforms[0], TestTimeAug)
    with pytest.raises(ValueError, match=r'clouds of 12 points '
                       r'\(ResamplePoints\(num_points=12\) in the pipeline'):
        check_points_per_cloud(point_transformer(16, 8), dataset, 'training')


def test_a_file_with_enough_points_passes(tmp_path):
    write_scanobjectnn(tmp_path, 32)
    with DefaultScope.overwrite_default_scope('adapterx'):
        dataset = ScanObjectNN(str(tmp_path), serialize_data=False)
    check_points_per_cloud(point_transformer(32, 32), dataset, 'training')
    with pytest.raises(ValueError, match=r"key 'data'\), but"):
        check_points_per_cloud(point_transformer(33, 32), dataset,
                               'training')


def test_datasets_inside_wrappers_are_checked():
    from mmengine.dataset import ConcatDataset, RepeatDataset
    for wrapped in (ConcatDataset([synthetic(num_points=64),
                                   synthetic(num_points=16)]),
                    RepeatDataset(synthetic(num_points=16), 2)):
        with pytest.raises(ValueError, match=r"clouds of 16 points \(the "
                           r"dataset's num_points=16\)"):
            check_points_per_cloud(point_transformer(32, 16), wrapped,
                                   'training')
