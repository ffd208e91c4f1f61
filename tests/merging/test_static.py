import pytest
import torch

from adapterx.models.merging import (static_merge, task_arithmetic,
                                     task_vectors, ties_merge, ties_vectors,
                                     weight_average)

PRETRAINED = {'a': torch.tensor([1.0, 1.0]), 'b': torch.tensor([0.0, 0.0])}
# Task vectors: a [1, -2] and [3, 1]; b [0.5, 0] and [-0.1, 0.2].
FINETUNED = [
    {'a': torch.tensor([2.0, -1.0]), 'b': torch.tensor([0.5, 0.0])},
    {'a': torch.tensor([4.0, 2.0]), 'b': torch.tensor([-0.1, 0.2])},
]


def assert_close(merged, expected):
    assert set(merged) == set(expected)
    for name, values in expected.items():
        torch.testing.assert_close(merged[name], torch.tensor(values))


def test_task_vectors_and_weight_average():
    vectors = task_vectors(PRETRAINED, FINETUNED)
    torch.testing.assert_close(vectors[0]['a'],
                               torch.tensor([1.0, -2.0], dtype=torch.float64))
    assert_close(weight_average(PRETRAINED, FINETUNED),
                 {'a': [3.0, 0.5], 'b': [0.2, 0.1]})


def test_task_arithmetic_by_hand():
    # 1 + 0.3 * (1 + 3), 1 + 0.3 * (-2 + 1); 0.3 * 0.4, 0.3 * 0.2
    assert_close(task_arithmetic(PRETRAINED, FINETUNED, scaling=0.3),
                 {'a': [2.2, 0.7], 'b': [0.12, 0.06]})


def test_ties_by_hand():
    # density 0.5 keeps 2 of each task vector's 4 entries, over both
    # tensors: [1, -2 | 0, 0] and [3, 1 | 0, 0]. Elected signs [+, -];
    # disjoint means (1 + 3) / 2 = 2 and -2 (the +1 disagrees).
    assert_close(ties_merge(PRETRAINED, FINETUNED, density=0.5),
                 {'a': [3.0, -1.0], 'b': [0.0, 0.0]})
    assert_close(ties_merge(PRETRAINED, FINETUNED, density=0.5, scaling=0.5),
                 {'a': [2.0, 0.0], 'b': [0.0, 0.0]})
    # Density 1 keeps everything: b's entries disagree in sign at 0 ->
    # +0.5 wins (sum 0.4 > 0), entry 1 only +0.2.
    assert_close(ties_merge(PRETRAINED, FINETUNED, density=1.0),
                 {'a': [3.0, -1.0], 'b': [0.5, 0.2]})


def test_ties_vectors_by_hand():
    # Trimmed as above; the second vector's +1 in a[1] disagrees with the
    # elected sign (-) and is dropped.
    selected = ties_vectors(PRETRAINED, FINETUNED, density=0.5)
    expected = [{'a': [1.0, -2.0], 'b': [0.0, 0.0]},
                {'a': [3.0, 0.0], 'b': [0.0, 0.0]}]
    for vector, values in zip(selected, expected):
        assert_close({name: value.float() for name, value in vector.items()},
                     values)
    with pytest.raises(ValueError, match='density'):
        ties_vectors(PRETRAINED, FINETUNED, density=1.5)


def test_merges_keep_dtype_and_refuse_bad_input():
    half = {name: value.half() for name, value in PRETRAINED.items()}
    merged = static_merge('weight_average', half, [
        {name: value.half() for name, value in state.items()}
        for state in FINETUNED])
    assert all(value.dtype == torch.float16 for value in merged.values())
    with pytest.raises(ValueError, match='Unknown static merge'):
        static_merge('soup', PRETRAINED, FINETUNED)
    with pytest.raises(ValueError, match='density'):
        ties_merge(PRETRAINED, FINETUNED, density=0)
    with pytest.raises(ValueError, match='missing'):
        weight_average(PRETRAINED, [{'a': torch.zeros(2)}])
