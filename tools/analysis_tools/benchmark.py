"""Training-step time, throughput, peak memory, inference latency and
trainable parameters of PEFT methods on one backbone, on synthetic inputs.

    python tools/analysis_tools/benchmark.py [NAME=]CONFIG [[NAME=]CONFIG ...]
        [--device cpu|cuda] [--amp bf16|fp16] [--compile]
        [--compile-backend B] [--batch-size B]
        [--img-size S | --num-points N] [--steps K] [--warmup W]
        [--reference NAME] [--check-frozen-grads] [--explain-graph-breaks]
        [--out PREFIX] [--cfg-options k=v ...]

Each method (NAME defaults to the config's file name) is measured in a
fresh process, so its peak memory is its own: the model is built from the
config (random weights), frozen by the config's freeze hooks, and trained
with AdamW on its trainable parameters on random inputs of the backbone's
shape (images B x 3 x S x S, or point clouds B x N x 3). Times are medians
over --steps steps after --warmup untimed ones. --reference expresses every
method's numbers as ratios to that method's. --check-frozen-grads profiles
one backward per method and reports any gradient computed for a frozen
weight; --explain-graph-breaks counts the graph breaks torch.compile
makes of the inference forward. A point-cloud model's result also holds
the time its grouping (furthest point sampling, kNN) takes.
Writes PREFIX.json (the table, the raw results, the commit, the command
and the machine) and PREFIX.md (with this command line).

A device without CUDA for --device cuda, or a torch that cannot compile
for --compile, ends the run with one line saying so. On --device cpu,
torch uses half the cores (``OMP_NUM_THREADS`` wins; see
``adapterx/utils/cpu_threads.py``), recorded with the results.
"""
import argparse
import json
import os.path as osp
import sys
import tempfile
from dataclasses import asdict

import torch
from mmengine.config import Config, DictAction

from adapterx.benchmarking import (AMP_DTYPES, BenchmarkSettings,
                                   compile_problem, device_problem,
                                   exclusive_device, markdown_report,
                                   ratios_to, results_table, run_command)
