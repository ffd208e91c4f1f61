"""Reading a config stored as text in a checkpoint, without running it.

mmengine stores the run's config in every checkpoint as Python source
(``meta['cfg']``, ``Config.pretty_text``) and parses such text with
``Config.fromstring``, which executes it: a file could run any code that
way. :func:`read_stored_config` reads the same text with :mod:`ast` and
takes only plain data (numbers, strings, ``True`` / ``False`` / ``None``,
lists, tuples, sets, dicts and ``dict(key=value, ...)``); nothing in it is
executed or imported.
"""
import ast


class StoredConfigError(ValueError):
    """A stored config, or the entry asked for, is not plain data."""


def _plain_value(node):
    if isinstance(node, ast.Call):
        if not (isinstance(node.func, ast.Name) and node.func.id == 'dict'
                and not node.args
                and all(keyword.arg for keyword in node.keywords)):
            raise ValueError('a call other than dict(key=value, ...)')
        return {
            keyword.arg: _plain_value(keyword.value)
            for keyword in node.keywords
        }
    if isinstance(node, ast.Dict):
        if None in node.keys:  # {**other}
            raise ValueError('a dict unpacking')
        return {
            _plain_value(key): _plain_value(value)
            for key, value in zip(node.keys, node.values)
        }
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        kind = {ast.List: list, ast.Tuple: tuple, ast.Set: set}[type(node)]
        return kind(_plain_value(element) for element in node.elts)
    # Numbers, strings, True / False / None, negative numbers.
    return ast.literal_eval(node)


def read_stored_config(text: str, source: str, keys) -> dict:
    """The top-level settings ``keys`` of a config stored as text.

    Args:
        text (str): The config's Python source (``Config.pretty_text``).
        source (str): Where the text comes from (the checkpoint), for the
            error messages.
        keys (Iterable[str]): The settings to read; those the text does not
            assign are absent from the result.

    Raises:
        StoredConfigError: The text is no Python, or one of ``keys`` is
            assigned something other than plain data (it is not executed).
    """
    try:
        module = ast.parse(text)
    except SyntaxError as error:
        raise StoredConfigError(
            f'The config stored in {source} is not valid Python (line '
            f'{error.lineno}: {error.msg})') from None
    wanted = set(keys)
    settings = {}
    for statement in module.body:
        if not (isinstance(statement, ast.Assign)
                and len(statement.targets) == 1
                and isinstance(statement.targets[0], ast.Name)
                and statement.targets[0].id in wanted):
            continue
        name = statement.targets[0].id
        try:
            settings[name] = _plain_value(statement.value)
        except ValueError as error:
            raise StoredConfigError(
                f'The config stored in {source} sets {name} (line '
                f'{statement.lineno}) to something other than plain data '
                f'({error}); it is not executed, so {name} cannot be read '
                'from it') from None
    return settings
