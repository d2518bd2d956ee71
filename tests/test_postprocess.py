"""YouTube-8M / VGGish post-processing: 8-bit quantisation and the PCA projection."""

from __future__ import annotations

import numpy as np
import pytest

from paper_lib.data.formats._checks import dequantize_uint8 as data_layer_dequantize
from paper_lib.errors import ParamError
from paper_lib.extract import postprocess as P
from paper_lib.extract.postprocess import PcaProjection, dequantize_uint8, quantize_uint8

STEP = 4.0 / 255.0


# --- quantisation: known values -----------------------------------------------------------------
def test_known_codes_for_both_roundings() -> None:
    x = np.array([-2.0, 2.0, 0.0, -5.0, 5.0, -np.inf, np.inf])
    np.testing.assert_array_equal(quantize_uint8(x, rounding="round"),
                                  [0, 255, 128, 0, 255, 0, 255])     # 0 -> 127.5 -> 128 (even)
    np.testing.assert_array_equal(quantize_uint8(x, rounding="truncate"),
                                  [0, 255, 127, 0, 255, 0, 255])     # 0 -> floor(127.5)
    assert quantize_uint8(x, rounding="round").dtype == np.uint8


def test_dequantize_known_values_and_dtype() -> None:
    out = dequantize_uint8(np.array([0, 255, 51], dtype=np.uint8))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [-2.0, 2.0, 51 * STEP - 2.0], atol=1e-7)
    # integers in 0..255 are accepted too
    np.testing.assert_array_equal(dequantize_uint8(np.array([0, 255])), out[:2])


def yt8m_quantize_reference(features: np.ndarray) -> np.ndarray:
    """Transcription of YouTube-8M's extract_tfrecords_main.quantize (one float32 vector)."""
    features = np.clip(features, -2.0, 2.0)
    features = (features - -2.0) * (255.0 / 4.0)
    return np.array([int(round(f)) for f in features], dtype=np.uint8)


def vggish_quantize_reference(pca_applied: np.ndarray) -> np.ndarray:
    """Transcription of vggish_postprocess.Postprocessor.postprocess's quantisation."""
    clipped = np.clip(pca_applied, -2.0, 2.0)
    return ((clipped - -2.0) * (255.0 / (2.0 - -2.0))).astype(np.uint8)


def test_float32_codes_equal_the_originals_bit_for_bit() -> None:
    rng = np.random.default_rng(0)
    # random values, values landing exactly on .5 of the code scale, and out-of-range ones
    halves = ((np.arange(256) + 0.5) / 63.75 - 2.0).astype(np.float32)
    x = np.concatenate([rng.normal(0, 1.5, 4000).astype(np.float32), halves,
                        np.float32([-3, 3, -2, 2, 0])])
    np.testing.assert_array_equal(quantize_uint8(x, rounding="round"), yt8m_quantize_reference(x))
    np.testing.assert_array_equal(quantize_uint8(x, rounding="truncate"),
                                  vggish_quantize_reference(x))


def test_round_trip_within_half_a_step() -> None:
    x = np.linspace(-3.0, 3.0, 200_001)
    err = np.abs(dequantize_uint8(quantize_uint8(x, rounding="round")) - np.clip(x, -2, 2))
    assert err.max() <= STEP / 2 + 1e-6
    assert err.max() >= 0.99 * STEP / 2                       # and half a step is reached
    # truncation is off by up to a whole step (always downwards)
    err_t = np.clip(x, -2, 2) - dequantize_uint8(quantize_uint8(x, rounding="truncate"))
    assert err_t.min() >= -1e-6 and err_t.max() < STEP + 1e-6


def test_bad_inputs_raise_param_errors() -> None:
    with pytest.raises(ParamError, match="rounding"):
        quantize_uint8([0.0], rounding="nearest")
    with pytest.raises(ParamError, match="NaN"):
        quantize_uint8([0.0, np.nan], rounding="round")
    with pytest.raises(ParamError, match="q"):
        dequantize_uint8(np.array([0.5]))
    with pytest.raises(ParamError, match="0..255"):
        dequantize_uint8(np.array([256]))


