from mmengine import DefaultScope


def register_all_modules(init_default_scope: bool = True) -> None:
    """Import every adapterx and mmpretrain module that registers components.

    Args:
        init_default_scope (bool): Also make ``adapterx`` the default scope,
            so that registries build from adapterx's nodes (and through them
            mmpretrain's and mmengine's). An existing default scope of
            another name is kept under a fresh instance named after the
            time, as mmpretrain's own ``register_all_modules`` does.
    """
    from mmpretrain.utils import register_all_modules as register_mmpretrain
    register_mmpretrain(init_default_scope=False)

    import adapterx.datasets  # noqa: F401
    import adapterx.engine  # noqa: F401
    import adapterx.models  # noqa: F401

    if not init_default_scope:
        return
    current_scope = DefaultScope.get_current_instance()
    if current_scope is None:
        DefaultScope.get_instance('adapterx', scope_name='adapterx')
    elif current_scope.scope_name != 'adapterx':
        import datetime
        name = f'adapterx-{datetime.datetime.now()}'
        DefaultScope.get_instance(name, scope_name='adapterx')
