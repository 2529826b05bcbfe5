#!/usr/bin/python3
"""scikit-learn reference for the image benchmark (bench/fashion).

Reads a labelled image zip as mlgraph does (train/<label>/<file> and
test/<label>/<file>; rows in (split, label, name) order, as
internal/labelzip sorts them), takes the 8-bit gray pixels as features
(the images must already be SIZE x SIZE gray, as makezip writes them, so
the features equal internal/images' exactly), standardises them with
StandardScaler as mlgraph does for MLP and LOGISTIC_REGRESSION, fits each
model on the train rows and scores accuracy on the test rows. Prints JSON.

    /usr/bin/python3 bench/fashion/reference.py /tmp/fashion-mnist.zip > /tmp/fashion-sklearn.json
    /usr/bin/python3 bench/fashion/reference.py --models mlp_100,mlp_64_500,logistic \
        testdata/fashion_small.zip > bench/fashion/reference_small.json
"""
import argparse
import io
import json
import os
import platform
import sys
import time
import zipfile

import numpy as np
import sklearn
from PIL import Image
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

# Models by name; mlgraph's equivalent params are in bench/fashion/train.
MODELS = {
    # scikit-learn's defaults (one hidden layer of 100, at most 200 epochs).
    "mlp_100": lambda: MLPClassifier(hidden_layer_sizes=(100,), random_state=0),
    # The defaults with early stopping: 10% of the train rows held out.
    "mlp_100_es": lambda: MLPClassifier(hidden_layer_sizes=(100,), early_stopping=True, random_state=0),
    # bench/fashion/train's tuning candidates, with the same params.
    "mlp_256_es": lambda: MLPClassifier(hidden_layer_sizes=(256,), alpha=0.1, early_stopping=True, random_state=0),
    "mlp_256_es20": lambda: MLPClassifier(hidden_layer_sizes=(256,), alpha=0.1, early_stopping=True,
                                          n_iter_no_change=20, random_state=0),
    "mlp_512_es20": lambda: MLPClassifier(hidden_layer_sizes=(512,), alpha=0.1, early_stopping=True,
                                          n_iter_no_change=20, random_state=0),
    # testdata/reference/sklearn.json's MLP, for the small fixture.
    "mlp_64_500": lambda: MLPClassifier(hidden_layer_sizes=(64,), max_iter=500, random_state=0),
    "logistic": lambda: LogisticRegression(max_iter=1000, random_state=0),
}


def load(path, size):
    """Returns X (float64 pixels), y (labels) and split per row."""
    rows = []
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            parts = info.filename.split("/")
            if info.is_dir() or any(p.startswith(".") or p == "__MACOSX" for p in parts):
                continue
            if len(parts) != 3 or parts[0] not in ("train", "test"):
                sys.exit(f"{info.filename}: expected train|test/<label>/<file>")
            rows.append((parts[0], parts[1], parts[2], info.filename))
        rows.sort()
        X = np.empty((len(rows), size * size), dtype=np.float64)
        for i, (_, _, _, name) in enumerate(rows):
            img = Image.open(io.BytesIO(zf.read(name)))
            if img.mode != "L" or img.size != (size, size):
                sys.exit(f"{name}: {img.mode} {img.size}, want L ({size}, {size})")
            X[i] = np.asarray(img, dtype=np.float64).reshape(-1)
    y = np.array([r[1] for r in rows])
    split = np.array([r[0] for r in rows])
    return X, y, split


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("zip")
    ap.add_argument("--size", type=int, default=28)
    ap.add_argument("--models", default="mlp_100_es,mlp_100,logistic")
    args = ap.parse_args()

    t0 = time.perf_counter()
    X, y, split = load(args.zip, args.size)
    load_s = time.perf_counter() - t0
    train, test = split == "train", split == "test"
    out = {
        "about": "scikit-learn on the 8-bit gray pixels of the zip's images, standardised (StandardScaler); "
                 "fit on train/, accuracy on test/; fit_s is one fit's wall time.",
        "zip": os.path.basename(args.zip),
        "env": {
            "python": platform.python_version(),
            "sklearn": sklearn.__version__,
            "numpy": np.__version__,
            "cpus": os.cpu_count(),
        },
        "n_train": int(train.sum()),
        "n_test": int(test.sum()),
        "n_features": X.shape[1],
        "load_s": round(load_s, 3),
        "results": [],
    }
    for name in args.models.split(","):
        model = make_pipeline(StandardScaler(), MODELS[name]())
        t0 = time.perf_counter()
        model.fit(X[train], y[train])
        fit_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        acc = float((model.predict(X[test]) == y[test]).mean())
        predict_s = time.perf_counter() - t0
        est = model[-1]
        n_iter = int(np.max(est.n_iter_))
        max_iter = est.max_iter
        result = {
            "model": name,
            "spec": repr(model),
            "accuracy": acc,
            "fit_s": round(fit_s, 3),
            "predict_test_s": round(predict_s, 3),
            "n_iter": n_iter,
            "converged": n_iter < max_iter,
        }
        out["results"].append(result)
        print(f"{name}: accuracy {acc:.4f}, fit {fit_s:.1f}s, {n_iter} iterations", file=sys.stderr)
    json.dump(out, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
