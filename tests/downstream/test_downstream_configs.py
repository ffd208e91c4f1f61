"""The mmsegmentation and mmdetection example configs under
configs/downstream/.

Their adapterx parts always build. The whole configs parse only where
mmseg / mmdet are installed (their ``mmseg::`` / ``mmdet::`` bases are files
of those packages), and build and train only with full mmcv, whose compiled
ops (``mmcv._ext``) mmseg's and mmdet's models import and mmcv-lite lacks;
otherwise those tests are skipped with the reason."""
import importlib
import importlib.util

import numpy as np
import pytest
import torch
from mmengine import Config

from adapterx.engine import PeftRunner
from adapterx.models.peft import trainable_parameter_report
from adapterx.registry import HOOKS, MODELS, RUNNERS
from ..fixtures import WIDTH, vit_classifier
from ..utils import REPO_ROOT
from .dense_models import tiny_vit
from .peft_methods import DENSE_BASE

DOWNSTREAM = REPO_ROOT / 'configs' / 'downstream'
SEGMENTATION = DOWNSTREAM / 'upernet_adapterx-vit-b16_8xb2-160k_ade20k-512x512.py'
DETECTION = DOWNSTREAM / 'mask-rcnn_adapterx-vit-b16-sfp_8xb2-1x_coco.py'
CONFIGS = [
    pytest.param(SEGMENTATION, 'mmseg', (3, 5, 7, 11), id='mmseg'),
    pytest.param(DETECTION, 'mmdet', (11, ), id='mmdet'),
]
INSTALL_HINT = ('see README, "Dense prediction with mmsegmentation and '
                'mmdetection", for the install commands')


def require_config_bases(package):
    if importlib.util.find_spec(package) is None:
        pytest.skip(f"{package} is not installed, so the config's "
                    f"'{package}::' bases cannot be resolved; {INSTALL_HINT}")


def require_codebase(package):
    require_config_bases(package)
    try:
        importlib.import_module('mmcv._ext')
    except ImportError as error:
        pytest.skip(f'{package} models need full mmcv with compiled ops '
                    f'(mmcv._ext: {error}); mmcv-lite has none. '
                    f'{INSTALL_HINT}')
    return importlib.import_module(f'{package}.registry')


def test_adapterx_parts_build_and_train_adapterx_set():
    """The downstream base's ViT-B/16, Adapter-X and freezing: the backbone
    trains exactly the tensors Adapter-X trains for classification."""
    base = Config.fromfile(DENSE_BASE)
    assert RUNNERS.get(base.runner_type) is PeftRunner
    dense = torch.nn.Module()
    dense.backbone = MODELS.build(
        dict(type='adapterx.PeftViTDense', vit=base.vit_b16, out_indices=(11, ),
             peft=base.peft))
    dense.decode_head = torch.nn.Conv2d(768, 2, 1)
    # Frozen when built: the hook's set is the one the model already has.
    frozen_when_built = [n for n, p in dense.named_parameters()
                         if p.requires_grad]
    freeze_hook = HOOKS.build(base.custom_hooks[0])
    freeze_hook.freeze(dense)
    assert [n for n, p in dense.named_parameters()
            if p.requires_grad] == frozen_when_built

    classification = Config.fromfile(
        REPO_ROOT / 'configs' / '_base_' / 'peft' / 'adapterx.py')
    classifier = vit_classifier(
        {k: v for k, v in base.vit_b16.items()
         if k not in ('out_type', 'init_cfg')},
        classification.peft, num_classes=2, in_channels=768)

    def backbone_trainable(model, prefix):
        return {name[len(prefix):] for name, p in model.named_parameters()
                if p.requires_grad and name.startswith(prefix)}

    assert backbone_trainable(dense, 'backbone.encoder.') == \
        backbone_trainable(classifier, 'backbone.')
    report = trainable_parameter_report(dense, freeze_hook.head_pattern)
    assert report.trainable_head == report.head > 0
    assert report.trainable_without_head == trainable_parameter_report(
        classifier).trainable_without_head


