"""The PEFT methods the dense-backbone tests run. Any wrapper built as
``dict(peft, module=vit)`` whose forward returns the ViT's feature maps
(its extra tokens left out) belongs here: the dense backbone trains the
method's declared set, and everything outside it trains."""
import pytest
from mmengine import Config

from ..utils import REPO_ROOT

DENSE_BASE = REPO_ROOT / 'configs' / 'downstream' / '_base_' / \
    'adapterx_vit_b16_dense.py'


def _method(name):
    cfg = Config.fromfile(REPO_ROOT / 'configs' / '_base_' / 'peft' /
                          f'{name}.py')
    return pytest.param(cfg.peft.to_dict(), id=name)


PEFT_METHODS = [
    # The frozen ViT as it is: only the neck and head train.
    pytest.param(dict(type='LinearProbe'), id='no_peft'),
    # Adapter-X with the downstream configs' settings.
    pytest.param(Config.fromfile(DENSE_BASE).peft.to_dict(), id='adapterx'),
]
# Convpass is left out: its 3x3 convolution needs a square patch grid, and
# dense inputs rarely give one.
PEFT_METHODS += [
    _method(name) for name in ('bitfit', 'lora', 'ssf', 'fact_tt', 'fact_tk',
                               'vpt_shallow', 'vpt_deep', 'adaptformer')
]
