import numpy as np
from PIL import Image

from adapterx.testing import make_image_folder


def test_image_folder_in_the_vtab_list_format(tmp_path):
    root = make_image_folder(tmp_path, num_classes=3, train_per_class=2,
                             test_per_class=1, size=16)
    train_lines = (root / 'train.txt').read_text().splitlines()
    assert len(train_lines) == 6
    path, label = train_lines[4].split(' ')
    assert path == 'images/train/000004.png' and label == '1'
    assert sorted({line.split(' ')[1] for line in train_lines}) == \
        ['0', '1', '2']
    image = np.asarray(Image.open(root / path))
    assert image.shape == (16, 16, 3) and image.dtype == np.uint8
    assert len((root / 'test.txt').read_text().splitlines()) == 3


def test_images_of_a_class_share_its_pattern(tmp_path):
    root = make_image_folder(tmp_path, num_classes=2, train_per_class=4,
                             test_per_class=1)
    images = {}
    for line in (root / 'train.txt').read_text().splitlines():
        path, label = line.split(' ')
        images.setdefault(label, []).append(
            np.asarray(Image.open(root / path), dtype=np.float64))
    same = np.abs(images['0'][0] - images['0'][1]).mean()
    other = np.abs(images['0'][0] - images['1'][0]).mean()
    assert same < other
