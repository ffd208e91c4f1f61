"""Registries of adapterx.

Every registry is a child of mmpretrain's registry of the same kind, so a
config with ``default_scope='adapterx'`` finds adapterx components first and
falls back to mmpretrain's (ViT backbones, heads, datasets, transforms) and
mmengine's. Each registry's ``locations`` import the adapterx *and* the
mmpretrain packages that register into it: a parent's locations are not
imported when a child is searched, so without them a lookup that falls back
to mmpretrain would find nothing unless mmpretrain happened to be imported.

``ADAPTERS`` holds the parameter-efficient modules that wrappers inject into
a backbone (SMoA, prompt generators, LoRA layers, ...). mmpretrain has no
such registry to descend from, and it must not hang below ``MODELS``:
under the default scope ``adapterx`` mmengine resolves every build to the
first registry of that scope found from the root, which would be
``MODELS``, so ``ADAPTERS.build`` would search the wrong node. As a root of
its own it resolves to itself.

Every registry here is a :class:`SuggestingRegistry`: an unknown ``type``
fails with the close matches among the names registered in the registry
searched and its parents.
"""
from mmpretrain import registry as mmpretrain_registry

from adapterx.utils.registry_suggestions import SuggestingRegistry


def _child(name, kind, *locations):
    registry = SuggestingRegistry(
        kind,
        parent=getattr(mmpretrain_registry, name),
        scope='adapterx',
        locations=list(locations))
    _make_reachable_from_root(registry)
    return registry


def _make_reachable_from_root(registry):
    """Let ``type='adapterx.X'`` resolve from mmengine's root registry and
    from every other codebase's node (mmdet, mmseg).

    A scoped key is looked up among the root's *direct* children only, and
    adapterx's nodes are grandchildren (under mmpretrain's). Listing the node
    among the root's children as well changes nothing else: its parent, and
    so unscoped fallback to mmpretrain, stays as it is.
    """
    root = registry._get_root_registry()
    root._children.setdefault(registry.scope, registry)


RUNNERS = _child('RUNNERS', 'runner', 'adapterx.engine', 'mmpretrain.engine')
RUNNER_CONSTRUCTORS = _child('RUNNER_CONSTRUCTORS', 'runner constructor',
                             'adapterx.engine', 'mmpretrain.engine')
LOOPS = _child('LOOPS', 'loop', 'adapterx.engine', 'mmpretrain.engine')
HOOKS = _child('HOOKS', 'hook', 'adapterx.engine', 'mmpretrain.engine')
LOG_PROCESSORS = _child('LOG_PROCESSORS', 'log processor', 'adapterx.engine',
                        'mmpretrain.engine')
OPTIMIZERS = _child('OPTIMIZERS', 'optimizer', 'adapterx.engine',
                    'mmpretrain.engine')
OPTIM_WRAPPERS = _child('OPTIM_WRAPPERS', 'optimizer_wrapper', 'adapterx.engine',
                        'mmpretrain.engine')
OPTIM_WRAPPER_CONSTRUCTORS = _child('OPTIM_WRAPPER_CONSTRUCTORS',
                                    'optimizer wrapper constructor',
                                    'adapterx.engine', 'mmpretrain.engine')
PARAM_SCHEDULERS = _child('PARAM_SCHEDULERS', 'parameter scheduler',
                          'adapterx.engine', 'mmpretrain.engine')
DATASETS = _child('DATASETS', 'dataset', 'adapterx.datasets',
                  'mmpretrain.datasets')
DATA_SAMPLERS = _child('DATA_SAMPLERS', 'data sampler', 'adapterx.datasets',
                       'mmpretrain.datasets')
TRANSFORMS = _child('TRANSFORMS', 'transform', 'adapterx.datasets',
                    'mmpretrain.datasets')
MODELS = _child('MODELS', 'model', 'adapterx.models', 'mmpretrain.models')
MODEL_WRAPPERS = _child('MODEL_WRAPPERS', 'model_wrapper', 'adapterx.models',
                        'mmpretrain.models')
WEIGHT_INITIALIZERS = _child('WEIGHT_INITIALIZERS', 'weight initializer',
                             'adapterx.models', 'adapterx.checkpoint.loading',
                             'mmpretrain.models')
BATCH_AUGMENTS = _child('BATCH_AUGMENTS', 'batch augment', 'adapterx.models',
                        'mmpretrain.models')
TASK_UTILS = _child('TASK_UTILS', 'task util', 'adapterx.models',
                    'mmpretrain.models')
METRICS = _child('METRICS', 'metric', 'mmpretrain.evaluation')
EVALUATORS = _child('EVALUATORS', 'evaluator', 'mmpretrain.evaluation')
VISUALIZERS = _child('VISUALIZERS', 'visualizer', 'mmpretrain.visualization')
VISBACKENDS = _child('VISBACKENDS', 'vis_backend', 'mmpretrain.visualization')

ADAPTERS = SuggestingRegistry(
    'adapter', scope='adapterx', locations=['adapterx.models.modules'])

__all__ = [
    'RUNNERS', 'RUNNER_CONSTRUCTORS', 'LOOPS', 'HOOKS', 'LOG_PROCESSORS',
    'OPTIMIZERS', 'OPTIM_WRAPPERS', 'OPTIM_WRAPPER_CONSTRUCTORS',
    'PARAM_SCHEDULERS', 'DATASETS', 'DATA_SAMPLERS', 'TRANSFORMS', 'MODELS',
    'MODEL_WRAPPERS', 'WEIGHT_INITIALIZERS', 'BATCH_AUGMENTS', 'TASK_UTILS',
    'METRICS', 'EVALUATORS', 'VISUALIZERS', 'VISBACKENDS', 'ADAPTERS'
]
