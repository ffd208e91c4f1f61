"""Every GPU check of issue #21 in one run: ViT-B/16 and Point-MAE speed
and memory of Adapter-X against its baselines (eager and compiled), the
real training pipeline (train.py, test.py, dist_train.sh), and the tests
of the CUDA-only paths.

Normally run through gpu_check.sh, which calls

    python tools/analysis_tools/gpu_check.py OUT_DIR [--dry-run]
        [--lanes N] [--budget-s S] [--commit SHA]

Writes, flat in OUT_DIR and rewritten after every step (so that a run
stopped early leaves what it measured): gpu_vitb16.json / .md,
gpu_point.json, gpu_pipeline.json, gpu_cuda_paths.json and summary.md
(targets marked pass / fail).

Methods are measured by tools/analysis_tools/benchmark.py's worker, each
in a fresh process; --lanes processes run at once, so that one's model
building and torch.compile overlap another's timing, but every timed
section holds one lock (adapterx.benchmarking.exclusive_device): no two
timings overlap. The pipeline runs after them, alone.

--dry-run runs the same steps on the CPU at tiny sizes (the real configs
with a 2-block backbone, a few steps, 32 px images, torch.compile's
'eager' backend, no AMP in the pipeline: mmengine's AmpOptimWrapper needs
a GPU), in a few minutes: their numbers mean nothing, but every step,
config and file is exercised.
"""
import argparse
import json
import os
import platform
import re
import shlex
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import torch

import benchmark
from adapterx.benchmarking import (compile_problem, device_problem,
                                   exclusive_device, markdown_report,
                                   ratios_to, run_command)
from adapterx.utils.tool_args import tool_description

REPO = Path(__file__).resolve().parents[2]

VIT_CONFIGS = {
    'full_finetune':
    'configs/full_finetune/full-finetune_vit-b16_8xb8-100e_vtab1k-cifar.py',
    'linear_probe':
    'configs/linear_probe/linear-probe_vit-b16_8xb8-100e_vtab1k-cifar.py',
    'adaptformer':
    'configs/adaptformer/adaptformer_vit-b16_8xb8-100e_vtab1k-cifar.py',
    'lora': 'configs/lora/lora_vit-b16_8xb8-100e_vtab1k-cifar.py',
    'adapterx': 'configs/adapterx_vitb_vtab.py',
}
# Compiled: the targets' methods, and the frozen backbone for inference.
COMPILED = ('adapterx', 'full_finetune', 'adaptformer', 'linear_probe')
POINT_CONFIGS = {
    'adapterx':
    'configs/adapterx/adapterx_point-mae_1xb32-300e_scanobjectnn-pb-t50-rs.py',
    'dapt': 'configs/dapt/dapt_point-mae_1xb32-300e_scanobjectnn-pb-t50-rs.py',
    'full_finetune':
    'configs/full_finetune/'
    'full-finetune_point-mae_1xb32-300e_scanobjectnn-pb-t50-rs.py',
}
PIPELINE_CONFIG = 'configs/adapterx_vitb_vtab.py'
CUDA_TESTS = [
    'tests/ops', 'tests/engine/test_nonfinite_loss.py',
    'tests/engine/test_nonfinite_loss_cuda.py',
    'tests/analysis/test_frozen_gradients_cuda.py',
    'tests/models/test_compile_graph_breaks.py'
]

