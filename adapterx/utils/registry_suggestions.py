"""Errors for an unknown ``type`` that name the close matches.

mmengine says only that a key "is not in the adapterx::model registry". The
registry searched and its parents (mmpretrain's, mmengine's) hold a few
hundred names, so the likely intended one is found by similarity and
named, with the registries that were searched.
"""
import contextlib
import re

from mmengine.registry import Registry

from .close_matches import close_matches

# The message of mmengine 0.10's build_from_cfg for a type no registry of
# the searched chain holds.
_NOT_REGISTERED = re.compile(
    r'(?P<key>\S+) is not in the (?P<scope>[^:\s]+)::(?P<name>.+?) registry\.')


class UnknownTypeError(KeyError):
    """A config's ``type`` is registered nowhere in the registry searched."""

    def __str__(self):
        # KeyError's own str() would print the message in quotes.
        return str(self.args[0])


class SuggestingRegistry(Registry):
    """mmengine's Registry whose builds name the close matches of an
    unknown type (see :func:`suggest_close_types`); every registry of
    adapterx is one."""

    instances = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        SuggestingRegistry.instances.append(self)

    def build(self, cfg, *args, **kwargs):
        with suggest_close_types():
            return super().build(cfg, *args, **kwargs)


def _searched_registry(scope, name):
    """The registry of that scope and kind in the trees adapterx's
    registries belong to (a build may switch to another scope's node)."""
    for registry in SuggestingRegistry.instances:
        found = registry._get_root_registry()._search_child(scope)
        if found is not None and found.name == name:
            return found
    return None


def unknown_type_message(key, registry):
    """Explain that ``key`` is not in ``registry`` or its parents, with the
    registered names closest to it."""
    _, bare_key = Registry.split_scope_key(key)
    chain, names = [], []
    while registry is not None:
        registry.import_from_location()
        chain.append(f'{registry.scope}::{registry.name}')
        names.extend(registry.module_dict)
        registry = registry.parent
    matches = close_matches(bare_key, names)
    hint = (f'did you mean {" or ".join(matches)}?'
            if matches else 'no registered name is close to it.')
    return (f'Unknown {chain[0].split("::")[1]} type {key!r}: searched '
            f'{", ".join(chain)}; {hint} If it is spelt right, the module '
            'that registers it is not imported (custom_imports in the '
            'config).')


@contextlib.contextmanager
def suggest_close_types():
    """Turn mmengine's "X is not in the S::N registry" KeyError raised in
    the block into an :class:`UnknownTypeError` that names the registries
    searched and the close matches (also usable as a decorator)."""
    try:
        yield
    except UnknownTypeError:
        raise
    except KeyError as error:
        found = _NOT_REGISTERED.match(str(error.args[0]) if error.args else '')
        registry = found and _searched_registry(found['scope'],
                                                found['name'])
        if registry is None:
            raise
        raise UnknownTypeError(unknown_type_message(found['key'],
                                                    registry)) from None
