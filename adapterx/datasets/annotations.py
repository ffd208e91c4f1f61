"""Readers of image-classification annotation files that fail before
training, with the file, the line and the expected form in the message,
rather than with a KeyError or a CUDA assert mid-epoch. Shared by the
VTAB-1k and FGVC datasets."""
import json
import os
import os.path as osp
import re

from adapterx.utils.close_matches import close_matches as closest

# How many missing or unreadable images an error names; the rest are
# counted.
_MAX_NAMED = 5


LABEL = re.compile(r'-?[0-9]+', re.ASCII)


def close_matches(name, choices):
    """``' (close matches: a, b)'`` for an unknown ``name``, or ``''``."""
    matches = closest(name, choices)
    return f' (close matches: {", ".join(matches)})' if matches else ''


def require_exists(path, description, layout):
    """Raise ``FileNotFoundError`` naming ``path`` and the expected
    ``layout`` if ``path`` does not exist."""
    if not osp.exists(path):
        raise FileNotFoundError(f'{description} {path} does not exist. '
                                f'{layout}')


def indexed_class_names(metainfo, num_classes, classes=None):
    """``metainfo`` with the class names ``class_0``, ``class_1``, ...,
    unless the user named the classes, in ``metainfo`` or in mmpretrain's
    ``classes`` argument (which ``metainfo`` would otherwise override)."""
    metainfo = dict(metainfo or {})
    if classes is None:
        metainfo.setdefault(
            'classes', tuple(f'class_{i}' for i in range(num_classes)))
    return metainfo


def read_label_list(list_file, num_classes):
    """Read a list of ``<image path> <integer label>`` lines.

    Blank lines are skipped; the label is the last field, so a path may
    hold spaces.

    Returns:
        list[tuple[str, int]]: ``(image path, label)`` in file order.
    """
    samples = []
    with open(list_file, 'rb') as file:
        for line_number, raw_line in enumerate(file, 1):
            try:
                line = raw_line.decode('utf-8').strip()
            except UnicodeDecodeError as error:
                raise ValueError(
                    f'{list_file}, line {line_number}: not UTF-8 text '
                    f'({error.reason} at byte {error.start}).') from None
            if not line:
                continue
            fields = line.rsplit(maxsplit=1)
            # ASCII digits only: int() would also take '1_0' or '٣'.
            if len(fields) != 2 or not LABEL.fullmatch(fields[1]):
                raise ValueError(
                    f'{list_file}, line {line_number}: cannot parse '
                    f'{line!r}; expected "<image path> <integer label>", '
                    'e.g. "images/train800/000123.jpg 7".')
            label = int(fields[1])
            if not 0 <= label < num_classes:
                raise ValueError(
                    f'{list_file}, line {line_number}: label {label} is '
                    f'outside [0, {num_classes}) ({num_classes} classes).')
            samples.append((fields[0], label))
    return samples


def read_label_json(json_file):
    """Read a JSON dict ``{"<image path>": <integer class id>}``.

    An image listed twice with two class ids is refused: ``json`` would keep
    the last one silently.
    """
    expected = 'expected a dict {"<image path>": <integer class id>}'

    def refuse_conflicting_duplicates(pairs):
        labels = {}
        for path, class_id in pairs:
            if path in labels and labels[path] != class_id:
                raise ValueError(
                    f'{json_file} lists {path!r} twice, with the class ids '
                    f'{labels[path]!r} and {class_id!r}; keep the one that '
                    'is right.')
            labels[path] = class_id
        return labels

    with open(json_file, encoding='utf-8') as file:
        try:
            labels = json.load(
                file, object_pairs_hook=refuse_conflicting_duplicates)
        except json.JSONDecodeError as error:
            raise ValueError(f'{json_file} is not valid JSON ({error}); '
                             f'{expected}.') from None
    if not isinstance(labels, dict):
        raise ValueError(f'{json_file} holds a {type(labels).__name__}; '
                         f'{expected}.')
    for path, class_id in labels.items():
        # bool is an int subclass, and True is no class id.
        if isinstance(class_id, bool) or not isinstance(class_id, int):
            raise ValueError(f'{json_file}: the class id of {path!r} is '
                             f'{class_id!r}; {expected}.')
    return labels