# Issue #21's targets for Adapter-X: (name, quantity, setting, other
# method, largest ratio).
VIT_TARGETS = [
    ('training step <= 0.80x full fine-tuning (eager)', 'train_step_ms',
     'eager', 'full_finetune', 0.80),
    ('training step <= 0.75x full fine-tuning (compiled)', 'train_step_ms',
     'compiled', 'full_finetune', 0.75),
    ("training step <= 1.10x AdaptFormer's (eager)", 'train_step_ms',
     'eager', 'adaptformer', 1.10),
    ("training step <= 1.10x AdaptFormer's (compiled)", 'train_step_ms',
     'compiled', 'adaptformer', 1.10),
    ("peak training memory <= 0.70x full fine-tuning's (eager)",
     'peak_memory_mib', 'eager', 'full_finetune', 0.70),
    ("inference <= 1.15x the frozen backbone's (eager)", 'inference_ms',
     'eager', 'linear_probe', 1.15),
    ("inference <= 1.10x the frozen backbone's (compiled)", 'inference_ms',
     'compiled', 'linear_probe', 1.10),
]
# The loop keeps the GPU at least this busy, as a share of the pure step.
MIN_BUSY = 0.80
# Furthest point sampling and kNN above this share of the step call for a
# kernel (the rule).
MAX_GROUPING_SHARE = 0.10

# Tiny stand-ins for the dry run: the real configs with a small backbone.
TINY_VIT = dict(
    backbone=dict(
        arch=dict(_delete_=True, embed_dims=32, num_layers=2, num_heads=2,
                  feedforward_channels=64),
        img_size=32),
    head=dict(in_channels=32))
TINY_POINT = dict(
    backbone=dict(
        arch=dict(_delete_=True, embed_dims=32, depth=2, num_heads=2,
                  group_embed_dims=32),
        num_groups=8, group_size=8),
    head=dict(in_channels=32))
TINY_PIPELINE = '''_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=32, interpolation='bicubic', backend='pillow'),
    dict(type='PackInputs'),
]
train_dataloader = dict(batch_size=4, dataset=dict(pipeline=_pipeline))
val_dataloader = dict(batch_size=4, dataset=dict(pipeline=_pipeline))
test_dataloader = dict(batch_size=4, dataset=dict(pipeline=_pipeline))
default_hooks = dict(logger=dict(interval=2))
'''


@dataclass
class Profile:
    """Sizes and limits of a run (seconds for the limits)."""
    device: str
    vit_batch: int
    point_batch: int
    num_points: int
    steps: int
    warmup: int
    amp: Optional[str]
    pipeline_amp: bool
    compile_backend: str
    train_images: int
    test_images: int
    image_size: tuple
    lanes: int
    budget_s: float
    # Kept for the pipeline (train.py, test.py, dist_train.sh).
    pipeline_reserve_s: float
    timeouts: dict = field(default_factory=dict)
    pytest_filter: Optional[str] = None
    tiny: bool = False


def gpu_profile(lanes, budget_s) -> Profile:
    return Profile(
        device='cuda', vit_batch=128, point_batch=32, num_points=2048,
        steps=20, warmup=5, amp='bf16', pipeline_amp=True,
        compile_backend='inductor', train_images=1000, test_images=200,
        image_size=(500, 375), lanes=lanes, budget_s=budget_s,
        pipeline_reserve_s=150,
        timeouts=dict(eager=120, compiled=240, pytest=150, train=120,
                      test=60, dist_train=120))


def dry_profile(lanes, budget_s) -> Profile:
    return Profile(
        device='cpu', vit_batch=4, point_batch=4, num_points=64, steps=2,
        warmup=1, amp='bf16', pipeline_amp=False, compile_backend='eager',
        train_images=24, test_images=8, image_size=(50, 37), lanes=lanes,
        budget_s=budget_s, pipeline_reserve_s=150,
        timeouts=dict(eager=240, compiled=300, pytest=240, train=240,
                      test=180, dist_train=240),
        pytest_filter='gpu or cuda', tiny=True)


