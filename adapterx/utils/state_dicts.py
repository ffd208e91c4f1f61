"""Key handling shared by every reader of weight files."""

# What DDP puts before every key of a model saved while it was wrapped.
DDP_PREFIX = 'module.'


def strip_ddp_prefix(state_dict):
    """``state_dict`` with the ``module.`` of a DDP-wrapped save removed
    from each key that has it."""
    return {
        key[len(DDP_PREFIX):] if key.startswith(DDP_PREFIX) else key: value
        for key, value in state_dict.items()
    }
