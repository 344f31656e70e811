"""Data for the seeds' experiments: an MNIST loader for the standard IDX files (the book's `load_mnist`,
without the download) and scikit-learn's 8x8 digits split the same way.

IDX format (http://yann.lecun.com/exdb/mnist/): a big-endian header, then the data, row-major:

    bytes 0-1  zero
    byte  2    element type: 0x08 unsigned byte (MNIST's only type), 0x09 signed byte, 0x0B int16,
               0x0C int32, 0x0D float32, 0x0E float64
    byte  3    number of dimensions
    then one big-endian uint32 per dimension, then prod(dims) elements (big-endian).

So the MNIST magic numbers read as one big-endian uint32 are 2051 (0x00000803: ubyte, 3 dims) for
images and 2049 (0x00000801: ubyte, 1 dim) for labels. Every file may be gzip-compressed (`.gz`).
"""
from __future__ import annotations

import gzip
import os
import struct
from pathlib import Path

import numpy as np

__all__ = ["IdxFormatError", "read_idx", "write_idx", "load_mnist", "MNIST_FILES", "load_digits_split"]

IMAGES_MAGIC = 2051
LABELS_MAGIC = 2049

MNIST_FILES = {
    "train_img": "train-images-idx3-ubyte",
    "train_label": "train-labels-idx1-ubyte",
    "test_img": "t10k-images-idx3-ubyte",
    "test_label": "t10k-labels-idx1-ubyte",
}

_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


class IdxFormatError(ValueError):
    """A file that is not a well-formed IDX file (or not the kind expected); the message names the file."""


def _read_bytes(path: Path) -> bytes:
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as f:
                return f.read()
        return path.read_bytes()
    except (OSError, EOFError) as e:  # gzip.BadGzipFile is an OSError; a cut gzip stream is an EOFError
        if isinstance(e, FileNotFoundError):
            raise
        raise IdxFormatError(f"{path}: cannot decompress/read: {e}") from e


def read_idx(path: str | os.PathLike, expect_magic: int | None = None) -> np.ndarray:
    """Read one IDX file (gzip if the name ends in .gz) into an array of its native shape.

    Raises IdxFormatError, naming the file, for a short header, an unknown type byte, a magic number
    other than `expect_magic`, or a data section shorter or longer than the header's dimensions say.
    """
    path = Path(path)
    raw = _read_bytes(path)
    if len(raw) < 4:
        raise IdxFormatError(f"{path}: truncated header: {len(raw)} bytes, an IDX file starts with 4 magic bytes")
    magic = struct.unpack(">I", raw[:4])[0]
    zero, type_code, ndim = struct.unpack(">HBB", raw[:4])
    if expect_magic is not None and magic != expect_magic:
        raise IdxFormatError(f"{path}: bad magic number {magic} (0x{magic:08x}), expected {expect_magic} "
                             f"(0x{expect_magic:08x})")
    if zero != 0 or type_code not in _IDX_TYPES:
        raise IdxFormatError(f"{path}: bad magic number {magic} (0x{magic:08x}): not an IDX file")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise IdxFormatError(f"{path}: truncated header: {len(raw)} bytes, {ndim} dimensions need {header}")
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    dtype = np.dtype(_IDX_TYPES[type_code])
    expected = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    got = len(raw) - header
    if got != expected:
        what = "truncated data" if got < expected else "trailing data"
        raise IdxFormatError(f"{path}: {what}: header says dims {tuple(dims)} = {expected} bytes of "
                             f"{dtype.name}, found {got}")
    arr = np.frombuffer(raw, dtype=dtype, offset=header).reshape(dims)
    return arr.astype(dtype.newbyteorder("="))


def write_idx(path: str | os.PathLike, arr: np.ndarray) -> Path:
    """Write `arr` as an IDX file (gzip if the name ends in .gz); the inverse of `read_idx`."""
    path = Path(path)
    arr = np.asarray(arr)
    codes = {np.dtype(v).newbyteorder("="): k for k, v in _IDX_TYPES.items()}
    code = codes.get(arr.dtype.newbyteorder("="))
    if code is None:
        raise ValueError(f"IDX has no element type for {arr.dtype}")
    data = struct.pack(f">HBB{arr.ndim}I", 0, code, arr.ndim, *arr.shape)
    data += arr.astype(_IDX_TYPES[code]).tobytes()
    if path.suffix == ".gz":
        with gzip.open(path, "wb") as f:
            f.write(data)
    else:
        path.write_bytes(data)
    return path


def _find(directory: Path, stem: str) -> Path:
    for name in (stem, stem + ".gz"):
        if (directory / name).exists():
            return directory / name
    raise FileNotFoundError(f"{directory}: neither {stem} nor {stem}.gz found (MNIST IDX files expected)")


def _one_hot(labels: np.ndarray, num_classes: int = 10) -> np.ndarray:
    out = np.zeros((labels.size, num_classes), dtype=np.float32)
    out[np.arange(labels.size), labels] = 1
    return out


def load_mnist(directory: str | os.PathLike, normalize: bool = True, flatten: bool = True,
               one_hot_label: bool = False):
    """((x_train, t_train), (x_test, t_test)) from the four MNIST IDX files in `directory`, each
    optionally gzip-compressed, like the book's `dataset.mnist.load_mnist` (which downloads them; this
    one only reads).

    normalize: images as float32 in [0, 1] (pixel / 255), else uint8 0..255.
    flatten: images as (N, 784) rows, else (N, 1, 28, 28) as the book's CNN chapters use.
    one_hot_label: labels as float32 one-hot rows (N, 10), else uint8 class indices (N,).

    The files are checked: magic numbers 2051 (images, 3 dims) and 2049 (labels, 1 dim), data length
    equal to what the header says, as many labels as images, labels in 0..9. Image size is whatever the
    header says (28 x 28 for MNIST), so small synthetic files work too.
    """
    directory = Path(directory)
    out = []
    for part in ("train", "test"):
        img_path = _find(directory, MNIST_FILES[f"{part}_img"])
        lab_path = _find(directory, MNIST_FILES[f"{part}_label"])
        images = read_idx(img_path, expect_magic=IMAGES_MAGIC)
        labels = read_idx(lab_path, expect_magic=LABELS_MAGIC)
        if images.shape[0] != labels.shape[0]:
            raise IdxFormatError(f"{lab_path}: {labels.shape[0]} labels for {images.shape[0]} images in {img_path}")
        if labels.size and labels.max() > 9:
            raise IdxFormatError(f"{lab_path}: label {int(labels.max())} out of range 0..9")
        x = images.astype(np.float32) / 255.0 if normalize else images
        x = x.reshape(x.shape[0], -1) if flatten else x.reshape(x.shape[0], 1, *x.shape[1:])
        t = _one_hot(labels) if one_hot_label else labels
        out.append((x, t))
    return tuple(out)


def load_digits_split(seed: int = 0, test_size: float = 0.2, one_hot_label: bool = False):
    """scikit-learn's 8x8 digits (1797 images) as float64 rows in [0, 1] (pixel / 16), split into
    ((x_train, t_train), (x_test, t_test)) by a stratified shuffle with `seed` (same seed, same split)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = digits.data.astype(np.float64) / 16.0
    t = digits.target.astype(np.int64)
    x_tr, x_te, t_tr, t_te = train_test_split(x, t, test_size=test_size, random_state=seed, stratify=t)
    if one_hot_label:
        t_tr, t_te = _one_hot(t_tr).astype(np.float64), _one_hot(t_te).astype(np.float64)
    return (x_tr, t_tr), (x_te, t_te)