from adapterx.utils.cpu_threads import configure_cpu_threads
from adapterx.utils.results import write_results
from adapterx.utils.tool_args import tool_description

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=tool_description(__doc__))
    parser.add_argument(
        'configs', nargs='+', metavar='[NAME=]CONFIG',
        help="a method's config, NAME (default: the config's file name) "
        'naming it in the report')
    parser.add_argument('--device', default='cpu',
                        help='cpu, cuda or cuda:N')
    parser.add_argument('--amp', choices=list(AMP_DTYPES),
                        help='autocast of the forward to this dtype')
    parser.add_argument('--compile', action='store_true',
                        help='torch.compile the model')
    parser.add_argument('--compile-backend', default='inductor',
                        help="torch.compile's backend (eager, aot_eager: "
                        'graph capture without code generation)')
    parser.add_argument('--batch-size', type=int, default=8,
                        help='inputs per step')
    size = parser.add_mutually_exclusive_group()
    size.add_argument('--img-size', type=int,
                      help="image side S (default: the backbone's)")
    size.add_argument('--num-points', type=int,
                      help="points per cloud N (default: the backbone's)")
    parser.add_argument('--steps', type=int, default=10,
                        help='timed steps; times are their medians')
    parser.add_argument('--warmup', type=int, default=3,
                        help='untimed steps before them')
    parser.add_argument('--reference', help='method the ratios are to')
    parser.add_argument('--check-frozen-grads', action='store_true',
                        help='profile one backward per method and report '
                        'any gradient computed for a frozen weight')
    parser.add_argument('--explain-graph-breaks', action='store_true',
                        help='count the graph breaks torch.compile makes of '
                        'the inference forward')
    parser.add_argument('--out', default='work_dirs/benchmark/benchmark',
                        help='writes OUT.json and OUT.md')
    parser.add_argument('--cfg-options', nargs='+', default=[],
                        metavar='KEY=VALUE', help='applied to every config')
    parser.add_argument('--worker-output', help=argparse.SUPPRESS)
    # A lock file the worker holds while it times (exclusive_device).
    parser.add_argument('--exclusive-lock', help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.methods = {}
    for item in args.configs:
        name, _, config = item.rpartition('=')
        name = name or osp.splitext(osp.basename(config))[0]
        if name in args.methods:
            parser.error(f'method {name!r} is given twice')
        if not osp.isfile(config):
            parser.error(f'no config file {config}')
        args.methods[name] = config
    if args.reference is not None and args.reference not in args.methods:
        parser.error(f'--reference {args.reference!r} is none of '
                     f'{list(args.methods)}')
    return args


def settings_of(args) -> BenchmarkSettings:
    return BenchmarkSettings(
        device=args.device, batch_size=args.batch_size,
        img_size=args.img_size, num_points=args.num_points,
        steps=args.steps, warmup=args.warmup, amp=args.amp,
        compile=args.compile, compile_backend=args.compile_backend,
        check_frozen_grads=args.check_frozen_grads,
        explain_graph_breaks=args.explain_graph_breaks)


def run_worker(args) -> None:
    """Measure the one method of this process."""
    # Only the workers build models (see adapterx.benchmarking).
    from adapterx.benchmarking.measure import benchmark_config
    from adapterx.utils import register_all_modules
    register_all_modules()
    if args.device == 'cpu':
        configure_cpu_threads()
    (config, ) = args.methods.values()
    cfg = Config.fromfile(config)
    if args.cfg_options:
        options = argparse.Namespace()
        DictAction([], 'cfg_options')(None, options, args.cfg_options)
        cfg.merge_from_dict(options.cfg_options)
    result = benchmark_config(
        cfg, settings_of(args),
        exclusive=lambda: exclusive_device(args.exclusive_lock))
    with open(args.worker_output, 'w') as file:
        json.dump(result, file)


def worker_command(name, config, args, output) -> list:
    command = [
        sys.executable, __file__, f'{name}={config}', '--device',
        args.device, '--batch-size', str(args.batch_size), '--steps',
        str(args.steps), '--warmup', str(args.warmup), '--compile-backend',
        args.compile_backend, '--worker-output', output
    ]
    for flag, value in (('--amp', args.amp), ('--img-size', args.img_size),
                        ('--num-points', args.num_points),
                        ('--exclusive-lock', args.exclusive_lock)):
        if value is not None:
            command += [flag, str(value)]
    for flag, value in (('--compile', args.compile),
                        ('--check-frozen-grads', args.check_frozen_grads),
                        ('--explain-graph-breaks',
                         args.explain_graph_breaks)):
        if value:
            command.append(flag)
    if args.cfg_options:
        command += ['--cfg-options', *args.cfg_options]
    return command


def measure_in_subprocess(name, config, args, timeout=None, env=None) -> dict:
    """Measure one method in a fresh process; a failure or ``timeout``
    seconds passing raise RuntimeError with the end of its output."""
    with tempfile.TemporaryDirectory() as folder:
        output = osp.join(folder, 'result.json')
        completed = run_command(worker_command(name, config, args, output),
                                timeout=timeout, env=env)
        if completed.timed_out:
            raise RuntimeError(f'Benchmarking {name} ({config}) took over '
                               f'{timeout:.0f} s:\n{completed.tail()}')
        if completed.returncode != 0:
            raise RuntimeError(f'Benchmarking {name} ({config}) failed:\n'
                               f'{completed.tail()}')
        with open(output) as file:
            return json.load(file)


def machine_problem(args):
    """Why this machine cannot run the benchmark as asked, or None."""
    problem = device_problem(args.device)
    if problem is None and args.compile:
        problem = compile_problem(args.device, args.compile_backend)
    return problem


def main():
    args = parse_args()
    if args.worker_output:
        return run_worker(args)
    settings = settings_of(args)  # fails here on bad settings, not per method
    problem = machine_problem(args)
    if problem is not None:
        sys.exit(f'benchmark.py: {problem}')
    results = {}
    for name, config in args.methods.items():
        print(f'Benchmarking {name} ({config}) ...', flush=True)
        results[name] = measure_in_subprocess(name, config, args)
    shapes = {name: tuple(r['input_shape']) for name, r in results.items()}
    if len(set(shapes.values())) > 1:
        raise ValueError(f'The methods take inputs of different shapes '
                         f'{shapes}: not one backbone')
    # The workers make the same choice (run_worker).
    environment = dict(torch=torch.__version__,
                       cpu_threads=configure_cpu_threads()
                       if settings.device == 'cpu' else
                       torch.get_num_threads())
    if settings.device.startswith('cuda'):
        environment['gpu'] = torch.cuda.get_device_name(settings.device)
    # The README renders its speed tables from this file (header, rows),
    # which also records the commit, the command and the machine.
    header, rows = results_table(results, args.reference)
    record = write_results(
        f'{args.out}.json',
        f'{", ".join(results)} on {settings.device}, batch '
        f'{settings.batch_size}', header, rows, REPO_ROOT,
        data=dict(settings=asdict(settings), environment=environment,
                  reference=args.reference, results=results,
                  ratios=ratios_to(results, args.reference)
                  if args.reference else None))
    report = markdown_report(results, f'python {record["command"]}',
                             dict(asdict(settings), **environment),
                             args.reference)
    print(report)
    with open(f'{args.out}.md', 'w') as file:
        file.write(report)
    print(f'Wrote {args.out}.json and {args.out}.md')


if __name__ == '__main__':
    main()
