"""Peak memory and time of tools/merge_vits.py on eight generated tasks at
224 px, for test sets of growing size: memory must not grow with them.

    python tools/analysis_tools/merge_memory_benchmark.py
        [--fractions F [F ...]] [--train-per-task N] [--batch-size B]
        [--workers W] [--threads N] [--work-dir DIR] [--out PREFIX]
        [--results-json FILE]

Each task's test set has ``F`` times the size of the eight-task merging
benchmark's (SUN397, Cars, RESISC45, EuroSAT, SVHN, GTSRB, MNIST, DTD;
:data:`TEST_SIZES`), its gate pool ``N`` training images. The images (JPEG,
224 x 224, a task's own colour and frequency, a class's own orientation)
are written to disk in the image-folder layout mmpretrain's
``CustomDataset`` reads::

    DIR/data/<task>/{train,test}/class_<k>/<index>.jpg

Eight classifiers (a ViT of 4 blocks of width 64, 16 px patches, 10
classes) are made from one random pretrained model plus small random
changes: this measures memory and time, not accuracy. For each fraction,
``tools/merge_vits.py`` runs in its own process on a config of these files
(TIES, the dynamic merge at m=1 with per-batch routing, the default tiny
CNN gate trained one epoch), and its peak resident set size (the largest
of the tool's and its loader workers') and wall time are recorded.
Torch and OpenMP use ``--threads`` threads (default: OMP_NUM_THREADS, else
half the cores; see ``adapterx/utils/cpu_threads.py``), in this process and
in the tool's.

Writes PREFIX.json (command, commit, machine, settings, one entry per
fraction) and PREFIX.md (the command, then the table); ``--results-json``
also writes the table with the commit, command and machine in the format
the README renders (docs/results/merge_memory.json).
"""
import argparse
import json
import os
import os.path as osp
import platform
import shlex
import subprocess
import sys
import time

import numpy as np
import torch
from PIL import Image

from adapterx.utils.cpu_threads import configure_cpu_threads
from adapterx.utils.results import current_commit, write_results
from adapterx.utils.tool_args import tool_description

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
# Test-set sizes of the eight-task ViT merging benchmark (the task vectors
# splits).
TEST_SIZES = dict(SUN397=19850, Cars=8041, RESISC45=6300, EuroSAT=2700,
                  SVHN=26032, GTSRB=12630, MNIST=10000, DTD=1880)
NUM_CLASSES = 10
IMG_SIZE = 224
MODEL = dict(
    type='ImageClassifier',
    backbone=dict(type='VisionTransformer',
                  arch=dict(embed_dims=64, num_layers=4, num_heads=2,
                            feedforward_channels=256),
                  img_size=IMG_SIZE, patch_size=16, drop_rate=0.0,
                  drop_path_rate=0.0),
    neck=None,
    head=dict(type='VisionTransformerClsHead', num_classes=NUM_CLASSES,
              in_channels=64),
    data_preprocessor=dict(num_classes=NUM_CLASSES,
                           mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], to_rgb=True))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=tool_description(__doc__))
    parser.add_argument('--fractions', type=float, nargs='+',
                        default=[0.01, 0.04],
                        help="of the benchmark's test-set sizes")
    parser.add_argument('--train-per-task', type=int, default=100,
                        help="images of each task's gate pool")
    parser.add_argument('--batch-size', type=int, default=64,
                        help="the merge tool's test batch size")
    parser.add_argument('--workers', type=int, default=0,
                        help="the merge tool's dataloader workers")
    parser.add_argument('--threads', type=int,
                        help='torch and OpenMP threads of this process and '
                        'the merge tool (default: OMP_NUM_THREADS, else '
                        'half the cores)')
    parser.add_argument('--work-dir',
                        default='work_dirs/merge_memory_benchmark',
                        help='where the images, models and runs go')
    parser.add_argument('--out', default='work_dirs/merge_memory_benchmark/'
                        'merge_memory',
                        help='writes OUT.json and OUT.md')
    parser.add_argument('--results-json',
                        help='also write the table, with the commit, command '
                        'and machine, to this JSON file')
    return parser.parse_args(argv)


