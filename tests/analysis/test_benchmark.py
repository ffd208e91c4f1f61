"""tools/analysis_tools/benchmark.py, its ratios and its profiler check that
frozen weights get no gradient."""
import json
import sys

import pytest
import torch
import torch.nn as nn
from mmengine.config import Config

from adapterx.benchmarking import (check_frozen_gradients, markdown_report,
                                   ratios_to)
from adapterx.benchmarking.model_setup import (build_frozen_model,
                                               synthetic_batch)
from adapterx.utils import register_all_modules
from ..utils import REPO_ROOT, run_tool

TOOL = REPO_ROOT / 'tools' / 'analysis_tools' / 'benchmark.py'
TINY = REPO_ROOT / 'configs' / 'tiny'


def fake_result(step, samples, memory, inference, step_cpu=None,
                inference_cpu=None):
    return dict(trainable_without_head=10, percent_of_backbone_without_head=1,
                trainable_with_head=12, percent_of_model_with_head=1.2,
                train_step_ms=step, train_step_cpu_ms=step_cpu,
                samples_per_second=samples, peak_memory_mib=memory,
                memory_kind='cuda max_memory_allocated',
                inference_ms=inference, inference_cpu_ms=inference_cpu)


def test_ratios_to_the_reference():
    results = dict(full=fake_result(50.0, 160.0, 400.0, 8.0),
                   adapter=fake_result(40.0, 200.0, 100.0, 10.0))
    assert ratios_to(results, 'full') == dict(
        full=dict(train_step_ms=1.0, samples_per_second=1.0,
                  peak_memory_mib=1.0, inference_ms=1.0),
        adapter=dict(train_step_ms=0.8, samples_per_second=1.25,
                     peak_memory_mib=0.25, inference_ms=1.25))
    table = markdown_report(results, 'python benchmark.py x', {}, 'full')
    assert '| adapter | 10 (1.00%) | 12 (1.20%) | 40.0 | 200.0 | 100.0 | ' \
        '10.0 | 0.80x | 0.25x | 1.25x |' in table
    # On a CPU the process CPU times get columns and ratios too.
    results = dict(full=fake_result(50.0, 160.0, 400.0, 8.0, 20.0, 4.0),
                   adapter=fake_result(40.0, 200.0, 100.0, 10.0, 30.0, 2.0))
    ratios = ratios_to(results, 'full')['adapter']
    assert (ratios['train_step_cpu_ms'], ratios['inference_cpu_ms']) == \
        (1.5, 0.5)
    table = markdown_report(results, 'python benchmark.py x', {}, 'full')
    assert '| adapter | 10 (1.00%) | 12 (1.20%) | 40.0 | 30.0 | 200.0 | ' \
        '100.0 | 10.0 | 2.0 | 0.80x | 1.50x | 0.25x | 1.25x | 0.50x |' \
        in table
    with pytest.raises(KeyError, match="'lora' is not among"):
        ratios_to(results, 'lora')


@pytest.mark.slow
def test_tool_writes_json_and_markdown(tmp_path):
    # One method (each is a process of its own, seconds of imports): the
    # comparison logic is tested on fake numbers above.
    out = tmp_path / 'bench'
    adapterx = TINY / 'adapterx_vit-tiny_1xb8-2e_tiny-images.py'
    run_tool(sys.executable, TOOL, f'adapterx={adapterx}',
             '--reference', 'adapterx', '--steps', '2', '--warmup', '1',
             '--batch-size', '4', '--out', out)
    record = json.loads((tmp_path / 'bench.json').read_text())
    report = record['data']
    result = report['results']['adapterx']
    assert result['input_shape'] == [4, 3, 32, 32]
    for key in ('train_step_ms', 'train_step_cpu_ms', 'samples_per_second',
                'inference_ms', 'inference_cpu_ms', 'peak_memory_mib'):
        assert result[key] > 0, key
    assert result['samples_per_second'] == pytest.approx(
        4 / (result['train_step_ms'] / 1000))
    assert 0 < result['trainable_without_head'] < 3000
    assert report['ratios']['adapterx'] == dict.fromkeys(
        report['ratios']['adapterx'], 1.0)
    markdown = (tmp_path / 'bench.md').read_text()
    assert record['command'].startswith('tools/analysis_tools/benchmark.py ')
    assert record['command'] in markdown
    assert markdown.count('| adapterx |') == 1
    # The README renders this table from the file, with its provenance.
    assert [row[0] for row in record['rows']] == ['adapterx']
    assert record['rows'][0][-1] == '1.00x'
    assert len(record['commit']) >= 40 and record['machine']['cores'] >= 1


