"""scikit-learn reference timings for the bench/compare harness.

Times, on the data files the Go harness generates into a work dir:

* import: ``numpy.loadtxt`` of ``import_1m.csv`` (whole file, target included)
  in a fresh child process, with that process's peak resident memory;
* fits: for each entry of ``specs.json``, ``estimator.fit(X, y)`` with the
  scikit-learn estimator the entry names (median of ``--runs`` runs).

Usage (from the repo root):

    /usr/bin/python3 bench/compare/reference.py --dir WORKDIR \\
        [--specs bench/compare/specs.json] [--runs 3] [--only NAME,NAME] \\
        [--skip-import] [--skip-fits] [--score-rows 20000]

One JSON object goes to stdout; progress goes to stderr. If the interpreter
that runs this script has no scikit-learn (e.g. a pyenv python3 shadowing the
system one) the script re-executes itself with /usr/bin/python3.
"""

import argparse
import csv
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
import traceback
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
SYSTEM_PYTHON = "/usr/bin/python3"
IMPORT_FILE = "import_1m.csv"
N_FEATURES = 20
SINGLE_RUN_OVER_S = 30.0  # a run longer than this is not repeated


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------
# import: runs in a child process so that its peak memory is the load's own
# --------------------------------------------------------------------------

def _vm_hwm_kib():
    """Peak RSS of this process's address space (VmHWM), or None."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def import_child(path):
    """Child mode: load the file with numpy.loadtxt and print a JSON report.

    ru_maxrss is kept across fork+exec on Linux, so it can report the parent's
    peak instead of ours; VmHWM belongs to this address space only, so it is
    the figure used when available (both are reported).
    """
    import numpy as np

    base_kib = _vm_hwm_kib()
    t0 = time.perf_counter()
    arr = np.loadtxt(path, delimiter=",", skiprows=1)
    seconds = time.perf_counter() - t0
    ru_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    hwm_kib = _vm_hwm_kib()
    rows, cols = arr.shape
    out = {
        "rows": rows,
        "cols": cols,
        "seconds": seconds,
        "ru_maxrss_mb": ru_kib * 1024 / 1e6,
        "vm_hwm_mb": hwm_kib * 1024 / 1e6 if hwm_kib is not None else None,
        "baseline_rss_mb": base_kib * 1024 / 1e6 if base_kib is not None else None,
    }
    print(json.dumps(out))


def run_import(workdir):
    path = os.path.join(workdir, IMPORT_FILE)
    if not os.path.exists(path):
        return {"file": IMPORT_FILE, "error": "missing file: %s" % path}
    log("import: loading %s in a child process" % path)
    proc = subprocess.run(
        [sys.executable, os.path.abspath(__file__), "--import-child", path],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        return {"file": IMPORT_FILE,
                "error": "child exited %d: %s" % (proc.returncode, proc.stderr.strip()[-2000:])}
    child = json.loads(proc.stdout.strip().splitlines()[-1])
    use_hwm = child["vm_hwm_mb"] is not None
    res = {
        "file": IMPORT_FILE,
        "rows": child["rows"],
        "cols": child["cols"],
        "seconds": round(child["seconds"], 4),
        "peak_rss_mb": round(child["vm_hwm_mb"] if use_hwm else child["ru_maxrss_mb"], 1),
        "rss_source": "VmHWM" if use_hwm else "ru_maxrss",
        "ru_maxrss_mb": round(child["ru_maxrss_mb"], 1),
        "baseline_rss_mb": (round(child["baseline_rss_mb"], 1)
                            if child["baseline_rss_mb"] is not None else None),
        "float64_mb": round(child["rows"] * child["cols"] * 8 / 1e6, 1),
    }
    log("import: %d rows in %.2f s, peak RSS %.0f MB" %
        (res["rows"], res["seconds"], res["peak_rss_mb"]))
    return res


# --------------------------------------------------------------------------
# fits
# --------------------------------------------------------------------------

def sklearn_namespace():
    """The names a spec's "sklearn" expression may use."""
    from sklearn.cluster import KMeans
    from sklearn.ensemble import (GradientBoostingClassifier, GradientBoostingRegressor,
                                  RandomForestClassifier, RandomForestRegressor)
    from sklearn.linear_model import (ElasticNet, Lasso, LinearRegression,
                                      LogisticRegression, Ridge)
    from sklearn.naive_bayes import GaussianNB
    from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC, LinearSVC
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    return dict(locals())