def task_image(task, label, generator):
    """A 224 x 224 RGB image: the task's colour and frequency, the class's
    stripe orientation, a random phase and noise."""
    coordinates = np.linspace(0, 1, IMG_SIZE, dtype=np.float32)
    y, x = np.meshgrid(coordinates, coordinates, indexing='ij')
    angle = np.pi * label / NUM_CLASSES
    frequency = 4 + 3 * task
    stripes = np.sin(2 * np.pi * frequency *
                     (x * np.cos(angle) + y * np.sin(angle)) +
                     generator.uniform(0, 2 * np.pi))
    colour = np.array([(task * 37) % 256, (task * 91) % 256,
                       (task * 53 + 128) % 256], dtype=np.float32)
    image = colour + 60 * stripes[..., None] + generator.normal(
        0, 10, (IMG_SIZE, IMG_SIZE, 3))
    return np.clip(image, 0, 255).astype(np.uint8)


def write_split(folder, task, size, seed):
    """``size`` images of ``task`` under ``folder/class_<k>/``, the classes
    in turn; skipped when the folder holds them already."""
    done = osp.join(folder, f'.{size}_written')
    if osp.exists(done):
        return
    generator = np.random.default_rng(seed)
    for label in range(NUM_CLASSES):
        os.makedirs(osp.join(folder, f'class_{label}'), exist_ok=True)
    for index in range(size):
        label = index % NUM_CLASSES
        Image.fromarray(task_image(task, label, generator)).save(
            osp.join(folder, f'class_{label}', f'{index:06d}.jpg'),
            quality=90)
    open(done, 'w').close()


def write_models(root):
    """The pretrained classifier and the eight fine-tuned ones, as runner
    checkpoints; their paths."""
    from adapterx.registry import MODELS
    torch.manual_seed(0)
    model = MODELS.build(MODEL)
    pretrained = {name: value.detach().clone()
                  for name, value in model.state_dict().items()}
    os.makedirs(root, exist_ok=True)
    paths = dict(pretrained=osp.join(root, 'pretrained.pth'))
    torch.save(dict(state_dict=pretrained, meta=dict()), paths['pretrained'])
    for index, task in enumerate(TEST_SIZES):
        generator = torch.Generator().manual_seed(index + 1)
        state = {name: value + 0.01 * torch.randn(value.shape,
                                                  generator=generator)
                 if value.is_floating_point() else value
                 for name, value in pretrained.items()}
        paths[task] = osp.join(root, f'{task}.pth')
        torch.save(dict(state_dict=state, meta=dict()), paths[task])
    return paths


def write_config(path, data_root, models, test_dirs, args):
    pipeline = [dict(type='LoadImageFromFile'), dict(type='PackInputs')]
    tasks = [
        dict(name=task, checkpoint=models[task],
             train_data=dict(type='CustomDataset',
                             data_root=osp.join(data_root, task, 'train')),
             test_data=dict(type='CustomDataset',
                            data_root=test_dirs[task]))
        for task in TEST_SIZES
    ]
    lines = [
        "default_scope = 'adapterx'",
        f'model = {MODEL!r}',
        f'pipeline = {pipeline!r}',
        f'pretrained = {models["pretrained"]!r}',
        f'tasks = {tasks!r}',
        "merging = dict(static=['ties'], combine_with='ties', m=[1],",
        "               routing=['batch'])",
        'gate_training = dict(epochs=1, batch_size=32, seed=0)',
        f'batch_size = {args.batch_size}',
        f'num_workers = {args.workers}',
    ]
    with open(path, 'w') as file:
        file.write('\n'.join(lines) + '\n')


def run_merge(config, work_dir, threads):
    """Run the tool in its own process; its peak RSS (MiB) and wall time
    (s). wait4's usage covers the process and its waited-for children, and
    its ru_maxrss is the largest one's (KiB on Linux)."""
    env = dict(os.environ, PYTHONPATH=REPO_ROOT,
               OMP_NUM_THREADS=str(threads))
    command = [sys.executable, osp.join(REPO_ROOT, 'tools', 'merge_vits.py'),
               config, '--work-dir', work_dir]
    start = time.perf_counter()
    with open(osp.join(work_dir + '.log'), 'w') as log:
        process = subprocess.Popen(command, env=env, stdout=log,
                                   stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f'{shlex.join(command)} failed; see '
                           f'{work_dir}.log')
    return usage.ru_maxrss / 1024, wall


