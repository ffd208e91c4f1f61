"""adapterx: parameter-efficient adaptation of 2D and 3D vision transformers
on OpenMMLab (mmengine, mmpretrain) and timm."""
import warnings

# Two warnings every run would print that no user of adapterx can act on:
# mmcv-lite (adapterx's mmcv) has no compiled ops, and adapterx uses none of
# them; mmengine imports setuptools' pkg_resources (tools/install.sh pins a
# setuptools that still has it).
warnings.filterwarnings(
    'ignore', message='Fail to import ``MultiScaleDeformableAttention``',
    category=UserWarning)
warnings.filterwarnings(
    'ignore', message='pkg_resources is deprecated as an API',
    category=UserWarning)

from .utils import register_all_modules  # noqa: E402
from .version import __version__

__all__ = [
    '__version__', 'register_all_modules', 'get_peft_model',
    'load_peft_model', 'PeftModel'
]

# The Python API, imported on first use so that ``import adapterx`` (the
# version, the registries' scope) does not load torch and the models.
_API = ('get_peft_model', 'load_peft_model', 'PeftModel')


def __getattr__(name):
    if name in _API:
        from adapterx.models import peft
        return getattr(peft, name)
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