class DataCache:
    """Parses each data file at most once; parts are loaded on demand.

    For a file, X is the 20 feature columns (float64), y_float the target as
    float (regression), y_str the target as str labels (classification).
    """

    def __init__(self, workdir):
        self.workdir = workdir
        self.files = {}

    def _columns(self, path):
        with open(path, newline="") as f:
            header = next(csv.reader(f))
        header = [h.strip() for h in header]
        if "target" not in header:
            raise ValueError("%s: no 'target' column in header" % path)
        t = header.index("target")
        feats = [i for i in range(len(header)) if i != t]
        if len(feats) != N_FEATURES:
            log("note: %s has %d feature columns" % (path, len(feats)))
        return feats, t

    def get(self, name, target_kind):
        """Returns (X, y) with y None for target_kind "none"."""
        import numpy as np

        entry = self.files.setdefault(name, {})
        path = os.path.join(self.workdir, name)
        if "cols" not in entry:
            if not os.path.exists(path):
                raise FileNotFoundError("missing file: %s" % path)
            entry["cols"] = self._columns(path)
        feats, t = entry["cols"]
        t0 = time.perf_counter()
        loaded = False
        if target_kind == "float" and "y_float" not in entry:
            # One pass for features and target together.
            full = np.loadtxt(path, delimiter=",", skiprows=1)
            entry.setdefault("X", np.ascontiguousarray(full[:, feats]))
            entry["y_float"] = np.ascontiguousarray(full[:, t])
            del full
            loaded = True
        if "X" not in entry:
            entry["X"] = np.loadtxt(path, delimiter=",", skiprows=1, usecols=feats)
            loaded = True
        if target_kind == "str" and "y_str" not in entry:
            # The csv module is robust for string labels and fast enough here.
            with open(path, newline="") as f:
                reader = csv.reader(f)
                next(reader)
                entry["y_str"] = np.array([row[t].strip() for row in reader if row])
            loaded = True
        if loaded:
            log("  parsed %s (%d rows) in %.1f s" %
                (name, entry["X"].shape[0], time.perf_counter() - t0))
        y = {"float": entry.get("y_float"), "str": entry.get("y_str"), "none": None}[target_kind]
        return entry["X"], y

    def drop(self, name):
        self.files.pop(name, None)


def fit_spec(spec, cache, ns, runs, score_rows):
    """Times one spec; returns its result dict (raises on failure)."""
    from sklearn.exceptions import ConvergenceWarning

    task = spec["task"].upper()
    kind = {"REGRESSION": "float", "CLASSIFICATION": "str", "CLUSTERING": "none"}.get(task)
    if kind is None:
        raise ValueError("unknown task %r" % spec["task"])
    X, y = cache.get(spec["file"], kind)
    n = spec.get("rows")
    if n:
        X = X[:n]
        y = y[:n] if y is not None else None
    expr = spec["sklearn"]

    times = []
    converged = True
    est = None
    for i in range(max(1, runs)):
        est = eval(expr, ns)  # fresh estimator each run
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            t0 = time.perf_counter()
            if y is None:
                est.fit(X)
            else:
                est.fit(X, y)
            dt = time.perf_counter() - t0
        times.append(dt)
        for w in caught:
            if issubclass(w.category, ConvergenceWarning):
                converged = False
            else:
                log("  warning: %s" % str(w.message).splitlines()[0])
        log("  run %d: %.3f s" % (i + 1, dt))
        if dt > SINGLE_RUN_OVER_S:
            break
    if not converged:
        log("  (ConvergenceWarning raised)")

    res = {
        "fit_s": round(statistics.median(times), 4),
        "runs": [round(t, 4) for t in times],
        "rows": int(X.shape[0]),
        "features": int(X.shape[1]),
        "spec": expr,
        "converged": converged,
    }
    # Sanity figure on the fitted model, on at most score_rows training rows
    # (scoring KNN on all 200k training rows would dwarf the fit itself).
    m = X.shape[0] if score_rows <= 0 else min(score_rows, X.shape[0])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if y is None:
                res["train_score"] = float(est.score(X[:m]))  # KMeans: -inertia
            else:
                res["train_score"] = float(est.score(X[:m], y[:m]))
        res["score_rows"] = int(m)
    except Exception as e:  # the timing is still good
        res["score_error"] = "%s: %s" % (type(e).__name__, e)
    return res


