"""Issue 14, item 6: property-based fuzzing of the generic-format loader, every estimator and
every metric. Random shapes, dtypes, NaN/inf, huge and tiny magnitudes, constant and duplicate
columns, single-member classes, empty and one-row inputs, truncated and corrupted files: the only
allowed outcomes are a correct result or the project's own error (:class:`UserError`) with a
message; never a hang (each example has a deadline), a NaN embedding, or an exception from inside
a dependency.

The number of examples is fixed per test (about 1,500 in all), with a fixed seed (derandomised),
so a CI run is reproducible and bounded in time.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from paper_lib.errors import UserError
from paper_lib.experiment.evaluate import build_estimator
from paper_lib.methods.registry import METHODS
from paper_lib.metrics import retrieval

FUZZ = settings(derandomize=True, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])

# -- values ---------------------------------------------------------------------------------------
#: how a column (or a whole view) may be damaged
DAMAGES = ("none", "nan", "inf", "huge", "tiny", "constant_column", "duplicate_column",
           "constant_view", "zero_view", "int_dtype", "float32")


@st.composite
def views(draw: st.DrawFn, *, min_rows: int = 0, max_rows: int = 24) -> dict:
    """Two paired views, labels and a damage, all of random sizes."""
    n = draw(st.integers(min_rows, max_rows))
    d_a, d_v = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    n_classes = draw(st.integers(1, 4))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, n_classes, size=n)
    centres_a, centres_v = rng.normal(size=(n_classes, d_a)), rng.normal(size=(n_classes, d_v))
    Xa = centres_a[labels] + 0.5 * rng.normal(size=(n, d_a))
    Xv = centres_v[labels] + 0.5 * rng.normal(size=(n, d_v))
    damage = draw(st.sampled_from(DAMAGES))
    target = draw(st.sampled_from(("audio", "visual")))
    X = Xa if target == "audio" else Xv
    if n and damage == "nan":
        X[rng.integers(n), rng.integers(X.shape[1])] = np.nan
    elif n and damage == "inf":
        X[rng.integers(n), rng.integers(X.shape[1])] = -np.inf
    elif damage == "huge":
        X *= 1e200
    elif damage == "tiny":
        X *= 1e-200
    elif damage == "constant_column":
        X[:, 0] = 7.0
    elif damage == "duplicate_column" and X.shape[1] > 1:
        X[:, 1] = X[:, 0]
    elif damage == "constant_view":
        X[:] = 2.5
    elif damage == "zero_view":
        X[:] = 0.0
    if damage == "int_dtype":
        X = np.rint(X * 10).astype(np.int64)
    elif damage == "float32":
        X = X.astype(np.float32)
    if target == "audio":
        Xa = X
    else:
        Xv = X
    return {"Xa": Xa, "Xv": Xv, "y": labels, "damage": damage, "n": n}


def _allowed(exc: BaseException) -> bool:
    return isinstance(exc, UserError) and bool(str(exc).strip())


# -- estimators -----------------------------------------------------------------------------------
#: the methods that take clip-level (N, d) features, and how many examples each gets: the
#: closed-form ones are cheap, the deep ones (1 epoch on a few rows) less so
MEAN_METHODS = [m for m in METHODS
                if build_estimator(m, 1, 0, 1).input_kind == "mean"]
EXAMPLES = {"cca": 120, "c_cca": 120, "c_cca_rasiwasia": 120, "kcca": 80, "c_kcca": 80}
DEEP_EXAMPLES = 25


def _fit_and_embed(method: str, data: dict) -> None:
    est = build_estimator(method, 1, 0, 1)            # one component, one epoch
    try:
        est.fit(data["Xa"], data["Xv"], data["y"])
        Za, Zv = est.transform(X_audio=data["Xa"], X_visual=data["Xv"])
    except Exception as exc:                        # noqa: BLE001 - the property under test
        assert _allowed(exc), f"{method} raised {type(exc).__name__}: {exc}"
        return
    assert data["damage"] not in ("nan", "inf", "huge", "constant_view", "zero_view") or \
        data["n"] < 2, f"{method} accepted a {data['damage']} view"
    assert Za is not None and Zv is not None
    assert Za.shape[0] == data["n"] and Zv.shape[0] == data["n"]
    assert np.isfinite(Za).all() and np.isfinite(Zv).all(), f"{method}: a NaN embedding"


@pytest.mark.parametrize("method", MEAN_METHODS)
def test_every_estimator_answers_or_refuses_clearly(method):
    n_examples = EXAMPLES.get(method, DEEP_EXAMPLES)

    @settings(FUZZ, max_examples=n_examples)
    @given(views())
    def check(data: dict) -> None:
        _fit_and_embed(method, data)

    check()


# -- metrics --------------------------------------------------------------------------------------
@st.composite
def rankings(draw: st.DrawFn) -> dict:
    n_q, n_g = draw(st.integers(0, 12)), draw(st.integers(0, 12))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    kind = draw(st.sampled_from(("normal", "ties", "nan", "inf", "huge", "int", "1d")))
    S = rng.normal(size=(n_q, n_g))
    if kind == "ties":
        S = np.round(S)
    elif kind == "nan" and S.size:
        S[rng.integers(n_q), rng.integers(n_g)] = np.nan
    elif kind == "inf" and S.size:
        S[rng.integers(n_q), rng.integers(n_g)] = np.inf
    elif kind == "huge":
        S *= 1e300
    elif kind == "int":
        S = rng.integers(-3, 3, size=(n_q, n_g))
    elif kind == "1d":
        S = S.ravel()
    n_classes = draw(st.integers(1, 4))
    q = rng.integers(0, n_classes, size=n_q)
    g = rng.integers(0, n_classes, size=n_g)
    if draw(st.booleans()) and n_q:
        q = q[:-1]                                   # a label vector of the wrong length
    return {"S": S, "q": q, "g": g, "k": draw(st.integers(-1, 15)), "kind": kind}


METRICS = {
    "mean_average_precision": lambda r: retrieval.mean_average_precision(r["S"], r["q"], r["g"]),
    "average_precision": lambda r: retrieval.average_precision(r["S"], r["q"], r["g"]),
    "precision_at_k": lambda r: retrieval.precision_at_k(r["S"], r["q"], r["g"], r["k"]),
    "recall_at_k": lambda r: retrieval.recall_at_k(r["S"], r["q"], r["g"], r["k"]),
    "pr_curve": lambda r: retrieval.pr_curve(r["S"], r["q"], r["g"]),
    "ranking_summary": lambda r: retrieval.ranking_summary(r["S"], r["q"], r["g"],
                                                           max(r["k"], 1)),
}


def _finite_in_unit_interval(value: object) -> None:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    arrays = value.values() if isinstance(value, dict) else (
        value if isinstance(value, tuple) else (value,))
    for v in arrays:
        a = np.asarray(v, dtype=float)
        a = a[~np.isnan(a)]                          # NaN marks a query without relevant items
        assert ((a >= 0) & (a <= 1 + 1e-12)).all(), f"out of [0, 1]: {a}"


@pytest.mark.parametrize("name", sorted(METRICS))
@settings(FUZZ, max_examples=80)
@given(rankings())
def test_every_metric_answers_in_range_or_refuses_clearly(name, ranking):
    try:
        value = METRICS[name](ranking)
    except Exception as exc:                        # noqa: BLE001 - the property under test
        assert _allowed(exc), f"{name} raised {type(exc).__name__}: {exc}"
        return
    assert ranking["kind"] not in ("nan", "inf") or np.asarray(ranking["S"]).size == 0, \
        f"{name} scored a {ranking['kind']} score matrix"
    _finite_in_unit_interval(value)


# -- the generic-format loader --------------------------------------------------------------------
@st.composite
def damaged_files(draw: st.DrawFn) -> dict:
    return {"damage": draw(st.sampled_from(("none", "truncate", "flip", "drop_key", "wrong_dtype",
                                            "wrong_length", "nan", "empty_file", "not_hdf5"))),
            "cut": draw(st.floats(0.0, 1.0)), "seed": draw(st.integers(0, 2**16)),
            "key": draw(st.sampled_from(("audio", "visual", "labels")))}


@pytest.fixture(scope="module")
def generic_file(tmp_path_factory) -> Path:
    from paper_lib.data.formats.generic_h5 import write_generic_h5
    from paper_lib.data.registry import load_dataset

    ds = load_dataset("synthetic", n_classes=3, n_per_class=10, d_audio=4, d_visual=5,
                      max_seconds=3, use_cache=False)
    return write_generic_h5(ds, tmp_path_factory.mktemp("fuzz") / "good.h5")


@settings(FUZZ, max_examples=150)
@given(damaged_files())
def test_the_generic_loader_reads_or_refuses_clearly(generic_file, tmp_path_factory, case):
    import h5py

    from paper_lib.data.formats.generic_h5 import read_generic_h5

    path = tmp_path_factory.mktemp("case") / "file.h5"
    data = generic_file.read_bytes()
    rng = np.random.default_rng(case["seed"])
    damage = case["damage"]
    if damage == "truncate":
        data = data[:int(len(data) * case["cut"])]
    elif damage == "flip" and data:
        buf = bytearray(data)
        for i in rng.integers(0, len(buf), size=8):
            buf[i] ^= 0xFF
        data = bytes(buf)
    elif damage == "empty_file":
        data = b""
    elif damage == "not_hdf5":
        data = b"this is not an HDF5 file\n" * 10
    path.write_bytes(data)
    if damage in ("drop_key", "wrong_dtype", "wrong_length", "nan"):
        with h5py.File(path, "r+") as f:
            key = case["key"]
            values = f[key][()]
            del f[key]
            if damage == "wrong_dtype":
                f[key] = np.array([b"x"] * len(values))
            elif damage == "wrong_length":
                f[key] = values[:-1]
            elif damage == "nan":
                values = values.astype(float)
                values.flat[0] = np.nan
                f[key] = values
    try:
        ds = read_generic_h5(path)
    except Exception as exc:                        # noqa: BLE001 - the property under test
        assert _allowed(exc), f"{damage}: {type(exc).__name__}: {exc}"
        assert str(path) in str(exc), f"{damage}: the message does not name the file: {exc}"
        return
    assert damage in ("none", "flip", "truncate"), f"{damage} was read without an error"
    assert np.isfinite(ds.audio).all() and np.isfinite(ds.visual).all()
    assert len(ds.labels) == ds.audio.shape[0] == ds.visual.shape[0]
