"""AdaMerging: the coefficients' merge by hand and against task arithmetic,
entropy minimisation on a tiny problem, and AdaMerging++'s TIES vectors."""
import pytest
import torch

from adapterx.models.merging import (AdaMerging, ViTMerger, adamerging,
                                     prediction_entropy, task_arithmetic,
                                     task_vectors, ties_vectors)
from adapterx.models.merging.static import _trim
from tests.merging.test_static import FINETUNED, PRETRAINED
from tests.merging.tiny import perturbed_states, tiny_classifier

CLASSES = [3, 4, 5]


@pytest.fixture(scope='module')
def merger():
    model = tiny_classifier().eval()
    pretrained = {name: value.detach().clone()
                  for name, value in model.named_parameters()}
    return ViTMerger(model, pretrained,
                     perturbed_states(model, CLASSES))


def images(seed, count=8):
    return torch.randn(count, 3, 32, 32,
                       generator=torch.Generator().manual_seed(seed))


def by_hand(granularity):
    return AdaMerging(None, None, PRETRAINED,
                      task_vectors(PRETRAINED, FINETUNED), [{}, {}],
                      granularity)


def test_coefficients_merge_by_hand():
    # Task vectors: a [1, -2] and [3, 1]; b [0.5, 0] and [-0.1, 0.2].
    merging = by_hand('layer')
    assert merging.coefficients.shape == (2, 2)
    assert torch.all(merging.coefficients == 0.3)
    merged = merging.parameters_for(torch.tensor([[0.5, 1.0], [0.1, 0.0]]))
    # a: 1 + 0.5 * [1, -2] + 0.1 * [3, 1]; b: 1.0 * [0.5, 0]
    torch.testing.assert_close(merged['a'], torch.tensor([1.8, 0.1]))
    torch.testing.assert_close(merged['b'], torch.tensor([0.5, 0.0]))
    assert by_hand('task').coefficients.shape == (2, 1)


def test_layer_wise_with_equal_coefficients_equals_task_wise():
    merging = by_hand('layer')
    per_task = torch.tensor([[0.2], [0.7]])
    task_wise = merging.parameters_for(per_task)
    layer_wise = merging.parameters_for(per_task.expand(2, 2))
    for name in PRETRAINED:
        torch.testing.assert_close(layer_wise[name], task_wise[name])
    with pytest.raises(ValueError, match=r'\(2, 1\) or \(2, 2\), got '
                       r'\(2, 3\)'):
        merging.parameters_for(torch.zeros(2, 3))


@pytest.mark.parametrize('granularity', ['task', 'layer'])
def test_zero_steps_is_task_arithmetic(merger, granularity):
    result = merger.adamerging([[images(task)] for task in range(3)],
                               granularity, steps=0, init=0.3)
    expected = task_arithmetic(merger.pretrained,
                               [merger.shared_of(task) for task in range(3)],
                               scaling=0.3)
    assert set(result.merged) == set(expected)
    for name, value in expected.items():
        torch.testing.assert_close(result.merged[name], value)
    assert len(result.entropies) == 1


def test_entropy_decreases_and_only_the_coefficients_train(merger):
    before = {name: value.clone()
              for name, value in merger.model.named_parameters()}
    pretrained = {name: value.clone()
                  for name, value in merger.pretrained.items()}
    # One fixed batch per task: the loss is a function of the coefficients
    # only, so Adam must lower it.
    batches = [[images(task)] for task in range(3)]
    result = merger.adamerging(batches, 'layer', steps=30, lr=0.05)
    assert len(result.entropies) == 31
    assert result.entropies[-1] < 0.9 * result.entropies[0]
    assert result.coefficients.shape == (3, len(merger.groups.shared))
    assert not torch.all(result.coefficients == 0.3)
    assert result.coefficients.min() >= 0 and result.coefficients.max() <= 1
    # The returned merge is the learned coefficients' and its loss the
    # last entropy.
    merging = AdaMerging(merger.model, merger.groups.naming,
                         merger.pretrained,
                         task_vectors(merger.pretrained,
                                      [merger.shared_of(task)
                                       for task in range(3)]),
                         [merger.head_of(task) for task in range(3)])
    with torch.no_grad():
        loss = merging.loss(result.coefficients,
                            [batch[0] for batch in batches])
    assert float(loss) == pytest.approx(result.entropies[-1], rel=1e-5)
    for name, value in merging.parameters_for(result.coefficients).items():
        torch.testing.assert_close(result.merged[name], value)
    for name, value in merger.model.named_parameters():
        assert torch.equal(value, before[name])
    for name, value in merger.pretrained.items():
        assert torch.equal(value, pretrained[name])


def test_coefficients_are_kept_in_zero_one(merger):
    result = merger.adamerging([[images(task)] for task in range(3)],
                               'task', steps=5, lr=10.0)
    assert result.coefficients.min() >= 0 and result.coefficients.max() <= 1
    # Steps of about 10 reach the bounds and stay there.
    assert ((result.coefficients == 0) | (result.coefficients == 1)).any()


def test_adamerging_plus_weights_the_ties_vectors(merger):
    finetuned = [merger.shared_of(task) for task in range(3)]
    heads = [merger.head_of(task) for task in range(3)]
    plus = adamerging(merger.model, merger.groups.naming, merger.pretrained,
                      finetuned, heads, [[images(task)] for task in range(3)],
                      'task', plus=True, density=0.3, steps=0, init=0.4)
    selected = ties_vectors(merger.pretrained, finetuned, density=0.3)
    for name, value in merger.pretrained.items():
        expected = value + 0.4 * sum(vector[name] for vector in selected)
        torch.testing.assert_close(plus.merged[name], expected.float())
    # Those vectors are TIES' trimmed ones with the minority sign dropped.
    trimmed = [_trim(vector, 0.3)
               for vector in task_vectors(merger.pretrained, finetuned)]
    for name in merger.pretrained:
        kept = torch.stack([vector[name] for vector in selected])
        cut = torch.stack([vector[name] for vector in trimmed])
        assert torch.equal(kept[kept != 0], cut[kept != 0])
        elected = torch.sign(cut.sum(0))
        assert torch.all((torch.sign(kept) == elected) | (kept == 0))
        dropped = (cut != 0) & (kept == 0)
        assert torch.all(torch.sign(cut[dropped]) !=
                         elected.expand_as(cut)[dropped])
    assert sum(int((vector[name] != 0).sum()) for vector in selected
               for name in vector) < 0.3 * 3 * sum(
                   value.numel() for value in merger.pretrained.values())


def test_prediction_entropy_and_bad_input():
    assert float(prediction_entropy(torch.zeros(2, 4))) == pytest.approx(
        torch.log(torch.tensor(4.0)).item())
    assert float(prediction_entropy(torch.tensor([[100.0, 0.0]]))) < 1e-6
    vectors = task_vectors(PRETRAINED, FINETUNED)
    with pytest.raises(ValueError, match="granularity 'block'"):
        AdaMerging(None, None, PRETRAINED, vectors, [{}, {}], 'block')
    with pytest.raises(ValueError, match='init=1.5'):
        AdaMerging(None, None, PRETRAINED, vectors, [{}, {}], init=1.5)
    with pytest.raises(ValueError, match='2 task vectors but 1 heads'):
        AdaMerging(None, None, PRETRAINED, vectors, [{}])
    with pytest.raises(ValueError, match='1 for 2 tasks'):
        by_hand('task').fit([[torch.zeros(1)]], steps=1)
    with pytest.raises(ValueError, match='no image batch of task 1'):
        by_hand('task').fit([[torch.zeros(1)], []], steps=1)
