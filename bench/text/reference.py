#!/usr/bin/python3
"""scikit-learn baseline for topic classification on testdata/fortunes.csv.

TfidfVectorizer with mlgraph's default TextOptions (lower-case, no stop
words, single words, at most 5000 terms, min_df=1, max_df=1.0, raw term
frequency, smooth idf, l2 norm), then MultinomialNB,
LogisticRegression (L2, lbfgs; multinomial for several classes) and
LinearSVC (squared hinge, one-vs-rest) as in MODELS,
fitted on the rows whose split is "train" and scored on the "test" rows.
fit_s is the median of 5 fits of the whole pipeline (vectorizer and model).

    /usr/bin/python3 bench/text/reference.py [testdata/fortunes.csv] > testdata/reference/fortunes.json
"""
import csv
import json
import os
import platform
import statistics
import sys
import time

import numpy as np
import sklearn
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.naive_bayes import MultinomialNB
from sklearn.svm import LinearSVC
from sklearn.pipeline import make_pipeline

# (mlgraph algorithm, its parameters, text options, the scikit-learn
# model). The defaults, and a less regularised setting of each: alpha=1
# smooths MultinomialNB so much on TF-IDF weights (a document's weights
# sum to about 3, against alpha for each of 5000 terms) that it predicts
# mostly the largest class.
#
# With the default 5000 terms, the cut falls among ~2200 terms seen twice:
# scikit-learn keeps an arbitrary 724 of them (numpy's unstable argsort),
# mlgraph the first in term order, so the vocabularies differ there. The
# minDf=2 rows keep every term seen in two documents or more (5941, below
# maxFeatures), the same vocabulary in both, for an exact comparison.
MODELS = [
    ("NAIVE_BAYES", {"kind": "multinomial"}, {}, lambda: MultinomialNB(alpha=1.0)),
    ("NAIVE_BAYES", {"kind": "multinomial", "alpha": 0.1}, {}, lambda: MultinomialNB(alpha=0.1)),
    ("LOGISTIC_REGRESSION", {}, {}, lambda: LogisticRegression(C=1.0, max_iter=1000)),
    ("LOGISTIC_REGRESSION", {"C": 10}, {}, lambda: LogisticRegression(C=10.0, max_iter=1000)),
    ("NAIVE_BAYES", {"kind": "multinomial", "alpha": 0.1}, {"minDf": 2, "maxFeatures": 20000},
     lambda: MultinomialNB(alpha=0.1)),
    ("LOGISTIC_REGRESSION", {"C": 10}, {"minDf": 2, "maxFeatures": 20000},
     lambda: LogisticRegression(C=10.0, max_iter=1000)),
    ("LINEAR_SVM", {}, {}, lambda: LinearSVC(C=1.0, random_state=0)),
    ("LINEAR_SVM", {}, {"minDf": 2, "maxFeatures": 20000}, lambda: LinearSVC(C=1.0, random_state=0)),
]


def vectorizer(text):
    return TfidfVectorizer(
        lowercase=True, stop_words=None, ngram_range=(1, 1), max_features=text.get("maxFeatures", 5000),
        min_df=text.get("minDf", 1), max_df=1.0, sublinear_tf=False, norm="l2", use_idf=True, smooth_idf=True,
    )


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "testdata/fortunes.csv"
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    # As mlgraph's CSV import: cells trimmed.
    train = [r for r in rows if r["split"] == "train"]
    test = [r for r in rows if r["split"] == "test"]
    x_train = [r["text"].strip() for r in train]
    y_train = [r["target"] for r in train]
    x_test = [r["text"].strip() for r in test]
    y_test = [r["target"] for r in test]
    results = []
    for name, params, text, make in MODELS:
        times = []
        for _ in range(5):
            pipe = make_pipeline(vectorizer(text), make())
            start = time.perf_counter()
            pipe.fit(x_train, y_train)
            times.append(time.perf_counter() - start)
        pred = pipe.predict(x_test)
        results.append({
            "model": name,
            "params": params,
            "text": text,
            "accuracy": accuracy_score(y_test, pred),
            "macro_f1": f1_score(y_test, pred, average="macro"),
            "fit_s": statistics.median(times),
            "vocabulary": len(pipe[0].vocabulary_),
        })
    # The one setting of each algorithm that end-to-end tests train through
    # the API (default text options), by name.
    chosen = {
        "naive_bayes": ("NAIVE_BAYES", {"kind": "multinomial", "alpha": 0.1}),
        "logistic_regression": ("LOGISTIC_REGRESSION", {"C": 10}),
        "linear_svm": ("LINEAR_SVM", {}),
    }
    models = {}
    for key, (name, params) in chosen.items():
        for r in results:
            if r["model"] == name and r["params"] == params and not r["text"]:
                models[key] = {k: r[k] for k in ("model", "params", "accuracy", "macro_f1", "fit_s")}
    out = {
        "about": "scikit-learn TfidfVectorizer (mlgraph's default TextOptions) + model on testdata/fortunes.csv: "
                 "fit on split=train rows, scored on split=test rows; fit_s is the median of 5 fits of vectorizer "
                 "and model. Made by bench/text/reference.py.",
        "env": {
            "python": platform.python_version(), "sklearn": sklearn.__version__, "numpy": np.__version__,
            "machine": platform.machine(), "cpus": os.cpu_count(),
        },
        "train_rows": len(train),
        "test_rows": len(test),
        "results": results,
        "models": models,
    }
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
