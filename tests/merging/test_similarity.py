import pytest
import torch

from adapterx.models.merging import (group_parameters, least_similar_units,
                                     mean_pairwise, unit_similarity)
from tests.merging.tiny import perturbed_states, tiny_classifier


def test_mean_pairwise_by_hand():
    a, b = torch.tensor([1.0, 0.0]), torch.tensor([1.0, 1.0])
    assert mean_pairwise([a, b], 'cosine') == pytest.approx(2**-0.5)
    assert mean_pairwise([a, b], 'l1') == pytest.approx(1.0)
    c = torch.tensor([4.0, 4.0])
    # pairs (a, b), (a, c), (b, c) under L2: 1, 5, sqrt(18)
    assert mean_pairwise([a, b, c], 'l2') == pytest.approx(
        (1 + 5 + 18**0.5) / 3)
    with pytest.raises(ValueError, match='Unknown similarity metric'):
        mean_pairwise([a, b], 'dot')
    with pytest.raises(ValueError, match='all-zero'):
        mean_pairwise([a, torch.zeros(2)], 'cosine', label='unit x')


@pytest.mark.parametrize('metric', ['cosine', 'l1', 'l2'])
def test_unit_similarity_symmetric_and_identity(metric):
    model = tiny_classifier()
    groups = group_parameters(dict(model.named_parameters()))
    states = perturbed_states(model, [3, 3, 3], scale=0.2)
    forward = unit_similarity(groups, states, metric)
    backward = unit_similarity(groups, states[::-1], metric)
    assert list(forward) == list(groups.units)
    for unit in forward:
        assert forward[unit] == pytest.approx(backward[unit], rel=1e-12)
    identical = unit_similarity(groups, [states[0]] * 3, metric)
    expected = 1.0 if metric == 'cosine' else 0.0
    assert all(value == pytest.approx(expected, abs=1e-12)
               for value in identical.values())
    # Different models are less similar than identical ones.
    if metric == 'cosine':
        assert all(value < 1 - 1e-6 for value in forward.values())
    else:
        assert all(value > 1e-6 for value in forward.values())


def test_task_vector_similarity_and_least_similar():
    model = tiny_classifier()
    groups = group_parameters(dict(model.named_parameters()))
    pretrained = {name: value.detach()
                  for name, value in model.named_parameters()}
    states = perturbed_states(model, [3, 3], scale=0.1)
    # The second model's block-1 MLP moves the opposite way of the first's:
    # its task vectors have cosine -1, the least similar MLP unit.
    unit = 'backbone.layers.1.mlp'
    for name in groups.units[unit]:
        states[1][name] = 2 * pretrained[name] - states[0][name]
    similarity = unit_similarity(groups, states, 'cosine', 'task_vectors',
                                 pretrained)
    assert similarity[unit] == pytest.approx(-1.0)
    chosen = least_similar_units(groups, similarity, 1, 'cosine')
    assert unit in chosen and len(chosen) == 2
    assert {groups.unit_kinds[name] for name in chosen} == {'attention', 'mlp'}
    distances = unit_similarity(groups, states, 'l2', 'task_vectors',
                                pretrained)
    assert unit in least_similar_units(groups, distances, 1, 'l2')
    assert least_similar_units(groups, similarity, 0) == []
    assert least_similar_units(groups, similarity, 2) == list(groups.units)
    with pytest.raises(ValueError, match='m=3'):
        least_similar_units(groups, similarity, 3)
    with pytest.raises(ValueError, match='pretrained'):
        unit_similarity(groups, states, 'cosine', 'task_vectors')
