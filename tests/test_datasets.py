"""reference.datasets: the IDX reader and load_mnist on small IDX files written here (plain and gzip),
corrupt files with errors naming the file and the fault, and the digits split."""
from __future__ import annotations

import gzip

import numpy as np
import pytest

from reference.datasets import IdxFormatError, MNIST_FILES, load_digits_split, load_mnist, read_idx, write_idx


def _write_mnist(tmp_path, n_train=5, n_test=3, h=4, w=3, gz=False, seed=0):
    rng = np.random.default_rng(seed)
    data = {
        "train_img": rng.integers(0, 256, size=(n_train, h, w), dtype=np.uint8),
        "train_label": rng.integers(0, 10, size=n_train, dtype=np.uint8),
        "test_img": rng.integers(0, 256, size=(n_test, h, w), dtype=np.uint8),
        "test_label": rng.integers(0, 10, size=n_test, dtype=np.uint8),
    }
    for key, arr in data.items():
        write_idx(tmp_path / (MNIST_FILES[key] + (".gz" if gz else "")), arr)
    return data


def test_header_bytes_are_the_standard_ones(tmp_path):
    p = write_idx(tmp_path / "img", np.zeros((2, 28, 28), np.uint8))
    raw = p.read_bytes()
    assert int.from_bytes(raw[:4], "big") == 2051
    assert [int.from_bytes(raw[i:i + 4], "big") for i in (4, 8, 12)] == [2, 28, 28]
    assert len(raw) == 16 + 2 * 28 * 28
    p = write_idx(tmp_path / "lab", np.zeros(7, np.uint8))
    assert int.from_bytes(p.read_bytes()[:4], "big") == 2049


@pytest.mark.parametrize("gz", [False, True])
def test_load_mnist_options(tmp_path, gz):
    data = _write_mnist(tmp_path, gz=gz)
    (x, t), (xt, tt) = load_mnist(tmp_path)
    assert x.shape == (5, 12) and x.dtype == np.float32 and xt.shape == (3, 12)
    np.testing.assert_array_equal(x, data["train_img"].reshape(5, -1).astype(np.float32) / 255)
    assert 0.0 <= x.min() and x.max() <= 1.0
    np.testing.assert_array_equal(t, data["train_label"])
    np.testing.assert_array_equal(tt, data["test_label"])

    (x, t), _ = load_mnist(tmp_path, normalize=False, flatten=False, one_hot_label=True)
    assert x.dtype == np.uint8 and x.shape == (5, 1, 4, 3)
    np.testing.assert_array_equal(x[:, 0], data["train_img"])
    assert t.shape == (5, 10) and np.all(t.sum(axis=1) == 1)
    np.testing.assert_array_equal(t.argmax(axis=1), data["train_label"])


def test_read_idx_round_trips_other_types(tmp_path):
    for arr in (np.arange(-3, 3, dtype=np.int16).reshape(2, 3), np.linspace(0, 1, 4).astype(np.float32)):
        back = read_idx(write_idx(tmp_path / "a.gz", arr))
        assert back.dtype == arr.dtype and back.dtype.isnative
        np.testing.assert_array_equal(back, arr)


def test_truncated_image_file_names_the_file_and_the_fault(tmp_path):
    _write_mnist(tmp_path)
    path = tmp_path / MNIST_FILES["train_img"]
    path.write_bytes(path.read_bytes()[:-7])
    with pytest.raises(IdxFormatError) as e:
        load_mnist(tmp_path)
    msg = str(e.value)
    assert str(path) in msg and "truncated data" in msg and "(5, 4, 3)" in msg and "53" in msg


def test_truncated_gzip_stream(tmp_path):
    _write_mnist(tmp_path, gz=True)
    path = tmp_path / (MNIST_FILES["test_label"] + ".gz")
    path.write_bytes(path.read_bytes()[:15])
    with pytest.raises(IdxFormatError, match=str(path).replace(".", r"\.")):
        load_mnist(tmp_path)


def test_not_gzip_at_all(tmp_path):
    _write_mnist(tmp_path)
    bad = tmp_path / (MNIST_FILES["train_img"] + ".gz")
    (tmp_path / MNIST_FILES["train_img"]).rename(bad)  # plain bytes under a .gz name
    with pytest.raises(IdxFormatError, match="cannot decompress"):
        load_mnist(tmp_path)


def test_truncated_header(tmp_path):
    _write_mnist(tmp_path)
    path = tmp_path / MNIST_FILES["train_label"]
    path.write_bytes(path.read_bytes()[:6])
    with pytest.raises(IdxFormatError, match="truncated header"):
        load_mnist(tmp_path)
    path.write_bytes(b"\x00\x00")
    with pytest.raises(IdxFormatError, match="truncated header"):
        load_mnist(tmp_path)


def test_swapped_files_give_bad_magic(tmp_path):
    _write_mnist(tmp_path)
    img, lab = tmp_path / MNIST_FILES["train_img"], tmp_path / MNIST_FILES["train_label"]
    img_bytes = img.read_bytes()
    img.write_bytes(lab.read_bytes())
    with pytest.raises(IdxFormatError) as e:
        load_mnist(tmp_path)
    assert str(img) in str(e.value) and "bad magic number 2049" in str(e.value) and "expected 2051" in str(e.value)
    img.write_bytes(b"PK\x03\x04" + img_bytes[4:])
    with pytest.raises(IdxFormatError, match="bad magic number"):
        read_idx(img)


def test_trailing_data_label_count_and_range(tmp_path):
    data = _write_mnist(tmp_path)
    lab = tmp_path / MNIST_FILES["train_label"]
    lab.write_bytes(lab.read_bytes() + b"\x01")
    with pytest.raises(IdxFormatError, match="trailing data"):
        load_mnist(tmp_path)
    write_idx(lab, data["train_label"][:4])
    with pytest.raises(IdxFormatError, match="4 labels for 5 images"):
        load_mnist(tmp_path)
    write_idx(lab, np.array([0, 1, 2, 3, 12], np.uint8))
    with pytest.raises(IdxFormatError, match="label 12 out of range"):
        load_mnist(tmp_path)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte"):
        load_mnist(tmp_path)


def test_digits_split_is_fixed_by_its_seed():
    (x, t), (xt, tt) = load_digits_split(seed=0)
    assert x.shape[1] == 64 and len(x) + len(xt) == 1797 and len(xt) == 360
    assert x.min() >= 0.0 and x.max() <= 1.0 and x.max() == 1.0
    (x2, _), (xt2, tt2) = load_digits_split(seed=0)
    np.testing.assert_array_equal(xt, xt2)
    np.testing.assert_array_equal(tt, tt2)
    (_, _), (xt3, _) = load_digits_split(seed=1)
    assert not np.array_equal(xt, xt3)
    assert set(np.unique(tt)) == set(range(10))
    _, (_, oh) = load_digits_split(seed=0, one_hot_label=True)
    np.testing.assert_array_equal(oh.argmax(axis=1), tt)
