"""Real data sets in tlsweep's input format: an HDF5 file with a float32
dataset X (n, dim) and an int32 dataset y (n), plus the attribute
image_shape. Each data set is split at random (fixed seed) into two
disjoint halves, written as NAME_source.h5 and NAME_target.h5, so that
source and target hold different images of the same classes; the sweep's
shift then rotates the target images (data.image_shape).

    python3 -m analysis.datasets digits          # scikit-learn's bundled 8x8 digits (Debian python3-sklearn)
    python3 -m analysis.datasets fashion-mnist   # 28x28, from Debian's dataset-fashion-mnist package
    python3 -m analysis.datasets digits -o data/  # output directory (default data/)

Pixels are scaled to [0, 1].
"""
import argparse
import gzip
import os
import sys

import h5py
import numpy as np

FASHION_DIR = "/usr/share/datasets/fashion-mnist"


def digits():
    from sklearn.datasets import load_digits
    d = load_digits()
    return d.data.astype(np.float32) / 16.0, d.target.astype(np.int32), (8, 8), \
        "scikit-learn load_digits (UCI optical recognition of handwritten digits), pixels / 16"


def _idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    magic = int.from_bytes(raw[:4], "big")
    ndim = magic & 0xFF
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def fashion_mnist():
    files = ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
             "t10k-labels-idx1-ubyte.gz"]
    missing = [f for f in files if not os.path.exists(os.path.join(FASHION_DIR, f))]
    if missing:
        raise SystemExit(f"analysis.datasets: {FASHION_DIR} lacks {', '.join(missing)}; install Debian's "
                         "dataset-fashion-mnist package (apt-get install dataset-fashion-mnist)")
    xa, ya, xb, yb = (_idx(os.path.join(FASHION_DIR, f)) for f in files)
    X = np.concatenate([xa, xb]).reshape(-1, 28 * 28).astype(np.float32) / 255.0
    y = np.concatenate([ya, yb]).astype(np.int32)
    return X, y, (28, 28), "Fashion-MNIST (Debian dataset-fashion-mnist), train + t10k, pixels / 255"


SETS = {"digits": digits, "fashion-mnist": fashion_mnist}


def write_halves(name, X, y, shape, origin, out, seed=0):
    """Splits (X, y) at random into disjoint source and target halves."""
    order = np.random.default_rng(seed).permutation(len(y))
    half = len(y) // 2
    os.makedirs(out, exist_ok=True)
    paths = []
    for part, idx in (("source", np.sort(order[:half])), ("target", np.sort(order[half:]))):
        path = os.path.join(out, f"{name}_{part}.h5")
        with h5py.File(path, "w") as f:
            f.create_dataset("X", data=X[idx], dtype=np.float32)
            f.create_dataset("y", data=y[idx], dtype=np.int32)
            f.attrs["image_shape"] = np.array(shape, dtype=np.int32)
            f.attrs["origin"] = origin
            f.attrs["half"] = f"{part}: {len(idx)} of {len(y)} points, split with numpy seed {seed}"
        paths.append(path)
    return paths


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python3 -m analysis.datasets", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("name", choices=sorted(SETS))
    ap.add_argument("-o", "--out", default="data")
    a = ap.parse_args(argv)
    X, y, shape, origin = SETS[a.name]()
    for p in write_halves(a.name, X, y, shape, origin, a.out):
        with h5py.File(p, "r") as f:
            print(f"{p}: X {f['X'].shape}, y {f['y'].shape}, {len(np.unique(f['y'][()]))} classes, "
                  f"image_shape {tuple(f.attrs['image_shape'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