class AlwaysWeightGradLinear(torch.autograd.Function):
    """A linear whose backward forms the weight gradient even for a frozen
    weight (and then drops it): what the check must catch."""

    @staticmethod
    def forward(ctx, x, weight):
        ctx.save_for_backward(x, weight)
        return x @ weight.T

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        grad_weight = grad.T @ x
        return grad @ weight, (grad_weight
                               if ctx.needs_input_grad[1] else None)


def test_the_check_catches_a_computed_frozen_gradient():
    layers = nn.ModuleList([nn.Linear(6, 5, bias=False),
                            nn.Linear(5, 3, bias=False)])
    layers[0].weight.requires_grad_(False)
    x = torch.randn(11, 6, requires_grad=True)

    def wasteful():
        hidden = AlwaysWeightGradLinear.apply(x, layers[0].weight)
        return layers[1](hidden).sum()

    def plain():
        return layers[1](layers[0](x)).sum()

    caught = check_frozen_gradients(layers, wasteful)
    assert caught.frozen_weight_gradients == {'5x6': 1}
    assert caught.trainable_weight_gradients == {'3x5': 1}
    assert caught.computes_frozen_gradients
    clean = check_frozen_gradients(layers, plain)
    assert clean.frozen_weight_gradients == {}
    assert clean.trainable_weight_gradients == {'3x5': 1}


def tiny_check(config, *options):
    register_all_modules()
    cfg = Config.fromfile(TINY / config)
    for option in options:
        cfg.merge_from_dict(option)
    model, _ = build_frozen_model(cfg)
    # Batch 6: the head's input gradient (B, 32) must not have a weight's
    # shape (with B=8 it would look like the 8x32 router's weight gradient).
    inputs, samples = synthetic_batch((6, 3, 32, 32), 4, 'cpu')
    model.train()
    return check_frozen_gradients(
        model, lambda: model.parse_losses(
            model(inputs, samples, mode='loss'))[0])


# The test ViT's blocks (2): qkv 96x32, proj 32x32, fc1 64x32, fc2 32x64;
# head 4x32. Weight gradients come out as (out, in).
BACKBONE_WEIGHTS = {'96x32': 2, '32x32': 2, '64x32': 2, '32x64': 2}


def test_full_finetuning_computes_every_weight_gradient():
    report = tiny_check('full-finetune_vit-tiny_1xb8-2e_tiny-images.py')
    assert report.frozen_weights == 0
    assert report.trainable_weight_gradients == dict(BACKBONE_WEIGHTS,
                                                     **{'4x32': 1})


def test_linear_probe_computes_no_backbone_weight_gradient():
    report = tiny_check('linear-probe_vit-tiny_1xb8-2e_tiny-images.py')
    assert report.frozen_weights == 8
    assert report.frozen_weight_gradients == {} == report.ambiguous
    assert report.trainable_weight_gradients == {'4x32': 1}


def test_adapterx_computes_no_backbone_weight_gradient():
    # Experts of width 4 x 4 (not 4 x 8 = 32): their (32, 16) gradients
    # cannot be mistaken for the frozen 32x32 projection's.
    report = tiny_check('adapterx_vit-tiny_1xb8-2e_tiny-images.py',
                        {'model.peft.bottleneck_dims': 4})
    assert report.frozen_weights == 8
    assert report.frozen_weight_gradients == {} == report.ambiguous
    # Per block: the experts' up-projection (16, 32), the router projection
    # (8, 32) and expert embeddings (4, 8), and (4, 32) products of the
    # scoring matrix they form; the head's (4, 32) once. The experts'
    # down-projection shares one GEMM with the router logits, whose (32,
    # 20) gradient is sliced, not formed by a product of its own.
    assert report.trainable_weight_gradients == {
        '16x32': 2, '8x32': 2, '4x8': 2, '4x32': 3}
    # With the default width 8 the experts' up-projection gradients are
    # 32x32 too: the check says it cannot tell them from the projection's.
    report = tiny_check('adapterx_vit-tiny_1xb8-2e_tiny-images.py')
    assert report.frozen_weight_gradients == {}
    assert report.ambiguous == {'32x32': 2}
