"""Fuzzing the list-file and JSON readers with malformed input: they either
return exactly the well-formed content or raise a ValueError that names the
file (and, for list files, the first bad line); nothing else escapes."""
import json
import re

from hypothesis import example, given, settings
from hypothesis import strategies as st

from adapterx.datasets.annotations import read_label_json, read_label_list

NUM_CLASSES = 5
# Whitespace as str.split() sees it; the label in ASCII digits only.
VALID_LINE = re.compile(r'\S+(?:\s+\S+)*\s+(-?[0-9]+)')

line_text = st.text(
    alphabet=st.characters(blacklist_categories=('Cs', ),
                           blacklist_characters='\n\r\x0b\x0c\x1c\x1d\x1e'
                           '\x85\u2028\u2029'),
    max_size=30)
good_line = st.builds(lambda path, label: f'images/{path}.jpg {label}',
                      st.from_regex(r'[a-z0-9_]{1,8}', fullmatch=True),
                      st.integers(0, NUM_CLASSES - 1))
lines = st.lists(st.one_of(good_line, line_text), max_size=12)


def expected_samples(content_lines):
    """The oracle: the samples, or the 1-based number of the first bad
    line."""
    samples = []
    for number, line in enumerate(content_lines, 1):
        stripped = line.strip()
        if not stripped:
            continue
        match = VALID_LINE.fullmatch(stripped)
        if not match or not 0 <= int(match.group(1)) < NUM_CLASSES:
            return number
        samples.append((stripped.rsplit(maxsplit=1)[0], int(match.group(1))))
    return samples


# derandomize: the same examples on every CI run.
@settings(max_examples=300, deadline=None, derandomize=True)
@given(lines)
@example(['images/a.jpg 1_0'])
@example(['images/a.jpg \u0663'])  # ARABIC-INDIC DIGIT THREE
@example(['images/a.jpg -1', 'images/b.jpg 2'])
@example(['', 'images/a jpg 4', '7'])
@example(['images/a.jpg\u30001'])  # IDEOGRAPHIC SPACE
def test_list_reader_on_arbitrary_lines(tmp_path_factory, content_lines):
    path = tmp_path_factory.mktemp('lists') / 'train800.txt'
    path.write_text('\n'.join(content_lines), encoding='utf-8')
    expected = expected_samples(content_lines)
    try:
        samples = read_label_list(str(path), NUM_CLASSES)
    except ValueError as error:
        assert isinstance(expected, int), (content_lines, error)
        assert f'{path}, line {expected}:' in str(error)
    else:
        assert samples == expected


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(),
              st.text(max_size=5)),
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(st.text(max_size=5), children, max_size=3)),
    max_leaves=8))
def test_json_reader_on_arbitrary_values(tmp_path_factory, value):
    path = tmp_path_factory.mktemp('json') / 'train.json'
    path.write_text(json.dumps(value))
    valid = isinstance(value, dict) and all(
        isinstance(v, int) and not isinstance(v, bool)
        for v in value.values())
    try:
        labels = read_label_json(str(path))
    except ValueError as error:
        assert not valid
        assert str(path) in str(error)
    else:
        assert valid and labels == value


def test_bytes_that_are_not_utf8(tmp_path):
    path = tmp_path / 'test.txt'
    path.write_bytes(b'images/a.jpg 1\nimages/\xff\xfe.jpg 2\n')
    try:
        read_label_list(str(path), NUM_CLASSES)
    except ValueError as error:
        assert str(path) in str(error)
    else:
        raise AssertionError('undecodable bytes were accepted')
