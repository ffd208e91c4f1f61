import numpy as np
import pytest

from adapterx.datasets import SklearnDigits, SyntheticShapes
from adapterx.datasets.synthetic_shapes import SHAPES, draw_shape


def test_digits_split_is_stratified_and_disjoint():
    train = SklearnDigits(split='train', pipeline=[])
    test = SklearnDigits(split='test', pipeline=[])
    assert len(train) + len(test) == 1797
    assert len(test) == pytest.approx(0.3 * 1797, abs=10)
    test_labels = np.bincount([test[i]['gt_label'] for i in range(len(test))])
    assert test_labels.min() >= 50  # every digit is in the test split
    train_images = {train[i]['img'].tobytes() for i in range(len(train))}
    shared = sum(test[i]['img'].tobytes() in train_images
                 for i in range(len(test)))
    assert shared <= 5  # only digits that happen to be drawn identically


def test_digits_images_are_upscaled_rgb():
    sample = SklearnDigits(split='test', image_size=16, pipeline=[])[0]
    image = sample['img']
    assert image.shape == (16, 16, 3) and image.dtype == np.uint8
    assert (image[::2, ::2] == image[1::2, 1::2]).all()  # 2x2 blocks
    assert (image[..., 0] == image[..., 2]).all()  # grey


@pytest.mark.parametrize('kwargs, message', [
    (dict(split='val'), "'val'"),
    (dict(image_size=30), '30'),
])
def test_digits_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SklearnDigits(pipeline=[], **kwargs)


def test_shapes_are_balanced_and_seeded():
    first = SyntheticShapes(num_per_class=3, seed=4, pipeline=[])
    again = SyntheticShapes(num_per_class=3, seed=4, pipeline=[])
    other = SyntheticShapes(num_per_class=3, seed=5, pipeline=[])
    assert len(first) == 3 * len(SHAPES)
    labels = [first[i]['gt_label'] for i in range(len(first))]
    assert np.bincount(labels).tolist() == [3] * len(SHAPES)
    assert (first[7]['img'] == again[7]['img']).all()
    assert not (first[7]['img'] == other[7]['img']).all()


def test_unknown_shape_is_named():
    with pytest.raises(ValueError, match="'hexagon'"):
        draw_shape('hexagon', 32, np.random.default_rng(0))