class Run:
    """The results so far, written to OUT_DIR after every step."""

    def __init__(self, out_dir, profile, environment):
        self.out_dir = Path(out_dir)
        self.profile = profile
        self.start = time.perf_counter()
        self.lock = threading.Lock()
        self.vit = dict(eager={}, compiled={})
        self.point = {}
        self.pipeline = {}
        # The pipeline config's training step alone (benchmark.py).
        self.pure_step = {}
        self.cuda_paths = {}
        self.failures = {}
        self.environment = environment

    def elapsed(self):
        return time.perf_counter() - self.start

    def log(self, message):
        print(f'[{self.elapsed():6.1f} s] {message}', flush=True)

    def record(self, store, key, value):
        with self.lock:
            store[key] = value
            self.write()

    def fail(self, step, message):
        self.log(f'{step} FAILED:\n{message}')
        with self.lock:
            self.failures[step] = message.strip().splitlines()[-1][:300] \
                if message.strip() else 'failed'
            self.write()

    def dump(self, name, content):
        with open(self.out_dir / name, 'w') as file:
            json.dump(dict(environment=self.environment, **content), file,
                      indent=2)

    def write(self):
        vit_ratios = {
            setting: ratios_to(results, 'full_finetune')
            for setting, results in self.vit.items()
            if 'full_finetune' in results
        }
        self.dump('gpu_vitb16.json', dict(
            settings=vit_settings(self.profile), results=self.vit,
            ratios_to_full_finetune=vit_ratios,
            targets=vit_targets(self.vit)))
        with open(self.out_dir / 'gpu_vitb16.md', 'w') as file:
            file.write(self.vit_markdown())
        self.dump('gpu_point.json', dict(
            settings=point_settings(self.profile), results=self.point))
        self.dump('gpu_pipeline.json', dict(
            runs=self.pipeline, pure_step=self.pure_step.get('adapterx')))
        self.dump('gpu_cuda_paths.json', self.cuda_paths)
        with open(self.out_dir / 'summary.md', 'w') as file:
            file.write(self.summary())

    def vit_markdown(self):
        text = []
        for setting, results in self.vit.items():
            if not results:
                continue
            reference = 'full_finetune' if 'full_finetune' in results \
                else None
            text += [f'## ViT-B/16, {setting}', '',
                     markdown_report(results, vit_command(
                         self.profile, setting, results),
                         vit_settings(self.profile), reference)]
        return '\n'.join(text)

    def summary(self):
        env = self.environment
        lines = [
            '# GPU check', '', '```', env['command'], '```', '',
            f'GPU: {env["gpu"]}; torch {env["torch"]} (CUDA '
            f'{env["cuda"]}), Triton {env["triton"]}, timm {env["timm"]}, '
            f'Python {env["python"]}; commit {env["commit"]}; '
            f'{self.profile.lanes} lane(s); {self.elapsed():.0f} s so far.',
            '', '## Targets', '', '| target | measured | result |',
            '|---|---|---|'
        ]
        for target in vit_targets(self.vit) + point_checks(self.point) + \
                pipeline_checks(self.pipeline):
            measured = ('not measured' if target['measured'] is None else
                        f'{target["measured"]:.2f}')
            verdict = {True: 'pass', False: 'FAIL', None: '-'}[target['pass']]
            lines.append(f'| {target["target"]} | {measured} | {verdict} |')
        lines += ['', '## CUDA-only paths (pytest)', '']
        lines += [f'- `{name}`: {outcome["summary"]}'
                  for name, outcome in self.cuda_paths.items()]
        lines += ['', '## Pipeline', '']
        lines += [f'- {name}: {pipeline_line(outcome)}'
                  for name, outcome in self.pipeline.items()]
        if self.point:
            lines += ['', '## Point-MAE', '', markdown_report(
                self.point, point_command(self.profile),
                point_settings(self.profile), None)]
        if self.failures:
            lines += ['', '## Steps that failed (see log.txt)', '']
            lines += [f'- {step}: {why}'
                      for step, why in self.failures.items()]
        return '\n'.join(lines) + '\n'


def vit_settings(profile):
    return dict(batch_size=profile.vit_batch, amp=profile.amp,
                steps=profile.steps, warmup=profile.warmup,
                optimizer='AdamW', compile_backend=profile.compile_backend,
                tiny_backbone=profile.tiny)


def point_settings(profile):
    return dict(batch_size=profile.point_batch,
                num_points=profile.num_points, amp=profile.amp,
                steps=profile.steps, warmup=profile.warmup,
                tiny_backbone=profile.tiny)


