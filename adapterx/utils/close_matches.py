import difflib


def close_matches(name, choices, n=3):
    """The entries of ``choices`` closest to ``name`` (at most ``n``),
    compared without case: ``'adaptrx'`` finds ``'AdapterX'``."""
    by_lowered = {}
    for choice in choices:
        by_lowered.setdefault(str(choice).lower(), choice)
    matches = difflib.get_close_matches(
        str(name).lower(), list(by_lowered), n=n, cutoff=0.5)
    return [by_lowered[match] for match in matches]
