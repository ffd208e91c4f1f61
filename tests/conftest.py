import pytest

from adapterx.testing import make_image_folder


@pytest.fixture(scope='session')
def tiny_image_root(tmp_path_factory):
    return make_image_folder(tmp_path_factory.mktemp('tiny_images'))

