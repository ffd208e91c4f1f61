"""adapterx.testing.make_vtab1k_task writes what the VTAB-1k reader
reads: the four lists, JPEGs of the asked size, labels cycling."""
from PIL import Image

from adapterx.datasets import VTAB1k
from adapterx.testing import make_vtab1k_task


def test_written_task_reads_back(tmp_path):
    root = make_vtab1k_task(tmp_path / 'vtab-1k', task='dtd', num_classes=47,
                            num_train=10, num_test=3, image_size=(60, 45))
    sizes = {}
    for split in ('train800', 'val200', 'train800val200', 'test'):
        dataset = VTAB1k(data_root=str(root), task='dtd', split=split,
                         serialize_data=False)
        sizes[split] = len(dataset)
        first = dataset.get_data_info(0)
        with Image.open(first['img_path']) as image:
            assert (image.format, image.size) == ('JPEG', (60, 45))
    assert sizes == dict(train800=8, val200=2, train800val200=10, test=3)
    labels = [VTAB1k(data_root=str(root), task='dtd', split='val200',
                     serialize_data=False).get_data_info(i)['gt_label']
              for i in range(2)]
    assert labels == [8, 9]