def benchmark_arguments(profile, compiled=False, amp=None, batch=None,
                        num_points=None):
    arguments = ['--device', profile.device, '--batch-size',
                 str(batch or profile.vit_batch), '--steps',
                 str(profile.steps), '--warmup', str(profile.warmup),
                 '--compile-backend', profile.compile_backend]
    if amp:
        arguments += ['--amp', amp]
    if compiled:
        arguments.append('--compile')
    if num_points:
        arguments += ['--num-points', str(num_points)]
    return arguments


def vit_command(profile, setting, results):
    """The benchmark.py command that measures the same (one process per
    method; this run took them in lanes)."""
    methods = [f'{name}={VIT_CONFIGS[name]}' for name in results]
    return shlex.join(['python', 'tools/analysis_tools/benchmark.py',
                       *methods, *benchmark_arguments(
                           profile, setting == 'compiled', profile.amp),
                       '--reference', 'full_finetune'])


def point_command(profile):
    methods = [f'{name}={config}' for name, config in POINT_CONFIGS.items()]
    return shlex.join(['python', 'tools/analysis_tools/benchmark.py',
                       *methods, *benchmark_arguments(
                           profile, amp=profile.amp,
                           batch=profile.point_batch,
                           num_points=profile.num_points)])


def check(target, measured, limit, larger_is_better=False):
    """A target as recorded: 'pass' is None when it was not measured."""
    if measured is None:
        passed = None
    else:
        passed = measured >= limit if larger_is_better else measured <= limit
    return {'target': target, 'measured': measured, 'limit': limit,
            'pass': passed}


def vit_targets(vit):
    targets = []
    for target, key, setting, other, limit in VIT_TARGETS:
        results = vit[setting]
        measured = None
        if 'adapterx' in results and other in results:
            measured = results['adapterx'][key] / results[other][key]
        targets.append(check(target, measured, limit))
    breaks = vit['compiled'].get('adapterx', {}).get('graph_breaks')
    targets.append(check(
        "no graph break in the compiled Adapter-X's forward (count)",
        None if breaks is None else breaks['graph_breaks'], 0))
    return targets


def point_checks(point):
    checks = []
    for name, result in point.items():
        grouping = result['grouping']
        checks.append(check(
            f'Point-MAE {name}: FPS ({grouping["fps_backend"]}) + kNN share '
            f'of the step <= {MAX_GROUPING_SHARE:.2f}',
            grouping['share_of_train_step'], MAX_GROUPING_SHARE))
    return checks


def pipeline_checks(pipeline):
    return [
        check(f'{name}: GPU busy (pure step / loop iteration) >= '
              f'{MIN_BUSY:.2f}', outcome.get('busy'), MIN_BUSY,
              larger_is_better=True)
        for name, outcome in pipeline.items() if 'images_per_second' in
        outcome
    ]


def pipeline_line(outcome):
    if 'error' in outcome:
        return f'failed: {outcome["error"]}'
    parts = [f'{outcome["seconds"]:.0f} s']
    if 'images_per_second' in outcome:
        parts.append(f'{outcome["images_per_second"]:.1f} images/s over the '
                     f'loop (median of {outcome["logged_windows"]} logged '
                     f'windows), data time {outcome["data_time_s"]:.4f} s/it')
    if outcome.get('busy') is not None:
        parts.append(f'busy {outcome["busy"]:.2f} of the pure step '
                     f'({outcome["pure_images_per_second"]:.1f} images/s)')
    if 'metrics' in outcome:
        parts.append(f'metrics {outcome["metrics"]}')
    return ', '.join(parts)


def derived_config(folder, name, base, model=None, text=''):
    """A config in ``folder`` that inherits ``base``, merges ``model``
    into its model and adds ``text``."""
    path = Path(folder) / f'{name}.py'
    lines = [f"_base_ = ['{REPO / base}']"]
    if model:
        lines.append(f'model = {model!r}')
    path.write_text('\n'.join(lines) + '\n' + text)
    return str(path)


