"""Each config folder documents its configs the OpenMMLab way: a README
naming every config, a ``metafile.yml`` (mmpretrain's format) listing each
exactly once, the root ``model-index.yml`` importing every metafile; the
links into docs/methods.md reach its sections; nothing refers to files
outside the repository."""
import re
import subprocess

import pytest
import yaml
from modelindex.load_model_index import load as load_model_index

from .utils import CONFIGS, REPO_ROOT

FOLDERS = sorted(path.parent for path in CONFIGS.glob('*/*.py')
                 if path.parent.name != '_base_')
FOLDERS = sorted(set(FOLDERS))
METAFILES = sorted(CONFIGS.glob('*/metafile.yml'))


def methods_anchors():
    headings = re.findall(r'^#+ (.+)$',
                          (REPO_ROOT / 'docs' / 'methods.md').read_text(),
                          re.M)
    return {re.sub(r'[^a-z0-9 -]', '', heading.lower()).replace(' ', '-')
            for heading in headings}


@pytest.mark.parametrize('folder', FOLDERS, ids=lambda p: p.name)
def test_readme_names_every_config_and_its_links_resolve(folder):
    readme = (folder / 'README.md').read_text()
    for config in folder.glob('*.py'):
        assert config.name in readme, f'{folder.name}/README.md'
    anchors = methods_anchors()
    for anchor in re.findall(r'docs/methods\.md#([a-z0-9-]+)', readme):
        assert anchor in anchors, f'{folder.name}/README.md: #{anchor}'


@pytest.mark.parametrize('metafile', METAFILES, ids=lambda p: p.parent.name)
def test_metafile_lists_every_config_once(metafile):
    data = yaml.safe_load(metafile.read_text())
    collections = {collection['Name'] for collection in data['Collections']}
    models = data['Models']
    configs = [model['Config'] for model in models]
    folder = metafile.parent
    assert sorted(configs) == sorted(
        str(path.relative_to(REPO_ROOT)) for path in folder.glob('*.py'))
    for model in models:
        assert model['Name'] == model['Config'].rsplit('/', 1)[1][:-3]
        assert model['In Collection'] in collections
    for collection in data['Collections']:
        assert (REPO_ROOT / collection['README']).is_file()


def test_model_index_imports_every_metafile():
    index = yaml.safe_load((REPO_ROOT / 'model-index.yml').read_text())
    assert sorted(index['Import']) == [
        str(path.relative_to(REPO_ROOT)) for path in METAFILES]
    # mmpretrain's (and mim's) reader takes it as a whole.
    model_index = load_model_index(str(REPO_ROOT / 'model-index.yml'))
    assert len(model_index.models) == sum(
        len(yaml.safe_load(path.read_text())['Models']) for path in METAFILES)


def test_every_section_the_configs_cite_exists():
    anchors = methods_anchors()
    cited = set()
    for path in CONFIGS.rglob('*.py'):
        text = ' '.join(line.lstrip('# ')
                        for line in path.read_text().splitlines()
                        if line.startswith('#'))
        for sections in re.findall(r'docs/methods\.md, ((?:"[^"]+"(?:,| and)? ?)+)',
                                   text):
            cited |= set(re.findall(r'"([^"]+)"', sections))
    assert cited
    for section in cited:
        assert re.sub(r'[^a-z0-9 -]', '', section.lower()).replace(
            ' ', '-') in anchors, section


def test_nothing_refers_outside_the_repository():
    tracked = subprocess.run(['git', 'grep', '-l', '-I', '-e', 'shared/',
                              '--', '.', ':!tests/test_config_docs.py'],
                             cwd=REPO_ROOT, capture_output=True, text=True)
    assert tracked.stdout == ''
