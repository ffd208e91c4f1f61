"""The README's tables of measured results are rendered from their files
under docs/results/, which say how they were measured."""
import json
import subprocess
import sys

import pytest
from safetensors import safe_open

from adapterx.utils.results import (current_commit, render_results_blocks,
                                    render_table, results_blocks,
                                    write_results)
from .utils import REPO_ROOT, run_tool

README = (REPO_ROOT / 'README.md').read_text()


def test_every_readme_results_table_equals_its_file():
    assert results_blocks(README), 'the README has no results block'
    assert render_results_blocks(README, str(REPO_ROOT)) == README, (
        'a README results table differs from its file under docs/results/; '
        'run tools/update_readme_results.py')


@pytest.mark.parametrize(
    'match', results_blocks(README), ids=lambda match: match['path'])
def test_each_results_file_says_how_it_was_measured(match):
    record = json.loads((REPO_ROOT / match['path']).read_text())
    assert record['command'].split()[0].startswith('tools/')
    assert len(record['commit'].split('+')[0]) == 40
    assert record['machine']['cores'] >= 1 and record['machine']['cpu']
    # The README shows the command that wrote the file.
    assert record['command'].split(' --results-json')[0] in README.replace(
        '\\\n    ', '')


def test_tables_are_rendered_from_the_rows(tmp_path):
    path = tmp_path / 'results' / 'table.json'
    written = write_results(str(path), 'title', ['a', 'b'],
                            [['1', '2'], ['3', '4']], str(REPO_ROOT),
                            data={'raw': 1.5})
    record = json.loads(path.read_text())
    assert written == record
    assert render_table(record) == '| a | b |\n|---|---|\n| 1 | 2 |\n| 3 | 4 |\n'
    assert record['data'] == {'raw': 1.5}
    text = (f'before\n<!-- results: {path.relative_to(tmp_path)} -->\nstale\n'
            '<!-- /results -->\nafter\n')
    assert render_results_blocks(text, str(tmp_path)) == (
        f'before\n<!-- results: {path.relative_to(tmp_path)} -->\n'
        '| a | b |\n|---|---|\n| 1 | 2 |\n| 3 | 4 |\n<!-- /results -->\n'
        'after\n')
    with pytest.raises(ValueError, match='every row needs 2 cells'):
        write_results(str(path), 'title', ['a', 'b'], [['1']],
                      str(REPO_ROOT))


def test_a_block_naming_a_missing_file_says_so(tmp_path):
    text = '<!-- results: docs/results/none.json -->\n<!-- /results -->\n'
    with pytest.raises(FileNotFoundError, match='none.json -->'):
        render_results_blocks(text, str(tmp_path))


def test_the_check_command_fails_on_a_stale_table(tmp_path):
    stale = README.replace('<!-- /results -->', '| stale |\n<!-- /results -->',
                           1)
    readme = tmp_path / 'README.md'
    readme.write_text(stale)
    tool = REPO_ROOT / 'tools' / 'update_readme_results.py'
    with pytest.raises(AssertionError, match='differs from its file'):
        run_tool(sys.executable, tool, '--check', '--readme', readme)
    run_tool(sys.executable, tool, '--readme', readme)
    assert readme.read_text() == README


def test_the_commit_is_marked_uncommitted_for_code_changes_only(tmp_path):
    def git(*args):
        subprocess.run(['git', '-C', str(tmp_path), *args], check=True,
                       capture_output=True)

    git('init', '-q')
    (tmp_path / 'docs' / 'results').mkdir(parents=True)
    (tmp_path / 'docs' / 'results' / 'table.json').write_text('{}')
    (tmp_path / 'tool.py').write_text('x = 1\n')
    git('add', '.')
    git('-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'c')
    clean = current_commit(str(tmp_path))
    assert len(clean) == 40
    # A measuring command's own output changed: still the commit.
    (tmp_path / 'docs' / 'results' / 'table.json').write_text('{"a": 1}')
    assert current_commit(str(tmp_path)) == clean
    (tmp_path / 'tool.py').write_text('x = 2\n')
    assert current_commit(str(tmp_path)) == clean + '+uncommitted'


def test_the_readme_states_the_fractal_weights_as_committed():
    """Their size and precision are facts of the committed file, not
    numbers to keep in step by hand."""
    path = REPO_ROOT / 'tools/demo/vit_demo_fractal.safetensors'
    with safe_open(str(path), 'pt') as weights:
        dtypes = {weights.get_tensor(key).dtype for key in weights.keys()}
    assert [str(dtype) for dtype in dtypes] == ['torch.float16']
    size = f'{path.stat().st_size / 1e6:.1f} MB'
    assert f'`tools/demo/vit_demo_fractal.safetensors` (fp16, {size};' in \
        README, f'the README should give the weights file as {size}'