def readme_sentence(report):
    """The README's sentence on this benchmark, from its JSON."""
    runs = report['runs']
    sizes = ' and '.join(f"{run['test_images']:,}" for run in runs)
    rss = ' and '.join(f"{run['peak_rss_mib'] / 1024:.2f}" for run in runs)
    minutes = ' and '.join(f"{run['wall_s'] / 60:.1f}" for run in runs)
    return (f'Merging 8 models on 8 generated tasks at 224 px '
            f'(`{report["json"]}`) with test sets of {sizes} images in '
            f'all took a peak RSS of {rss} GiB and {minutes} minutes on '
            f"the {report['machine']['cpu_count']}-core CPU machine.")


def main(argv=None):
    args = parse_args(argv)
    threads = configure_cpu_threads(args.threads)
    from adapterx.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    data_root = osp.abspath(osp.join(args.work_dir, 'data'))
    models = write_models(osp.abspath(osp.join(args.work_dir, 'models')))
    for index, task in enumerate(TEST_SIZES):
        write_split(osp.join(data_root, task, 'train'), index,
                    args.train_per_task, seed=1000 + index)
    runs = []
    for fraction in args.fractions:
        sizes = {task: max(NUM_CLASSES, round(fraction * size))
                 for task, size in TEST_SIZES.items()}
        test_dirs = {}
        for index, (task, size) in enumerate(sizes.items()):
            test_dirs[task] = osp.join(data_root, task, f'test_{size}')
            write_split(test_dirs[task], index, size, seed=index)
        name = f'fraction_{fraction:g}'
        config = osp.abspath(osp.join(args.work_dir, f'{name}.py'))
        write_config(config, data_root, models, test_dirs, args)
        work_dir = osp.abspath(osp.join(args.work_dir, name))
        os.makedirs(work_dir, exist_ok=True)
        rss, wall = run_merge(config, work_dir, threads)
        runs.append(dict(fraction=fraction, test_images=sum(sizes.values()),
                         test_sizes=sizes, peak_rss_mib=round(rss, 1),
                         wall_s=round(wall, 1)))
        print(f'{name}: {runs[-1]}', flush=True)
    report = dict(
        command='python ' + shlex.join(
            [osp.relpath(osp.abspath(__file__), REPO_ROOT)] +
            (sys.argv[1:] if argv is None else list(argv))),
        commit=current_commit(REPO_ROOT),
        json=args.out + '.json',
        machine=dict(platform=platform.platform(),
                     processor=platform.processor() or platform.machine(),
                     cpu_count=os.cpu_count(), threads=threads,
                     torch=torch.__version__),
        settings=dict(train_per_task=args.train_per_task,
                      batch_size=args.batch_size, workers=args.workers,
                      img_size=IMG_SIZE, num_classes=NUM_CLASSES,
                      model=MODEL['backbone']['arch']),
        runs=runs)
    sentence = readme_sentence(report)
    header = ['fraction of the test sets', 'test images', 'peak RSS (MiB)',
              'wall (s)']
    cells = [[f"{run['fraction']:g}", f"{run['test_images']:,}",
              f"{run['peak_rss_mib']:,.1f}", f"{run['wall_s']:.1f}"]
             for run in runs]
    # Written first: the tracked PREFIX files written below would mark its
    # commit as uncommitted.
    if args.results_json:
        write_results(args.results_json,
                      'Peak memory and time of tools/merge_vits.py: 8 models, '
                      '8 generated tasks at 224 px', header, cells,
                      REPO_ROOT, data=dict(settings=report['settings'],
                                           runs=runs))
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    with open(args.out + '.json', 'w') as file:
        json.dump(report, file, indent=2)
    rows = ['| ' + ' | '.join(header) + ' |', '|---|---|---|---|'] + [
        '| ' + ' | '.join(row) + ' |' for row in cells]
    with open(args.out + '.md', 'w') as file:
        file.write(f"```\n{report['command']}\n```\n\ncommit "
                   f"{report['commit']}, {report['machine']}\n\n" +
                   '\n'.join(rows) + f'\n\n{sentence}\n')
    print(sentence)


if __name__ == '__main__':
    main()