class Deadline:
    def __init__(self, run, seconds):
        self.run = run
        self.end = run.elapsed() + seconds

    def timeout(self, limit):
        """``limit`` or the time left, whichever is less (None: none
        left)."""
        left = self.end - self.run.elapsed()
        return min(limit, left) if left > 10 else None


def measure(run, deadline, step, store, key, name, config, arguments,
            worker_env, timeout):
    limit = deadline.timeout(timeout)
    if limit is None:
        run.fail(step, 'not started: out of time')
        return
    args = benchmark.parse_args([f'{name}={config}', *arguments])
    run.log(f'{step}: started')
    try:
        result = benchmark.measure_in_subprocess(name, config, args,
                                                 timeout=limit,
                                                 env=worker_env)
    except RuntimeError as error:
        run.fail(step, str(error))
        return
    run.record(store, key, result)
    run.log(f'{step}: {result["train_step_ms"]:.1f} ms/step, '
            f'{result["inference_ms"]:.1f} ms inference')


def run_tests(run, deadline, profile, env, lock_path):
    limit = deadline.timeout(profile.timeouts['pytest'])
    if limit is None:
        run.fail('pytest', 'not started: out of time')
        return
    command = [sys.executable, '-m', 'pytest', '-q', '-p',
               'no:cacheprovider', *CUDA_TESTS]
    if profile.pytest_filter:
        command += ['-k', profile.pytest_filter]
    run.log('pytest: waiting for the device')
    with exclusive_device(lock_path):
        outcome = run_command(command, timeout=limit, env=env, cwd=REPO)
    summary = next((line.strip('= ') for line in
                    reversed(outcome.output.splitlines())
                    if re.search(r'\d+ (passed|failed|error|skipped)', line)),
                   'no summary line')
    lines = [line for line in outcome.output.splitlines()
             if line.startswith(('FAILED', 'ERROR', 'SKIPPED'))]
    run.record(run.cuda_paths, ' '.join(command[1:]), dict(
        returncode=outcome.returncode, seconds=outcome.seconds,
        summary=summary, details=lines[:40]))
    run.log(f'pytest: {summary}')
    if outcome.returncode != 0:
        run.fail('pytest', outcome.tail())


def loop_speed(work_dir, batch_size):
    """Median logged iteration time (the whole loop: data, step, hooks)
    and data time, from mmengine's scalars.json; the first window (start
    up) is left out when there are others."""
    paths = sorted(Path(work_dir).glob('*/vis_data/scalars.json'))
    if not paths:
        return {}
    records = [json.loads(line) for line in paths[-1].read_text().split('\n')
               if line.strip()]
    windows = [r for r in records if 'time' in r and 'data_time' in r]
    if len(windows) > 1:
        windows = windows[1:]
    if not windows:
        return {}
    iteration = statistics.median(r['time'] for r in windows)
    return dict(iteration_s=iteration,
                data_time_s=statistics.median(r['data_time']
                                              for r in windows),
                images_per_second=batch_size / iteration,
                logged_windows=len(windows))


