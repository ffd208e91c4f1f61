"""tools/demo/pretrain_demo_backbone.py fractal: a short CPU run writes the
backbone as fp16 safetensors under the demo ViT's own keys, loadable through
the strict Pretrained init, and the curve with the transfer probe."""
import json
import math

import pytest
import torch
from safetensors import safe_open

from .utils import load_tool

pytestmark = pytest.mark.slow  # every test here starts training


@pytest.fixture(scope='module')
def recipe():
    return load_tool('tools/demo/pretrain_demo_backbone.py')


@pytest.fixture(scope='module')
def smoke_run(recipe, tmp_path_factory):
    out_dir = tmp_path_factory.mktemp('fractal')
    weights, curve = out_dir / 'w.safetensors', out_dir / 'curve.json'
    recipe.main([
        'fractal', '--steps', '3', '--device', 'cpu', '--batch-size', '8',
        '--num-classes', '5', '--points', '512', '--seed', '1', '--out',
        str(weights), '--curve', str(curve)
    ])
    return weights, json.loads(curve.read_text())


def test_weights_are_the_demo_backbones_keys_in_fp16(recipe, smoke_run):
    weights, _ = smoke_run
    expected = recipe.build_demo_backbone(None).state_dict()
    with safe_open(str(weights), 'pt') as file:
        assert sorted(file.keys()) == sorted(expected)
        assert {file.get_tensor(key).dtype
                for key in file.keys()} == {torch.float16}
        for key in file.keys():
            assert file.get_tensor(key).shape == expected[key].shape
        metadata = file.metadata()
    assert metadata['recipe'] == 'fractal'
    assert metadata['command'].startswith('python ')
    assert '--steps 3' in metadata['command']
    assert (metadata['steps'], metadata['num_classes'],
            metadata['seed']) == ('3', '5', '1')
    assert metadata['torch'] == torch.__version__
    assert metadata['device'] == 'cpu'


def test_weights_load_through_the_configs_strict_pretrained_init(
        recipe, smoke_run):
    weights, _ = smoke_run
    backbone = recipe.build_demo_backbone(
        dict(type='Pretrained', checkpoint=str(weights)))
    with safe_open(str(weights), 'pt') as file:
        for key, value in backbone.state_dict().items():
            assert torch.equal(value, file.get_tensor(key).float()), key


def test_curve_records_training_and_the_three_probes(smoke_run):
    _, curve = smoke_run
    assert (curve['steps'], curve['planned_steps'],
            curve['images_seen']) == (3, 3, 24)
    assert curve['stopped_by'] == 'steps'
    entry, = curve['log']  # one point: the last step
    assert (entry['step'], entry['images']) == (3, 24)
    assert 0 <= entry['accuracy'] <= 100 and entry['loss'] > 0
    probe = curve['transfer_probe']['test_accuracy']
    assert sorted(probe) == ['fractal', 'random_init', 'shapes']
    # Ten digit classes: each probe well above chance.
    assert all(20 < value <= 100 for value in probe.values())
    assert curve['calibration_render_images_per_s'] > 0
    assert curve['calibration_model_images_per_s'] > 0
    assert len(curve['commit'].split('+')[0]) == 40
    assert curve['machine']['cores'] >= 1


def test_learning_rate_warms_up_then_follows_a_cosine(recipe):
    peak, warmup, total = 1e-3, 10, 110
    assert recipe.learning_rate(0, peak, warmup, total) == peak / warmup
    assert recipe.learning_rate(9, peak, warmup, total) == peak
    assert math.isclose(recipe.learning_rate(60, peak, warmup, total),
                        peak * (0.01 + 0.99 * 0.5))
    assert math.isclose(recipe.learning_rate(110, peak, warmup, total),
                        peak * 0.01)
    # Before a time budget's plan is known, only the warm-up applies.
    assert recipe.learning_rate(10, peak, warmup, math.inf) == peak


def test_a_run_needs_a_length(recipe):
    with pytest.raises(SystemExit, match='give --steps N or --time-budget-s'):
        recipe.main(['fractal', '--device', 'cpu'])
    with pytest.raises(SystemExit, match=r'--steps \(0\) and --time-budget-s'
                       r' \(None\) must be positive'):
        recipe.main(['fractal', '--steps', '0'])
