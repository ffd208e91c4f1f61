"""The PEFT methods the dense-backbone tests run, each with the patterns
of what trains (None: the method's declared set and everything outside
the backbone). Any wrapper built as ``dict(peft, module=vit)`` whose
forward returns the ViT's feature maps (its extra tokens left out) belongs
here: add the baselines' entries as they land."""
import pytest
from mmengine import Config

from ..utils import REPO_ROOT

DENSE_BASE = REPO_ROOT / 'configs' / 'downstream' / '_base_' / \
    'adapterx_vit_b16_dense.py'
# Everything outside the backbone (neck, decode heads) trains in every
# downstream config.
OUTSIDE_BACKBONE = r'^(?!backbone\.)'

_adapterx = Config.fromfile(DENSE_BASE)

PEFT_METHODS = [
    # The frozen ViT as it is: only the neck and head train.
    pytest.param(None, [OUTSIDE_BACKBONE], id='no_peft'),
    # Adapter-X with the downstream configs' settings and trainable set.
    pytest.param(
        _adapterx.peft.to_dict(), list(_adapterx.dense_trainable),
        id='adapterx'),
]


def _baseline(method):
    """A classification PEFT base (configs/_base_/peft/) on the dense
    backbone: the method's declared set under the dense backbone's names
    (backbone.encoder.*), and everything outside the backbone in place of
    the classification head."""
    cfg = Config.fromfile(REPO_ROOT / 'configs' / '_base_' / 'peft' /
                          f'{method}.py')
    return pytest.param(cfg.peft.to_dict(), None, id=method)


# Convpass is left out: its 3x3 convolution needs a square patch grid, and
# dense inputs rarely give one.
PEFT_METHODS += [
    _baseline(method) for method in ('bitfit', 'lora', 'ssf', 'fact_tt',
                                     'fact_tk', 'vpt_shallow', 'vpt_deep',
                                     'adaptformer')
]