# --- the data layer's (q - 128) / 256 ------------------------------------------------------------
def test_data_layer_dequantisation_is_ours_over_four_up_to_q_over_65280() -> None:
    q = np.arange(256, dtype=np.uint8)
    diff = data_layer_dequantize(q).astype(np.float64) - dequantize_uint8(q).astype(np.float64) / 4
    np.testing.assert_allclose(diff, -np.arange(256) / 65280.0, atol=1e-7)
    assert np.abs(diff).max() == pytest.approx(1 / 256, abs=1e-7)       # at q = 255
    assert np.abs(diff).max() < 1 / 255                                  # under one step


def test_data_layer_bound_for_rounded_codes_holds_and_is_tight() -> None:
    x = np.linspace(-2.0, 2.0, 2_000_001)                     # step 2e-6 on the feature scale
    err = np.abs(data_layer_dequantize(quantize_uint8(x, rounding="round")).astype(np.float64)
                 - x / 4)
    bound = P.DATA_LAYER_BOUND_ROUND
    assert bound == pytest.approx(382 / 65280)
    assert err.max() <= bound + 1e-6                          # float32 output of the data layer
    assert err.max() >= 0.99 * bound                          # tight: reached within 1 %
    # where: x = 508/255 (u = 254.5, rounded half to even down to 254)
    assert abs(x[np.argmax(err)] - 508 / 255) < 1e-3


def test_data_layer_bound_for_truncated_codes() -> None:
    x = np.linspace(-2.0, 2.0, 2_000_001)
    err = np.abs(data_layer_dequantize(quantize_uint8(x, rounding="truncate")).astype(np.float64)
                 - x / 4)
    assert err.max() < P.DATA_LAYER_BOUND_TRUNCATE + 1e-6
    assert err.max() >= 0.99 * P.DATA_LAYER_BOUND_TRUNCATE    # approached as x -> 2


# --- PCA -----------------------------------------------------------------------------------------
def test_apply_by_hand() -> None:
    pca = PcaProjection(mean=[1.0, -1.0, 0.0], components=[[0.6, 0.8, 0.0], [0.0, 0.0, 1.0]],
                        eigenvalues=[4.0, 1.0], epsilon=0.0)
    x = np.array([[2.0, 1.0, 3.0], [1.0, -1.0, 0.0]])
    # row 0: x - mean = (1, 2, 3) -> (0.6 + 1.6, 3) = (2.2, 3) -> / (2, 1)
    np.testing.assert_allclose(pca.apply(x), [[1.1, 3.0], [0.0, 0.0]], rtol=1e-6)
    assert pca.apply(x).dtype == np.float32
    plain = PcaProjection(mean=pca.mean, components=pca.components)
    np.testing.assert_allclose(plain.apply(x), [[2.2, 3.0], [0.0, 0.0]], rtol=1e-6)
    # YouTube-8M's epsilon
    yt = PcaProjection(mean=pca.mean, components=pca.components, eigenvalues=[4.0, 1.0])
    np.testing.assert_allclose(yt.apply(x)[0], [2.2 / np.sqrt(4 + 1e-4), 3 / np.sqrt(1 + 1e-4)],
                               rtol=1e-6)


def test_fit_whitens_data_of_known_covariance() -> None:
    rng = np.random.default_rng(1)
    q, _ = np.linalg.qr(rng.normal(size=(5, 5)))
    variances = np.array([25.0, 9.0, 4.0, 1.0, 0.25])
    cov = q @ np.diag(variances) @ q.T
    X = rng.multivariate_normal(np.arange(5.0), cov, size=20_000)
    pca = PcaProjection.fit(X, 4)
    z = pca.apply(X).astype(np.float64)
    # in-sample: exactly the identity, up to YouTube-8M's epsilon (ev / (ev + 1e-4))
    np.testing.assert_allclose(np.cov(z, rowvar=False), np.eye(4), atol=1e-3)
    np.testing.assert_allclose(z.mean(axis=0), 0.0, atol=1e-5)
    # the population's eigen-structure is recovered
    np.testing.assert_allclose(pca.eigenvalues, variances[:4], rtol=0.05)
    np.testing.assert_allclose(np.abs(pca.components @ q[:, :4]), np.eye(4), atol=0.03)
    # signs: the largest-magnitude entry of each component is positive
    rows = np.arange(4)
    assert np.all(pca.components[rows, np.argmax(np.abs(pca.components), axis=1)] > 0)


