"""Time one method's training step and inference forward on synthetic
inputs, and its peak memory.

Peak memory is the process's: on a GPU ``torch.cuda.max_memory_allocated``
over the training steps, on a CPU the growth of the peak resident set size
(``ru_maxrss``) from before the model is built to the end of the training
steps. Run each method in a fresh process (``tools/analysis_tools/
benchmark.py`` does), or the peak is the largest method's so far.

Timed sections run inside ``exclusive()``, a context that a caller may
give so that processes measuring in parallel take the device in turn
(:func:`adapterx.benchmarking.exclusive_device`); what only costs CPU
time (building, torch.compile's first calls, counting graph breaks) runs
outside it.
"""
import contextlib
import resource
import statistics
import sys
import time
from dataclasses import asdict

import torch
from mmengine.config import Config

from adapterx.models.classifiers import PointClassifier
from adapterx.ops import (furthest_point_sample, knn_indices, select_backend,
                          triton_fps_failure)
from .frozen_gradients import check_frozen_gradients
from .model_setup import build_frozen_model, input_shape, synthetic_batch
from .settings import AMP_DTYPES, BenchmarkSettings


def _peak_rss_bytes() -> int:
    # ru_maxrss is in KiB on Linux, in bytes on macOS.
    scale = 1 if sys.platform == 'darwin' else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


def _timed_medians_ms(function, settings: BenchmarkSettings):
    """Median wall time and median process CPU time of ``function`` over
    ``steps`` calls after ``warmup`` untimed ones (ms).

    The CPU time is the one to compare on a shared machine: with one
    thread it counts the work alone, not the time other processes held
    the cores. On a GPU it means nothing (returned as None).
    """
    cuda = settings.device.startswith('cuda')
    wall, process = [], []
    for index in range(settings.warmup + settings.steps):
        if cuda:
            torch.cuda.synchronize(settings.device)
        start, start_cpu = time.perf_counter(), time.process_time()
        function()
        if cuda:
            torch.cuda.synchronize(settings.device)
        if index >= settings.warmup:
            wall.append(time.perf_counter() - start)
            process.append(time.process_time() - start_cpu)
    return (1000 * statistics.median(wall),
            None if cuda else 1000 * statistics.median(process))


def graph_breaks(module, *args, **kwargs) -> dict:
    """The graphs and graph breaks torch.compile makes of ``module(*args,
    **kwargs)`` (torch._dynamo.explain), with the first reasons."""
    explanation = torch._dynamo.explain(module)(*args, **kwargs)
    reasons = [str(getattr(reason, 'reason', reason)).splitlines()[0]
               for reason in explanation.break_reasons]
    return dict(graphs=explanation.graph_count,
                graph_breaks=explanation.graph_break_count,
                reasons=reasons[:5])


def grouping_times(model: PointClassifier, points: torch.Tensor,
                   settings: BenchmarkSettings, train_step_ms: float) -> dict:
    """Median times (ms) of the backbone's furthest point sampling (by the
    path it takes, and by the PyTorch path when that is another) and kNN
    on ``points``, outside the model, and their share of the training
    step."""
    grouper = model.backbone.grouper
    points = points[..., :3].contiguous()
    backend = select_backend(points, 'fps')

    def fps(fps_backend):
        return lambda: furthest_point_sample(points, grouper.num_groups,
                                             fps_backend)

    times = dict(fps_ms=_timed_medians_ms(fps(None), settings)[0])
    if backend != 'torch':
        times['fps_torch_ms'] = _timed_medians_ms(fps('torch'), settings)[0]
    centres = points[:, :grouper.num_groups]
    times['knn_ms'] = _timed_medians_ms(
        lambda: knn_indices(points, centres, grouper.group_size),
        settings)[0]
    return dict(
        times,
        share_of_train_step=(times['fps_ms'] + times['knn_ms']) /
        train_step_ms,
        # After the calls: a kernel that failed has fallen back by now.
        fps_backend=select_backend(points, 'fps'),
        fps_triton_failure=triton_fps_failure())


def benchmark_config(cfg: Config, settings: BenchmarkSettings,
                     exclusive=contextlib.nullcontext) -> dict:
    """Measure the method ``cfg`` describes; returns a JSON-able dict."""
    cuda = settings.device.startswith('cuda')
    rss_before = _peak_rss_bytes()
    model, report = build_frozen_model(cfg)
    model.to(settings.device)
    shape = input_shape(model, cfg, settings.batch_size, settings.img_size,
                        settings.num_points)
    inputs, samples = synthetic_batch(shape, model.head.num_classes,
                                      settings.device)
    trainable = [p for p in model.parameters() if p.requires_grad]
    if not trainable:
        raise ValueError(f'{cfg.filename}: no parameter trains')
    optimizer = torch.optim.AdamW(trainable, lr=1e-4)
    forward = (torch.compile(model, backend=settings.compile_backend)
               if settings.compile else model)

    def autocast():
        if settings.amp is None:
            return contextlib.nullcontext()
        return torch.autocast(
            device_type='cuda' if cuda else 'cpu',
            dtype=AMP_DTYPES[settings.amp])

    def compute_loss(module=forward):
        with autocast():
            losses = module(inputs, samples, mode='loss')
        return model.parse_losses(losses)[0]

    def train_step():
        compute_loss().backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    def inference():
        with torch.no_grad(), autocast():
            forward(inputs, mode='tensor')

    if settings.compile:
        # The first calls compile: CPU time, not measured.
        model.train()
        train_step()
        model.eval()
        inference()
    with exclusive():
        if cuda:
            torch.cuda.reset_peak_memory_stats(settings.device)
        model.train()
        step_ms, step_cpu_ms = _timed_medians_ms(train_step, settings)
        if cuda:
            peak = torch.cuda.max_memory_allocated(settings.device)
            memory_kind = 'cuda max_memory_allocated'
        else:
            peak = _peak_rss_bytes() - rss_before
            memory_kind = 'cpu peak RSS growth'
        model.eval()
        inference_ms, inference_cpu_ms = _timed_medians_ms(
            inference, settings)
        result = dict(
            input_shape=list(shape),
            trainable_without_head=report.trainable_without_head,
            percent_of_backbone_without_head=report.
            percent_of_backbone_without_head,
            trainable_with_head=report.trainable,
            percent_of_model_with_head=report.percent_of_model_with_head,
            train_step_ms=step_ms,
            train_step_cpu_ms=step_cpu_ms,
            samples_per_second=settings.batch_size / (step_ms / 1000),
            peak_memory_mib=peak / 2**20,
            memory_kind=memory_kind,
            inference_ms=inference_ms,
            inference_cpu_ms=inference_cpu_ms)
        if isinstance(model, PointClassifier):
            result['grouping'] = grouping_times(model, inputs, settings,
                                                step_ms)
        if settings.check_frozen_grads:
            # Eager autograd (the compiled graph's backward is one fused
            # call).
            model.train()
            check = check_frozen_gradients(model,
                                           lambda: compute_loss(model))
            result['frozen_gradients'] = dict(asdict(check),
                                              summary=check.summary())
    if settings.explain_graph_breaks:
        # After the timing: explain resets torch.compile's caches.
        model.eval()
        with torch.no_grad(), autocast():
            result['graph_breaks'] = graph_breaks(model, inputs,
                                                  mode='tensor')
    return result
