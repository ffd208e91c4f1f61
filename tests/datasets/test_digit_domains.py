"""DigitDomains: scikit-learn's digits, same split and labels, under each
generated domain shift."""
import numpy as np
import pytest

from adapterx.datasets import DIGIT_DOMAINS, DigitDomains, SklearnDigits


def samples(dataset):
    """Images and labels, read without building the serialised dataset."""
    items = dataset.load_data_list()
    return (np.stack([item['img'] for item in items]),
            [item['gt_label'] for item in items])


def domain(name, split='test', seed=0):
    return samples(DigitDomains(domain=name, split=split, seed=seed,
                                lazy_init=True))


def test_domains_keep_split_and_labels_and_shift_the_images():
    reference, labels = samples(SklearnDigits(split='test', lazy_init=True))
    shifted = {name: domain(name) for name in DIGIT_DOMAINS}
    for name, (images, domain_labels) in shifted.items():
        assert domain_labels == labels
        assert images.shape == reference.shape and images.dtype == np.uint8
        assert np.array_equal(images, reference) == (name == 'clean'), name
    assert np.array_equal(shifted['inverted'][0], 255 - reference)
    assert np.array_equal(shifted['rotated'][0],
                          np.rot90(reference, k=1, axes=(1, 2)))


def test_shifts_are_seeded_and_splits_differ():
    first, _ = domain('noise')
    assert np.array_equal(first, domain('noise')[0])
    assert not np.array_equal(first, domain('noise', seed=1)[0])
    assert len(domain('noise', 'train')[0]) != len(first)
    with pytest.raises(ValueError, match="Unknown digit domain 'sepia'"):
        DigitDomains(domain='sepia')