def pipeline(run, deadline, profile, data_root, config, env, pure_step):
    """train.py one epoch, test.py on its checkpoint, dist_train.sh with
    one process; the loop's speed against the pure step's."""
    from mmengine.config import Config
    batch_size = Config.fromfile(config).train_dataloader.batch_size
    work = Path(tempfile.mkdtemp(prefix='gpu_check_pipeline_'))
    data = [f'{split}_dataloader.dataset.data_root={data_root}'
            for split in ('train', 'val', 'test')]
    amp = ['--amp'] if profile.pipeline_amp else []
    python = os.environ.get('PYTHON', sys.executable)
    steps = [
        ('train.py', 'train', [python, 'tools/train.py', config, *amp,
                               '--work-dir', work / 'train',
                               '--cfg-options', *data]),
        ('test.py', 'test', [python, 'tools/test.py', config,
                             work / 'train' / 'epoch_1.pth', '--work-dir',
                             work / 'test', '--dump-metrics',
                             work / 'metrics.json', '--cfg-options', *data]),
        ('dist_train.sh 1', 'dist_train', [
            'bash', 'tools/dist_train.sh', config, '1', *amp, '--work-dir',
            work / 'dist_train', '--cfg-options', *data]),
    ]
    for name, kind, command in steps:
        limit = deadline.timeout(profile.timeouts[kind])
        if limit is None:
            run.fail(name, 'not started: out of time')
            continue
        run.log(f'{name}: started')
        outcome = run_command(command, timeout=limit,
                              env=dict(env, PYTHON=python), cwd=REPO)
        result = dict(command=shlex.join(str(part) for part in command),
                      returncode=outcome.returncode,
                      seconds=outcome.seconds)
        run.log(f'{name}: output ends\n{outcome.tail(1500)}')
        if outcome.returncode != 0:
            result['error'] = ('timed out' if outcome.timed_out else
                               f'exit code {outcome.returncode}')
            run.record(run.pipeline, name, result)
            run.fail(name, outcome.tail())
            continue
        if kind == 'test':
            result['metrics'] = json.loads(
                (work / 'metrics.json').read_text())
        else:
            result.update(loop_speed(work / kind, batch_size))
            if pure_step and 'images_per_second' in result:
                result['pure_images_per_second'] = \
                    pure_step['samples_per_second']
                result['busy'] = (result['images_per_second'] /
                                  pure_step['samples_per_second'])
        run.record(run.pipeline, name, result)


