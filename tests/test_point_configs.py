"""The point-cloud configs: each builds its model, the head's classes match
its dataset, the methods differ only in the PEFT part, and Adapter-X's
configs carry DAPT's per-dataset settings."""
import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope

from adapterx.models.peft import trainable_parameter_report
from adapterx.registry import DATASETS, MODELS
from .utils import REPO_ROOT

POINT_CONFIGS = sorted(
    path for method in ('adapterx', 'full_finetune')
    for path in (REPO_ROOT / 'configs' / method / 'point').glob('*.py'))
# DAPT's (drop path, adapter dropout) per dataset.
DAPT_SETTINGS = {
    'scanobjectnn_pb_t50_rs': (0.3, 0.2),
    'scanobjectnn_obj_bg': (0.3, 0.5),
    'scanobjectnn_obj_only': (0.1, 0.0),
    'modelnet40': (0.1, 0.0),
}


def dataset_of(path):
    return next(name for name in DAPT_SETTINGS if path.stem.endswith(name))


def test_every_method_model_and_dataset_has_a_config():
    names = {path.stem for path in POINT_CONFIGS}
    for method in ('adapterx', 'fullft'):
        for model in ('pointmae', 'pointbert'):
            for dataset in DAPT_SETTINGS:
                assert f'{method}_{model}_{dataset}' in names


@pytest.mark.parametrize('path', POINT_CONFIGS, ids=lambda p: p.stem)
def test_point_config_builds_and_matches_its_dataset(path):
    init_default_scope('adapterx')
    cfg = Config.fromfile(str(path))
    dataset_class = DATASETS.get(cfg.train_dataloader.dataset.type)
    assert cfg.model.head.num_classes == len(dataset_class.METAINFO['classes'])
    expected_groups = 64 if dataset_of(path) == 'modelnet40' else 128
    assert cfg.model.backbone.num_groups == expected_groups
    cfg.model.backbone.pop('init_cfg')
    model = MODELS.build(cfg.model)
    report = trainable_parameter_report(model)
    if path.stem.startswith('adapterx'):
        drop_path, adapter_dropout = DAPT_SETTINGS[dataset_of(path)]
        assert cfg.model.backbone.drop_path_rate == drop_path
        assert cfg.model.peft.expert_dropout == adapter_dropout
        assert cfg.model.head.pooling == ('cls', 'prompt_mean', 'max')
        assert report.percent_of_model_with_head < 2.1
    else:
        assert cfg.model.get('peft') is None
        assert report.trainable == report.total
