"""Reference prediction server: a plain Flask + scikit-learn /predict.

At import time it trains make_pipeline(StandardScaler(), LogisticRegression())
on the iris CSV at $IRIS_CSV (default: testdata/iris.csv in the repo root).

Run from the repo root:

    gunicorn -w 2 -b 127.0.0.1:PORT --chdir bench/compare flask_app:app

Endpoints:

    POST /predict  {"instances": [[5.1, 3.5, 1.4, 0.2], ...]}
                   -> 200 {"predictions": ["setosa", ...]}
                   -> 400 {"error": "..."} for a malformed body
    GET  /healthz  -> 200 "ok"
"""

import csv
import os

import numpy as np
from flask import Flask, jsonify, request
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
IRIS_CSV = os.environ.get("IRIS_CSV", os.path.join(REPO_ROOT, "testdata", "iris.csv"))


def load_iris(path):
    """Reads the feature columns as floats and the `target` column as labels."""
    with open(path, newline="") as f:
        reader = csv.reader(f)
        header = [h.strip() for h in next(reader)]
        t = header.index("target")
        X, y = [], []
        for row in reader:
            if not row:
                continue
            X.append([float(v) for i, v in enumerate(row) if i != t])
            y.append(row[t].strip())
    return np.array(X), np.array(y)


X_train, y_train = load_iris(IRIS_CSV)
N_FEATURES = X_train.shape[1]
model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
model.fit(X_train, y_train)

app = Flask(__name__)


def bad_request(msg):
    return jsonify({"error": msg}), 400


@app.post("/predict")
def predict():
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or "instances" not in body:
        return bad_request('expected a JSON object {"instances": [[...], ...]}')
    instances = body["instances"]
    if not isinstance(instances, list) or not instances:
        return bad_request("instances must be a non-empty list of rows")
    for row in instances:
        if (not isinstance(row, list) or len(row) != N_FEATURES
                or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in row)):
            return bad_request("each instance must be a list of %d numbers" % N_FEATURES)
    X = np.array(instances, dtype=float)
    preds = model.predict(X)
    return jsonify({"predictions": preds.tolist()})


@app.get("/healthz")
def healthz():
    return "ok", 200, {"Content-Type": "text/plain"}
