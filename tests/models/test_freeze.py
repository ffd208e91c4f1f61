import pytest
import torch.nn as nn

from adapterx.models.peft import freeze_parameters, trainable_parameter_report


class TinyClassifier(nn.Module):

    def __init__(self):
        super().__init__()
        self.backbone = nn.Sequential(nn.Linear(4, 8), nn.LayerNorm(8))
        self.head = nn.Linear(8, 3)


def test_only_matching_parameters_train():
    model = TinyClassifier()
    names = freeze_parameters(model, [r'^head\.', r'\.1\.bias$'])
    assert names == ['backbone.1.bias', 'head.weight', 'head.bias']
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == set(names)


def test_refreezing_unfreezes_what_the_new_patterns_name():
    model = TinyClassifier()
    freeze_parameters(model, [r'^head\.'])
    freeze_parameters(model, [r'^backbone\.0\.'])
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == {'backbone.0.weight', 'backbone.0.bias'}


def test_pattern_matching_nothing_is_an_error():
    with pytest.raises(ValueError, match=r"\['adapter'\]"):
        freeze_parameters(TinyClassifier(), [r'^head\.', 'adapter'])


def test_invalid_regular_expression_is_named():
    with pytest.raises(ValueError, match=r"'\(unclosed'"):
        freeze_parameters(TinyClassifier(), ['(unclosed'])


def test_report_counts_both_conventions():
    model = TinyClassifier()
    freeze_parameters(model, [r'^head\.', r'\.1\.'])
    report = trainable_parameter_report(model)
    # backbone: 4*8+8 (linear) + 8+8 (norm) = 56; head: 8*3+3 = 27
    assert (report.total, report.head, report.backbone) == (83, 27, 56)
    assert (report.trainable, report.trainable_without_head) == (43, 16)
    assert report.percent_of_backbone_without_head == pytest.approx(
        100 * 16 / 56)
    assert report.percent_of_model_with_head == pytest.approx(100 * 43 / 83)


def test_shared_parameters_count_once():
    model = TinyClassifier()
    model.backbone.append(model.backbone[0])  # the same Linear twice
    report = trainable_parameter_report(model)
    assert report.total == 83
