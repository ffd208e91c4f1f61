"""Render the README's tables of measured results from their files under
docs/results/ (written by the commands that measure them).

    .venv/bin/python tools/update_readme_results.py [--check]

``--check`` changes nothing and exits 1 when a table differs from its file.
"""
import argparse
import os.path as osp
import sys

from adapterx.utils.results import render_results_blocks
from adapterx.utils.tool_args import tool_description

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def main():
    parser = argparse.ArgumentParser(description=tool_description(__doc__))
    parser.add_argument('--check', action='store_true',
                        help='change nothing; exit 1 if a table differs '
                        'from its results file')
    parser.add_argument('--readme', default=osp.join(REPO_ROOT, 'README.md'),
                        help='the Markdown file to render (default: the '
                        'repository README)')
    args = parser.parse_args()
    with open(args.readme) as file:
        text = file.read()
    rendered = render_results_blocks(text, REPO_ROOT)
    if rendered == text:
        print(f'{args.readme}: every results table matches its file')
        return
    if args.check:
        sys.exit(f'{args.readme}: a results table differs from its file; '
                 'run tools/update_readme_results.py')
    with open(args.readme, 'w') as file:
        file.write(rendered)
    print(f'{args.readme}: results tables rewritten from their files')


if __name__ == '__main__':
    main()