def environment(args, profile):
    import timm
    try:
        import triton
        triton_version = triton.__version__
    except ImportError:
        triton_version = 'not installed'
    cuda = profile.device.startswith('cuda')
    return dict(
        command=shlex.join(['tools/analysis_tools/gpu_check.sh',
                            *sys.argv[1:]]),
        commit=args.commit, dry_run=args.dry_run,
        gpu=torch.cuda.get_device_name(0) if cuda else 'none (CPU)',
        torch=torch.__version__, cuda=torch.version.cuda,
        triton=triton_version, timm=timm.__version__,
        python=platform.python_version(), cpu_count=os.cpu_count())


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=tool_description(__doc__))
    parser.add_argument('out_dir', help='where the results are written')
    parser.add_argument('--dry-run', action='store_true',
                        help='tiny sizes on the CPU')
    parser.add_argument('--lanes', type=int,
                        help='benchmark processes at once (default 3 on a '
                        'GPU, 2 in a dry run; 1: one after another)')
    parser.add_argument('--budget-s', type=float,
                        help='stop starting steps after this (default 400 '
                        'on a GPU, 900 in a dry run)')
    parser.add_argument('--commit', default='unknown',
                        help='the commit measured, recorded in the results')
    args = parser.parse_args(argv)
    if args.lanes is not None and args.lanes < 1:
        parser.error(f'--lanes must be >= 1, got {args.lanes}')
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.dry_run:
        profile = dry_profile(args.lanes or 2, args.budget_s or 900)
    else:
        profile = gpu_profile(args.lanes or 3, args.budget_s or 400)
    problem = device_problem(profile.device)
    if problem is not None:
        sys.exit(f'gpu_check.py: {problem} (or --dry-run)')
    os.makedirs(args.out_dir, exist_ok=True)
    run = Run(args.out_dir, profile, environment(args, profile))
    run.log(f'environment: {run.environment}')
    problem = compile_problem(profile.device, profile.compile_backend)
    if problem is not None:
        sys.exit(f'gpu_check.py: {problem}')
    run.write()

    work = Path(tempfile.mkdtemp(prefix='gpu_check_'))
    lock_path = str(work / 'device.lock')
    # Parallel compilations share the cores; the timed process keeps some.
    compile_threads = max(1, ((os.cpu_count() or 2) - 2) // profile.lanes)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        filter(None, [str(REPO), os.environ.get('PYTHONPATH')])),
        PYTHONUNBUFFERED='1')
    worker_env = dict(env, TORCHINDUCTOR_COMPILE_THREADS=str(compile_threads))

    def config_for(name, base, tiny_model):
        if not profile.tiny:
            return str(REPO / base)
        return derived_config(work, name, base, tiny_model)

    vit_configs = {name: config_for(f'vit_{name}', config, TINY_VIT)
                   for name, config in VIT_CONFIGS.items()}
    point_configs = {name: config_for(f'point_{name}', config, TINY_POINT)
                     for name, config in POINT_CONFIGS.items()}
    # Random weights (no pretrained file on this machine), one epoch.
    pipeline_model = dict(backbone=dict(init_cfg=None))
    if profile.tiny:
        pipeline_model['backbone'].update(TINY_VIT['backbone'])
        pipeline_model['head'] = TINY_VIT['head']
    pipeline_config = derived_config(
        work, 'pipeline', PIPELINE_CONFIG, pipeline_model,
        'train_cfg = dict(max_epochs=1)\n' +
        (TINY_PIPELINE if profile.tiny else ''))

    data_root = work / 'vtab-1k'

    def write_data():
        from adapterx.testing import make_vtab1k_task
        make_vtab1k_task(data_root, num_train=profile.train_images,
                         num_test=profile.test_images,
                         image_size=profile.image_size)
        run.log(f'data: {profile.train_images} + {profile.test_images} '
                f'JPEGs of {profile.image_size} under {data_root}')

    data_thread = threading.Thread(target=write_data)
    data_thread.start()

    deadline = Deadline(run, profile.budget_s - profile.pipeline_reserve_s)
    lock = ['--exclusive-lock', lock_path]
    tasks = []
    for name in COMPILED:
        arguments = benchmark_arguments(profile, True, profile.amp) + lock
        if name == 'adapterx':
            arguments.append('--explain-graph-breaks')
        tasks.append((f'ViT-B/16 {name} compiled', run.vit['compiled'], name,
                      name, vit_configs[name], arguments, 'compiled'))
    for name in VIT_CONFIGS:
        arguments = benchmark_arguments(profile, amp=profile.amp) + lock + \
            ['--check-frozen-grads']
        tasks.append((f'ViT-B/16 {name} eager', run.vit['eager'], name, name,
                      vit_configs[name], arguments, 'eager'))
    for name in POINT_CONFIGS:
        arguments = benchmark_arguments(
            profile, amp=profile.amp, batch=profile.point_batch,
            num_points=profile.num_points) + lock
        tasks.append((f'Point-MAE {name} eager', run.point, name, name,
                      point_configs[name], arguments, 'eager'))
    # The pipeline's pure step: its config, batch and AMP dtype (train.py
    # --amp trains in float16), no data loading.
    from mmengine.config import Config
    pipeline_batch = Config.fromfile(pipeline_config).train_dataloader \
        .batch_size
    tasks.append(('pipeline pure step', run.pure_step, 'adapterx', 'adapterx',
                  pipeline_config, benchmark_arguments(
                      profile, amp='fp16' if profile.pipeline_amp else None,
                      batch=pipeline_batch) + lock, 'eager'))

    with ThreadPoolExecutor(profile.lanes) as pool:
        futures = [
            pool.submit(measure, run, deadline, step, store, key, name,
                        config, arguments, worker_env,
                        profile.timeouts[kind])
            for step, store, key, name, config, arguments, kind in tasks
        ]
        futures.append(pool.submit(run_tests, run, deadline, profile, env,
                                   lock_path))
        for future in futures:
            future.result()
    data_thread.join()
    pipeline(run, Deadline(run, profile.budget_s - run.elapsed()), profile,
             data_root, pipeline_config, env, run.pure_step.get('adapterx'))
    run.write()
    run.log(f'done: {len(run.failures)} step(s) failed; wrote '
            f'{sorted(os.listdir(args.out_dir))}')
    return 1 if run.failures else 0


if __name__ == '__main__':
    sys.exit(main())
