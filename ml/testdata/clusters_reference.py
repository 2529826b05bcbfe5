"""Writes clusters_reference.json: scikit-learn's silhouette_samples and
PCA(n_components=2) on a small fixture, which ml's TestClustersReference
checks silhouetteSamples and principalComponents against.

    /usr/bin/python3 ml/testdata/clusters_reference.py > ml/testdata/clusters_reference.json

(scikit-learn 1.2.1, numpy 1.24.2: Debian 12's python3-sklearn.)
"""
import json

import numpy as np
import sklearn
from sklearn.decomposition import PCA
from sklearn.metrics import silhouette_samples, silhouette_score

rng = np.random.default_rng(12)
centres = np.array([[0.0, 0.0, 0.0], [4.0, 1.0, -1.0], [1.0, 5.0, 2.0]])
x = np.vstack([c + rng.normal(scale=[1.0, 0.6, 0.3], size=(12, 3)) for c in centres])
x = np.vstack([x, [[10.0, -3.0, 4.0]]])  # a cluster of one row
labels = np.repeat([0, 1, 2], 12).tolist() + [3]
# Some rows in the wrong cluster, for negative coefficients.
labels[0], labels[13], labels[30] = 1, 2, 0
labels = np.array(labels)

pca = PCA(n_components=2).fit(x)
samples = silhouette_samples(x, labels)
print(json.dumps({
    "generator": "ml/testdata/clusters_reference.py",
    "sklearn": sklearn.__version__,
    "numpy": np.__version__,
    "x": x.tolist(),
    "labels": labels.tolist(),
    "silhouetteSamples": samples.tolist(),
    "clusterSilhouette": [float(samples[labels == c].mean()) for c in range(4)],
    "silhouetteScore": float(silhouette_score(x, labels)),
    "components": pca.components_.tolist(),
    "explainedVarianceRatio": pca.explained_variance_ratio_.tolist(),
    "projected": pca.transform(x).tolist(),
}))