@pytest.mark.parametrize('config,package,out_indices', CONFIGS)
def test_config_parses_with_the_adapterx_backbone(config, package,
                                                  out_indices):
    require_config_bases(package)
    cfg = Config.fromfile(config)
    base = Config.fromfile(DENSE_BASE)
    assert cfg.custom_imports == dict(
        imports=['adapterx'], allow_failed_imports=False)
    assert cfg.default_scope == package
    assert cfg.runner_type == 'adapterx.PeftRunner'
    assert cfg.custom_hooks == base.custom_hooks
    assert cfg.model.backbone == dict(
        type='adapterx.PeftViTDense', vit=base.vit_b16,
        out_indices=out_indices, peft=base.peft)
    assert cfg.model.neck.type == 'adapterx.SimpleFeaturePyramid'


def tiny(cfg, package):
    """The config with the test ViT (no pretrained file) and heads small
    enough for a CPU step; everything else as the config has it."""
    cfg.model.backbone.vit = tiny_vit()
    cfg.model.neck.in_channels = WIDTH
    if package == 'mmseg':
        cfg.model.backbone.out_indices = (0, 1, 2, 3)
        cfg.model.neck.out_channels = WIDTH
        cfg.model.data_preprocessor.size = (64, 64)
        cfg.model.decode_head.update(
            in_channels=[WIDTH] * 4, channels=16,
            norm_cfg=dict(type='BN', requires_grad=True))
        cfg.model.auxiliary_head.update(
            in_channels=WIDTH, channels=8,
            norm_cfg=dict(type='BN', requires_grad=True))
    else:
        cfg.model.backbone.out_indices = (3, )
    return cfg


def segmentation_batch(structures):
    from mmengine.structures import PixelData
    samples = []
    for _ in range(2):
        sample = structures.SegDataSample(metainfo=dict(
            img_shape=(64, 64), ori_shape=(64, 64), pad_shape=(64, 64)))
        sample.gt_sem_seg = PixelData(data=torch.randint(0, 150, (1, 64, 64)))
        samples.append(sample)
    images = [torch.randint(0, 256, (3, 64, 64), dtype=torch.uint8)] * 2
    return dict(inputs=images, data_samples=samples)


def detection_batch(structures):
    from mmdet.structures.mask import BitmapMasks
    from mmengine.structures import InstanceData
    samples = []
    for _ in range(2):
        sample = structures.DetDataSample(metainfo=dict(
            img_shape=(128, 128), ori_shape=(128, 128),
            scale_factor=(1.0, 1.0)))
        masks = np.zeros((1, 128, 128), dtype=np.uint8)
        masks[0, 20:90, 30:100] = 1
        sample.gt_instances = InstanceData(
            bboxes=torch.tensor([[30.0, 20.0, 100.0, 90.0]]),
            labels=torch.tensor([3]),
            masks=BitmapMasks(masks, 128, 128))
        samples.append(sample)
    images = [torch.randint(0, 256, (3, 128, 128), dtype=torch.uint8)] * 2
    return dict(inputs=images, data_samples=samples)


@pytest.mark.parametrize('config,package,out_indices', CONFIGS)
def test_real_config_builds_its_runner_and_trains(config, package,
                                                  out_indices, tmp_path):
    """The codebase's own registry builds adapterx's PeftRunner from the
    config, which freezes before wrapping; a train step of the codebase's
    model changes Adapter-X, the neck and the heads, not the ViT."""
    registry = require_codebase(package)
    cfg = tiny(Config.fromfile(config), package)
    cfg.work_dir = str(tmp_path)
    runner = registry.RUNNERS.build(cfg)
    assert type(runner) is PeftRunner
    model = runner.model
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable and all(
        not name.startswith('backbone.') or '.adapterx.' in name
        or '.expert_pools.' in name or '.ln2.' in name
        or name.endswith('cls_token') for name in trainable)
    assert any(name.startswith('neck.') for name in trainable)

    structures = importlib.import_module(f'{package}.structures')
    batch = (segmentation_batch if package == 'mmseg' else
             detection_batch)(structures)
    optim_wrapper = runner.build_optim_wrapper(cfg.optim_wrapper)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    for _ in range(2):
        losses = model.train_step(batch, optim_wrapper)
    assert all(torch.isfinite(torch.as_tensor(value)).all()
               for value in losses.values())
    changed = {n for n, p in model.named_parameters()
               if not torch.equal(p, before[n])}
    assert changed <= trainable
    assert any('.expert_pools.' in name for name in changed)
    assert any(not name.startswith(('backbone.', 'neck.'))
               for name in changed)
