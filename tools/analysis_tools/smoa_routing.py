"""Routing diagnostics of a trained Adapter-X model: per block, how its
SMoA router spreads the sub-tokens of a dataset over the shared experts.

    python tools/analysis_tools/smoa_routing.py CONFIG CHECKPOINT
        [--split {train,val,test}] [--out DIR] [--max-batches N]
        [--trust-checkpoint] [--cfg-options k=v ...]

CONFIG builds the model and the ``--split`` dataloader (default test);
CHECKPOINT is a runner checkpoint (``epoch_N.pth``) or a trainable-only
file of an Adapter-X run of it, loaded strictly (a file of another method
or model is refused, naming it). Over at most ``--max-batches`` batches,
every router's top-k load per expert, mean router probability per expert,
mean per-sub-token routing entropy, entropy of the load and Switch balance
loss (see :mod:`adapterx.evaluation.smoa_routing`) are written to
``DIR/smoa_routing.json`` (with the commit, command and machine; the
README renders its table), ``DIR/smoa_routing.md`` and a heat map,
``DIR/smoa_routing.png``. DIR defaults to the checkpoint's folder.
"""
import argparse
import itertools
import math
import os
import os.path as osp

import torch
from mmengine.config import Config, DictAction
from mmengine.runner import Runner

from adapterx.checkpoint.io import load_runner_checkpoint
from adapterx.checkpoint.loading import apply_checkpoint
from adapterx.evaluation.smoa_routing import (RoutingRecorder,
                                              adapterx_routers,
                                              balance_loss_weight,
                                              plot_routing)
from adapterx.registry import MODELS
from adapterx.utils import register_all_modules
from adapterx.utils.cpu_threads import configure_cpu_threads
from adapterx.utils.results import render_table, write_results
from adapterx.utils.tool_args import add_trust_argument, tool_description

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SPLITS = ('train', 'val', 'test')
NAME = 'smoa_routing'
# What the checkpoint of an Adapter-X model holds and others do not.
ADAPTERX_KEY = 'expert_pools.'


def parse_args():
    parser = argparse.ArgumentParser(description=tool_description(__doc__))
    parser.add_argument('config', help='the Adapter-X config of the run')
    parser.add_argument('checkpoint',
                        help='its checkpoint (epoch_N.pth or trainable-only)')
    parser.add_argument('--split', choices=SPLITS, default='test',
                        help="the config's dataloader to route "
                        '(default: test)')
    parser.add_argument('--out', help='output folder (default: the '
                        "checkpoint's folder)")
    parser.add_argument('--max-batches', type=int,
                        help='stop after this many batches (default: all)')
    add_trust_argument(parser, 'CHECKPOINT')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config settings, key=value pairs (e.g. '
        'test_dataloader.dataset.data_root=DIR)')
    args = parser.parse_args()
    if args.max_batches is not None and args.max_batches < 1:
        parser.error(f'--max-batches must be >= 1, got {args.max_batches}')
    return args


def load_adapterx_model(config: str, checkpoint_path: str,
                        trust: bool = False, cfg_options=None):
    """The config (``cfg_options`` merged in), its model with
    ``checkpoint_path``'s weights loaded strictly, in eval mode, and the
    model's routers. A config without Adapter-X or a checkpoint without
    Adapter-X weights is refused, naming the file."""
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    model = MODELS.build(cfg.model)
    routers = adapterx_routers(model, config)
    checkpoint = load_runner_checkpoint(checkpoint_path, trust=trust)
    state_dict = checkpoint.get('state_dict', checkpoint)
    if not any(ADAPTERX_KEY in key for key in state_dict):
        raise ValueError(
            f'{checkpoint_path} is not a checkpoint of an Adapter-X model: '
            f'none of its {len(state_dict)} tensors is an SMoA expert '
            f'({ADAPTERX_KEY}...; it holds e.g. {list(state_dict)[:3]}). '
            f'Give the checkpoint of a run of {config}.')
    apply_checkpoint(model, checkpoint, checkpoint_path)
    model.eval()
    return cfg, model, routers


def record_routing(cfg, model, routers, split: str, max_batches=None):
    """Route ``split``'s batches through ``model``; the recorder."""
    loader = Runner.build_dataloader(cfg[f'{split}_dataloader'])
    recorder = RoutingRecorder(routers)
    with recorder, torch.no_grad():
        for batch in itertools.islice(loader, max_batches):
            model.test_step(batch)
    return recorder


def table(summary):
    """Header and rows: one row per router, loads in %."""
    num_experts = max(router['num_experts'] for router in summary['routers'])
    header = ['router', *[f'expert {n} load %' for n in range(num_experts)],
              'token entropy', 'load entropy', 'balance loss']
    rows = []
    for router in summary['routers']:
        loads = [f'{100 * share:.1f}' for share in router['load']]
        loads += ['-'] * (num_experts - len(loads))
        rows.append([router['router'], *loads,
                     f"{router['token_entropy']:.3f}",
                     f"{router['load_entropy']:.3f}",
                     f"{router['balance_loss']:.3f}"])
    return header, rows


def write_markdown(path, title, record, summary) -> None:
    num_experts = summary['routers'][0]['num_experts']
    counts = sorted({router['sub_tokens'] for router in summary['routers']})
    # Each block's prompt joins the sequence of the later blocks.
    routed = f'{counts[0]:,}' if len(counts) == 1 else \
        f'{counts[0]:,} to {counts[-1]:,}'
    lines = [
        f'# {title}', '',
        f"`{record['command']}` at commit `{record['commit']}`.", '',
        'Load: share of the top-k assignments per expert. Entropies in '
        f'nats (at most log {num_experts} = {math.log(num_experts):.3f}). '
        'Balance loss: Switch, N sum f P, over the whole split (1 when '
        f'uniform, {num_experts} when one expert takes all).', '',
        render_table(record).rstrip('\n'), '',
        f'Sub-tokens routed: {routed} per router. Weighted balance loss '
        f"the model would add (weight {summary['balance_loss_weight']}): "
        f"{summary['loss_balance']:.5f}.", '',
        f'![routing heat map]({NAME}.png)', ''
    ]
    with open(path, 'w') as file:
        file.write('\n'.join(lines))


def main():
    args = parse_args()
    configure_cpu_threads()
    register_all_modules()
    cfg, model, routers = load_adapterx_model(args.config, args.checkpoint,
                                              args.trust_checkpoint,
                                              args.cfg_options)
    recorder = record_routing(cfg, model, routers, args.split,
                              args.max_batches)
    summary = recorder.summary(balance_loss_weight(model))
    summary.update(config=args.config, checkpoint=args.checkpoint,
                   split=args.split)
    out = args.out or osp.dirname(osp.abspath(args.checkpoint))
    os.makedirs(out, exist_ok=True)
    title = (f'SMoA routing of {osp.basename(args.config)} on its '
             f'{args.split} split')
    header, rows = table(summary)
    json_path = osp.join(out, f'{NAME}.json')
    record = write_results(json_path, title, header, rows, REPO_ROOT,
                           data=summary)
    write_markdown(osp.join(out, f'{NAME}.md'), title, record, summary)
    plot_routing(summary, osp.join(out, f'{NAME}.png'), title)
    print(render_table(record), end='')
    print(f"Balance loss the model would add: {summary['loss_balance']:.5f}"
          f'\nWrote {NAME}.json, {NAME}.md and {NAME}.png to {out}')


if __name__ == '__main__':
    main()