# How far check_listed_images checks each image (see there).
IMAGE_CHECKS = ('exists', 'verify', 'decode')


# A complete JPEG ends with the end-of-image marker, give or take some
# padding. Entropy-coded data cannot hold these two bytes (an 0xFF there is
# followed by 0x00 or a restart marker), so a file cut in its pixel data
# lacks them near its end.
_JPEG_END = b'\xff\xd9'
_JPEG_TAIL_BYTES = 1024


def _jpeg_end_is_missing(image):
    """Whether the JPEG ``image`` reads from has no end-of-image marker in
    its last ``_JPEG_TAIL_BYTES`` bytes."""
    file = image.fp
    file.seek(0, os.SEEK_END)
    file.seek(max(file.tell() - _JPEG_TAIL_BYTES, 0))
    return _JPEG_END not in file.read()


def _why_unreadable(path, decode):
    """Why PIL cannot read the image at ``path``, or None if it can.

    Without ``decode``, a JPEG is decoded in full only when its end marker
    is missing: a cut file then fails here, before training, instead of in
    the data loader of the first epoch, at the cost of one read of the
    file's tail per JPEG.
    """
    from PIL import Image
    try:
        with Image.open(path) as image:
            if decode or (image.format == 'JPEG'
                          and _jpeg_end_is_missing(image)):
                image.load()
            else:
                image.verify()
    except Image.DecompressionBombError as error:
        return (f'{error} The limit is twice PIL.Image.MAX_IMAGE_PIXELS '
                f'(now {Image.MAX_IMAGE_PIXELS}): shrink the image, or raise '
                'that limit before the dataset is built if the image is '
                'genuine')
    except (OSError, SyntaxError, ValueError) as error:
        # PIL reports a corrupt PNG chunk as SyntaxError.
        return str(error) or type(error).__name__
    return None


def check_listed_images(image_paths, list_file, image_check='verify'):
    """Raise unless ``list_file`` lists images and all of them exist and,
    depending on ``image_check``, can be read.

    Existence is checked by listing each image folder once instead of
    calling ``stat`` per image: a VTAB-1k test split has up to 74k images,
    and on a network file system one listing is much cheaper than thousands
    of ``stat`` calls.

    Args:
        image_check (str): ``'exists'``: existence only. ``'verify'``: also
            open each image with PIL and ``verify()`` it (reads the file
            without decoding the pixels: catches empty files, files that are
            no image, such as a saved error page, broken PNG chunks and
            images over PIL's decompression-bomb limit), and decode the
            JPEGs whose end marker is missing, which catches JPEGs cut
            short. ``'decode'``: also decode every image in full, which
            catches damage inside the pixel data of complete files too but
            costs a decode per image (seconds to minutes on the largest
            test splits).
    """
    if image_check not in IMAGE_CHECKS:
        raise ValueError(
            f'image_check must be one of {", ".join(IMAGE_CHECKS)}; got '
            f'{image_check!r}{close_matches(image_check, IMAGE_CHECKS)}.')
    if not image_paths:
        raise ValueError(f'{list_file} lists no images.')
    folder_contents = {}
    missing = []
    for path in image_paths:
        folder, name = osp.split(path)
        if folder not in folder_contents:
            folder_contents[folder] = set(
                os.listdir(folder)) if osp.isdir(folder) else set()
        if name not in folder_contents[folder]:
            missing.append(path)
    if missing:
        raise FileNotFoundError(
            f'{len(missing)} of the {len(image_paths)} images listed in '
            f'{list_file} do not exist: {_name_some(missing)}')
    if image_check == 'exists':
        return
    unreadable = []
    for path in image_paths:
        reason = _why_unreadable(path, decode=image_check == 'decode')
        if reason is not None:
            unreadable.append(f'{path} ({reason})')
    if unreadable:
        raise ValueError(
            f'{len(unreadable)} of the {len(image_paths)} images listed in '
            f'{list_file} cannot be read: {_name_some(unreadable)}')


def _name_some(items):
    named = ', '.join(items[:_MAX_NAMED])
    return named + (', ...' if len(items) > _MAX_NAMED else '')