def run_fits(workdir, specs, runs, score_rows):
    ns = sklearn_namespace()
    cache = DataCache(workdir)
    # Last spec index that uses each file, to free parsed data after it.
    last_use = {s["file"]: i for i, s in enumerate(specs)}
    results = {}
    for i, spec in enumerate(specs):
        name = spec.get("name", "spec%d" % i)
        log("fit %s: %s on %s%s" % (name, spec.get("sklearn"), spec.get("file"),
                                     " (first %d rows)" % spec["rows"] if spec.get("rows") else ""))
        try:
            results[name] = fit_spec(spec, cache, ns, runs, score_rows)
            log("  -> fit_s %.3f, train_score %s" %
                (results[name]["fit_s"], results[name].get("train_score")))
        except Exception as e:
            results[name] = {"error": "%s: %s" % (type(e).__name__, e),
                             "spec": spec.get("sklearn")}
            log("  FAILED: %s" % results[name]["error"])
            log(traceback.format_exc().rstrip())
        if last_use.get(spec.get("file")) == i:
            cache.drop(spec.get("file"))
    return results


# --------------------------------------------------------------------------

def env_info():
    import numpy
    import sklearn

    info = {
        "python": platform.python_version(),
        "executable": sys.executable,
        "sklearn": sklearn.__version__,
        "numpy": numpy.__version__,
        "cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "machine": platform.machine(),
        "platform": platform.platform(),
        # 1/5/15-minute load: other work on the machine skews the timings
        # (OpenMP threads in KMeans and the like slow down badly under it).
        "loadavg": [round(x, 2) for x in os.getloadavg()],
    }
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu_model"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:  # BLAS / OpenMP libraries and their thread counts
        from threadpoolctl import threadpool_info
        info["threadpools"] = [
            {k: p.get(k) for k in ("user_api", "internal_api", "num_threads")}
            for p in threadpool_info()]
    except Exception:
        pass
    return info


def ensure_sklearn():
    """Re-exec with the system python if this interpreter lacks scikit-learn."""
    import importlib.util

    # find_spec, not import: this process should stay small until the
    # import child has run.
    if importlib.util.find_spec("sklearn") is not None:
        return
    if (os.path.exists(SYSTEM_PYTHON)
            and os.path.realpath(sys.executable) != os.path.realpath(SYSTEM_PYTHON)
            and not os.environ.get("REFERENCE_PY_REEXEC")):
        log("no scikit-learn in %s; re-running with %s" % (sys.executable, SYSTEM_PYTHON))
        os.environ["REFERENCE_PY_REEXEC"] = "1"
        os.execv(SYSTEM_PYTHON, [SYSTEM_PYTHON, os.path.abspath(__file__)] + sys.argv[1:])
    sys.exit("scikit-learn is not installed (apt-get install python3-sklearn)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dir", help="work dir holding the generated CSV files")
    ap.add_argument("--specs", default=os.path.join(HERE, "specs.json"))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--only", default="", help="comma-separated spec names")
    ap.add_argument("--skip-import", action="store_true")
    ap.add_argument("--skip-fits", action="store_true")
    ap.add_argument("--score-rows", type=int, default=20000,
                    help="rows used for train_score (0: all)")
    ap.add_argument("--import-child", metavar="PATH", help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.import_child:
        import_child(args.import_child)
        return
    if not args.dir:
        ap.error("--dir is required")
    ensure_sklearn()

    # Anything a library prints must not corrupt the JSON on stdout.
    real_stdout = sys.stdout
    sys.stdout = sys.stderr

    out = {}
    # The import child runs first, while this process is still small.
    if not args.skip_import:
        try:
            out["import"] = run_import(args.dir)
        except Exception as e:
            out["import"] = {"file": IMPORT_FILE, "error": "%s: %s" % (type(e).__name__, e)}
    out["env"] = env_info()

    if not args.skip_fits:
        with open(args.specs) as f:
            specs = json.load(f)["fits"]
        only = [s.strip() for s in args.only.split(",") if s.strip()]
        if only:
            unknown = sorted(set(only) - {s["name"] for s in specs})
            if unknown:
                log("warning: unknown spec names: %s" % ", ".join(unknown))
            specs = [s for s in specs if s["name"] in only]
        out["fits"] = run_fits(args.dir, specs, args.runs, args.score_rows)

    # Key order: env, import, fits.
    ordered = {k: out[k] for k in ("env", "import", "fits") if k in out}
    real_stdout.write(json.dumps(ordered, indent=2) + "\n")
    real_stdout.flush()


if __name__ == "__main__":
    main()
