"""Readers of the point-cloud files the 3D benchmarks ship (HDF5 arrays and
Point-BERT's pickled caches) that fail before training, naming the file,
the key or entry and the value at fault and the layout expected. Shared by
the ScanObjectNN and ModelNet40 datasets."""
import pickle
from typing import NamedTuple

import numpy as np

H5_LAYOUT = ("expected the keys 'data', float point clouds of shape "
             "(N, P, 3), and 'label', N integer class ids of shape (N,) or "
             '(N, 1)')


class FewestPoints(NamedTuple):
    """The points of a dataset's smallest cloud, and where that count comes
    from (a file and key, or a setting), for the check that the model can
    sample its groups from every cloud (``check_dataset_fits_model``)."""
    num_points: int
    source: str


def fewest_points_of_files(files):
    """The :class:`FewestPoints` of clouds read from ``(path, points)``
    pairs, each ``points`` an (N, P, 3) array of a file's ``data`` key."""
    return min(FewestPoints(points.shape[1], f"{path}, key 'data'")
               for path, points in files)


def check_point_array(points, where, min_channels=3):
    """Raise unless ``points`` is a finite float array whose last axis holds
    at least ``min_channels`` values (x, y, z first)."""
    if not isinstance(points, np.ndarray) or points.dtype.kind != 'f':
        kind = points.dtype if isinstance(points, np.ndarray) \
            else type(points).__name__
        raise ValueError(f'{where} holds {kind} values; expected float '
                         'coordinates.')
    if points.ndim < 2 or points.shape[-1] < min_channels:
        raise ValueError(
            f'{where} has shape {points.shape}; expected points along the '
            f'second-to-last axis with at least {min_channels} values each.')
    finite = np.isfinite(points).reshape(-1, points.shape[-1]).all(axis=1)
    if not finite.all():
        first = int(np.flatnonzero(~finite)[0])
        raise ValueError(f'{where} holds a NaN or infinite value (point '
                         f'{first} of the flattened array).')


def check_labels(labels, num_classes, where):
    """Integer class ids in ``[0, num_classes)`` as an int64 array.

    Args:
        labels (np.ndarray): Any integer array; its values in order.
        where (str): The file and key or entry, for the error message.
    """
    if labels.dtype.kind not in 'iu':
        raise ValueError(f'{where} holds {labels.dtype} values; expected '
                         'integer class ids.')
    labels = labels.reshape(-1).astype(np.int64)
    outside = np.flatnonzero((labels < 0) | (labels >= num_classes))
    if outside.size:
        index = int(outside[0])
        raise ValueError(
            f'{where} holds the label {labels[index]} at index {index}, '
            f'outside [0, {num_classes}) ({num_classes} classes).')
    return labels


def read_h5_point_clouds(path, num_classes):
    """Read ``data`` (N, P, 3) and ``label`` (N,) or (N, 1) from an HDF5
    file, the layout of ScanObjectNN and of PointNet's ModelNet40 release.

    Returns:
        tuple[np.ndarray, np.ndarray]: float32 points (N, P, 3) and int64
        labels (N,).
    """
    import h5py
    try:
        h5_file = h5py.File(path, 'r')
    except OSError as error:
        raise ValueError(f'{path} is not a readable HDF5 file ({error}); '
                         f'{H5_LAYOUT}.') from None
    with h5_file:
        arrays = {}
        for key in ('data', 'label'):
            if not isinstance(h5_file.get(key), h5py.Dataset):
                raise ValueError(
                    f'{path} has no array under the key {key!r} (its keys: '
                    f'{", ".join(h5_file.keys()) or "none"}); {H5_LAYOUT}.')
            try:
                arrays[key] = h5_file[key][()]
            except OSError as error:
                # A damaged chunk fails only here, after the file opened.
                raise ValueError(f'{path}: the array under the key {key!r} '
                                 f'cannot be read ({error}).') from None
    points, labels = arrays['data'], arrays['label']
    if points.ndim != 3 or points.shape[2] != 3:
        raise ValueError(f"{path}: key 'data' has shape {points.shape}; "
                         f'{H5_LAYOUT}.')
    check_point_array(points, f"{path}: key 'data'")
    if labels.shape not in ((len(points), ), (len(points), 1)):
        raise ValueError(
            f"{path}: key 'label' has shape {labels.shape}, but 'data' holds "
            f'{len(points)} clouds; {H5_LAYOUT}.')
    labels = check_labels(labels, num_classes, f"{path}: key 'label'")
    return points.astype(np.float32, copy=False), labels


def cloud_list(points, labels):
    """The datasets' samples: ``dict(points=(P, C) float32, gt_label=int)``
    per cloud."""
    return [
        dict(points=np.ascontiguousarray(cloud, dtype=np.float32),
             gt_label=int(label)) for cloud, label in zip(points, labels)
    ]


def _numpy_pickle_globals():
    """The globals a pickle of numpy arrays and scalars names, by the
    module paths of NumPy 1 (``numpy.core``) and NumPy 2
    (``numpy._core``), which write them under different names."""
    reconstructors = (
        np.zeros(1).__reduce__()[0],  # _reconstruct, protocols 0 to 4
        np.zeros(1).__reduce_ex__(5)[0],  # _frombuffer, protocol 5
        np.float32(0).__reduce__()[0],  # scalar
    )
    allowed = {('numpy', 'ndarray'): np.ndarray, ('numpy', 'dtype'): np.dtype}
    for function in reconstructors:
        submodule = function.__module__.rsplit('.', 1)[-1]
        for package in ('numpy.core', 'numpy._core'):
            allowed[(f'{package}.{submodule}', function.__name__)] = function
    # Protocol 2 stores bytes as _codecs.encode(text, 'latin1').
    import codecs
    allowed[('_codecs', 'encode')] = codecs.encode
    allowed[('builtins', 'list')] = list
    allowed[('builtins', 'tuple')] = tuple
    return allowed


class ForbiddenGlobalError(pickle.UnpicklingError):
    """A pickle named a global that :class:`NumpyOnlyUnpickler` refuses."""


class NumpyOnlyUnpickler(pickle.Unpickler):
    """An unpickler that rebuilds numpy arrays, dtypes, scalars, lists and
    tuples and refuses every other global, so a pickle cannot run code
    (``os.system``, ``eval``, ...) when it is loaded."""

    ALLOWED_GLOBALS = _numpy_pickle_globals()

    def __init__(self, file, path):
        super().__init__(file)
        self.path = path

    def find_class(self, module, name):
        try:
            return self.ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise ForbiddenGlobalError(
                f'{self.path} asks to load the global {module}.{name}; only '
                'numpy arrays, lists and tuples may be unpickled from it, so '
                'it is refused (a pickle can run any code it names).'
            ) from None


def load_numpy_pickle(path):
    """Unpickle ``path`` with :class:`NumpyOnlyUnpickler`.

    Raises:
        ForbiddenGlobalError: the file names a global other than numpy's
            array reconstruction, with the file and the global.
        ValueError: the file is not a (complete) pickle.
    """
    with open(path, 'rb') as file:
        try:
            return NumpyOnlyUnpickler(file, path).load()
        except ForbiddenGlobalError:
            raise
        except (pickle.UnpicklingError, EOFError, TypeError, AttributeError,
                ValueError, IndexError, KeyError) as error:
            raise ValueError(f'{path} is not a valid pickle of numpy arrays '
                             f'({type(error).__name__}: {error}).') from None
