"""PointClsHead pooling, PointClassifier (with and without Adapter-X), and
Adapter-X's 3D trainable budget on Point-MAE."""
import json
from types import SimpleNamespace

import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.registry import init_default_scope
from mmpretrain.structures import DataSample

from adapterx.models import PointClsHead
from adapterx.registry import HOOKS, MODELS
from ..fixtures import tiny_point_classifier
from ..utils import REPO_ROOT


def tiny_classifier(peft, **options):
    """16 wide, 3 blocks, 8 groups of 8 points."""
    return tiny_point_classifier(peft, depth=3, width=16, num_groups=8,
                                 **options)


@pytest.fixture(autouse=True)
def adapterx_scope():
    init_default_scope('adapterx')


def test_head_pools_class_token_prompt_mean_and_group_max_in_order():
    head = PointClsHead(num_classes=3, in_channels=4,
                        pooling=('cls', 'prompt_mean', 'max', 'mean'))
    tokens = torch.randn(2, 6, 4)
    prompts = torch.randn(2, 3, 4)
    pooled = head.pre_logits((tokens, prompts))
    torch.testing.assert_close(
        pooled,
        torch.cat([tokens[:, 0], prompts.mean(1), tokens[:, 1:].amax(1),
                   tokens[:, 1:].mean(1)], dim=-1))
    assert head.layers[0].in_features == 16
    with pytest.raises(ValueError, match='needs prompt tokens'):
        head.pre_logits((tokens, None))
    with pytest.raises(ValueError, match='pooling'):
        PointClsHead(num_classes=3, in_channels=4, pooling=('avg', ))


def test_point_mae_and_point_bert_heads_have_their_papers_layers():
    mae = PointClsHead(num_classes=15, in_channels=384)
    bert = PointClsHead(num_classes=15, in_channels=384,
                        hidden_channels=(256, ), batch_norm=False)
    assert [type(m).__name__ for m in mae.layers] == [
        'Linear', 'BatchNorm1d', 'ReLU', 'Dropout', 'Linear', 'BatchNorm1d',
        'ReLU', 'Dropout', 'Linear'
    ]
    assert [type(m).__name__ for m in bert.layers] == [
        'Linear', 'ReLU', 'Dropout', 'Linear'
    ]
    assert mae.layers[0].in_features == 768
    assert mae.layers[-1].out_features == 15


def batch(num_clouds=4, num_points=64, num_classes=3):
    return dict(
        inputs=[torch.rand(num_points, 3) for _ in range(num_clouds)],
        data_samples=[
            DataSample().set_gt_label(index % num_classes)
            for index in range(num_clouds)
        ])


def test_classifier_trains_and_predicts_without_peft():
    model = tiny_classifier(None)
    data = model.data_preprocessor(batch(), training=True)
    assert data['inputs'].shape == (4, 64, 3)
    losses = model(**data, mode='loss')
    assert set(losses) == {'loss'}
    losses['loss'].backward()
    model.eval()
    predictions = model(**model.data_preprocessor(batch()), mode='predict')
    assert len(predictions) == 4
    assert predictions[0].pred_score.shape == (3, )


def test_adapterx_prompts_reach_the_head_through_the_final_norm():
    model = tiny_classifier(
        dict(type='AdapterX', bottleneck_dims=4, routing_dims=4),
        pooling=('cls', 'prompt_mean', 'max'))
    model.eval()
    inputs = model.data_preprocessor(batch())['inputs']
    with torch.no_grad():
        tokens, prompts = model.extract_feat(inputs)
        raw_prompts = model.backbone.forward_context.prompts
    # One prompt per block but the last, normalised like the tokens.
    assert raw_prompts.shape == (4, 2, 16)
    torch.testing.assert_close(prompts, model.backbone.module.norm(
        raw_prompts))
    assert tokens.shape == (4, 9, 16)
    losses = model(**model.data_preprocessor(batch(), True), mode='loss')
    assert set(losses) == {'loss', 'loss_balance'}


def test_ragged_batches_and_batch_augments_are_refused():
    model = tiny_classifier(None)
    ragged = batch()
    ragged['inputs'][1] = torch.rand(50, 3)
    with pytest.raises(ValueError, match='ResamplePoints'):
        model.data_preprocessor(ragged)
    with pytest.raises(ValueError, match='batch augmentations'):
        tiny_classifier(
            None, train_cfg=dict(augments=dict(type='Mixup', alpha=0.8)))


def expected_point_adapterx_trainable(dims=384, blocks=12, experts=4, rank=4,
                                      routing=4, classes=15,
                                      scale_shifts=True):
    pool = experts * (dims * rank + rank + rank * dims + dims)
    embeddings = experts * routing
    routers = blocks * dims * routing
    dynamic_scales = blocks * (dims + 1)
    prompt_generators = blocks * 2 * dims
    smoa_norms = blocks * 2 * dims
    # DAPT's: after LN1, qkv, proj, LN2, fc1, fc2 of each block, and after
    # the group encoder and the final norm.
    scale_shifts = (blocks * 2 * (dims + 3 * dims + dims + dims + 4 * dims +
                                  dims) + 2 * 2 * dims) if scale_shifts else 0
    class_token_and_position = 2 * dims
    head = ((3 * dims * 256 + 256) + 2 * 256 + (256 * 256 + 256) + 2 * 256 +
            (256 * classes + classes))
    adapters = (pool + embeddings + routers + dynamic_scales +
                prompt_generators + smoa_norms + scale_shifts +
                class_token_and_position)
    return adapters, head


@pytest.mark.parametrize('config, scale_shifts, share', [
    # DAPT's scale-and-shifts (DAPT's choice, the default): about 0.1M more
    # than the paper's 1.88%, which the head and DAPT's scale-and-shifts
    # alone (about 2.1%) already exceed.
    ('adapterx_point-mae_1xb32-300e_scanobjectnn-pb-t50-rs.py',
     ('group_encoder', 'norm'), 2.35),
    # The paper's budget: without them.
    ('adapterx-no-scale-shift_point-mae_1xb32-300e_scanobjectnn-pb-t50-rs.py',
     None, 1.9),
])
def test_point_mae_adapterx_config_reports_its_share_with_head(
        tmp_path, config, scale_shifts, share):
    """The freeze hook of the PB_T50_RS configs computes and writes the
    share (3D convention: with the head, of the whole model)."""
    cfg = Config.fromfile(str(REPO_ROOT / 'configs' / 'adapterx' / config))
    cfg.model.backbone.pop('init_cfg')
    assert cfg.model.peft.scale_shifts == scale_shifts
    model = MODELS.build(cfg.model)
    hook = HOOKS.build(dict(type='ParameterFreezeHook'))
    hook.freeze(model)
    hook.before_train(
        SimpleNamespace(model=model, work_dir=str(tmp_path),
                        logger=MMLogger.get_current_instance()))
    report = json.loads((tmp_path / 'trainable_parameters.json').read_text())
    adapters, head = expected_point_adapterx_trainable(
        scale_shifts=scale_shifts is not None)
    assert report['trainable_without_head'] == adapters
    assert report['trainable_with_head'] == adapters + head
    assert 21_800_000 < report['backbone'] - adapters < 21_900_000  # Point-MAE
    assert report['percent_of_model_with_head'] == pytest.approx(
        100 * (adapters + head) / report['total'])
    assert report['percent_of_model_with_head'] == pytest.approx(share,
                                                                 abs=0.05)