def test_fit_is_deterministic_and_wide_data_uses_the_svd() -> None:
    rng = np.random.default_rng(2)
    X = rng.normal(size=(10, 30)) * np.linspace(3, 0.1, 30)       # N < D: SVD path
    a, b = PcaProjection.fit(X, 5), PcaProjection.fit(X.copy(), 5)
    np.testing.assert_array_equal(a.components, b.components)
    np.testing.assert_array_equal(a.eigenvalues, b.eigenvalues)
    values, vectors = np.linalg.eigh(np.cov(X, rowvar=False))
    np.testing.assert_allclose(a.eigenvalues, values[::-1][:5], rtol=1e-8)
    np.testing.assert_allclose(np.abs(a.components @ vectors[:, ::-1][:, :5]), np.eye(5),
                               atol=1e-6)
    assert PcaProjection.fit(X, 5, whiten=False).eigenvalues is None


def test_held_out_eigenvalues_correct_the_small_sample_bias() -> None:
    rng = np.random.default_rng(3)
    X = rng.normal(size=(128, 64))                           # true covariance: the identity
    in_sample = PcaProjection.fit(X, 64).eigenvalues
    held_out = PcaProjection.fit(X, 64, n_folds=8).eigenvalues
    assert in_sample is not None and held_out is not None
    assert in_sample.min() < 0.3                             # Marchenko-Pastur: ~0.09
    assert held_out.min() > 0.5 and abs(held_out.mean() - 1.0) < 0.2
    with pytest.raises(ParamError, match="n_folds"):
        PcaProjection.fit(X, 64, n_folds=1)
    with pytest.raises(ParamError, match="n_folds=2"):
        PcaProjection.fit(X, 64, n_folds=2)                  # 64 training rows < k + 1


def test_from_yt8m_shapes_and_formula() -> None:
    rng = np.random.default_rng(4)
    mean, ev = rng.normal(size=(6, 1)), rng.uniform(1, 2, size=(3, 1))
    vecs = rng.normal(size=(6, 3))
    pca = PcaProjection.from_yt8m(mean, ev, vecs)
    assert (pca.n_features, pca.n_components, pca.whiten) == (6, 3, True)
    x = rng.normal(size=(4, 6))
    expected = (x - mean[:, 0]) @ vecs / np.sqrt(ev[:, 0] + 1e-4)    # feature_extractor.py
    np.testing.assert_allclose(pca.apply(x), expected, rtol=1e-5)
    # (k,) eigenvalues and (D,) means are accepted too; the released sizes
    big = PcaProjection.from_yt8m(np.zeros(2048), np.ones(1024), np.zeros((2048, 1024)))
    assert big.components.shape == (1024, 2048)


@pytest.mark.parametrize(("kwargs", "name"), [
    ({"mean": np.zeros(3), "components": np.zeros((2, 4))}, "components"),
    ({"mean": np.zeros(3), "components": np.zeros((4, 3))}, "components"),
    ({"mean": np.zeros((3, 1)), "components": np.zeros((2, 3))}, "mean"),
    ({"mean": np.zeros(3), "components": np.eye(3)[:2], "eigenvalues": np.ones(3)}, "eigenvalues"),
    ({"mean": np.zeros(3), "components": np.eye(3)[:2], "eigenvalues": [-1.0, 1.0]},
     "eigenvalues"),
    ({"mean": np.zeros(3), "components": np.eye(3)[:2], "epsilon": -1.0}, "epsilon"),
])
def test_bad_shapes_name_the_argument(kwargs: dict, name: str) -> None:
    with pytest.raises(ParamError, match=name):
        PcaProjection(**kwargs)


def test_bad_arguments_of_apply_fit_and_from_yt8m() -> None:
    pca = PcaProjection(mean=np.zeros(3), components=np.eye(3))
    with pytest.raises(ParamError, match=r"x: expected shape \(N, 3\)"):
        pca.apply(np.zeros((2, 4)))
    with pytest.raises(ParamError, match="k must be"):
        PcaProjection.fit(np.zeros((5, 3)) + np.arange(5)[:, None], 5)
    with pytest.raises(ParamError, match="features"):
        PcaProjection.fit(np.zeros(5), 1)
    with pytest.raises(ParamError, match="eigenvecs"):
        PcaProjection.from_yt8m(np.zeros(6), np.ones(3), np.zeros((3, 6)))   # transposed
    with pytest.raises(ParamError, match="eigenvals"):
        PcaProjection.from_yt8m(np.zeros(6), np.ones((3, 2)), np.zeros((6, 3)))
    assert not pca.mean.flags.writeable                     # frozen arrays
