"""Inception V3 in PyTorch: torchvision's names and size, frames in, YouTube-8M's PCA, random mode.

Forward passes cost ~0.25 s per 299 x 299 frame on one CPU thread: few, small batches.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from paper_lib.errors import DataError, ParamError
from paper_lib.extract import inception as I
from paper_lib.extract.postprocess import quantize_uint8

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406])
IMAGENET_STD = np.array([0.229, 0.224, 0.225])


@pytest.fixture(scope="module")
def model() -> I.InceptionV3:
    return I.inception_random(0)


def meta_model(**kwargs: object) -> I.InceptionV3:
    with torch.device("meta"):
        return I.InceptionV3(**kwargs)


# --- architecture --------------------------------------------------------------------------------
def test_parameter_count_is_torchvisions() -> None:
    # torchvision's Inception_V3_Weights.IMAGENET1K_V1.meta["num_params"]
    net = meta_model(aux_logits=True, num_classes=1000)
    assert sum(p.numel() for p in net.parameters()) == 27_161_264
    assert sum(p.numel() for p in meta_model().parameters()) == 27_161_264 - (
        128 * 768 + 2 * 128 + 768 * 128 * 25 + 2 * 768 + 768 * 1000 + 1000)   # minus AuxLogits


def test_key_names_are_torchvisions() -> None:
    keys = set(meta_model(aux_logits=True).state_dict())
    for key in ("Conv2d_1a_3x3.conv.weight", "Conv2d_1a_3x3.bn.weight", "Conv2d_1a_3x3.bn.bias",
                "Conv2d_1a_3x3.bn.running_mean", "Conv2d_1a_3x3.bn.running_var",
                "Conv2d_1a_3x3.bn.num_batches_tracked", "Conv2d_2a_3x3.conv.weight",
                "Conv2d_2b_3x3.conv.weight", "Conv2d_3b_1x1.conv.weight",
                "Conv2d_4a_3x3.conv.weight", "Mixed_5b.branch1x1.conv.weight",
                "Mixed_5b.branch5x5_2.conv.weight", "Mixed_5d.branch3x3dbl_3.bn.running_var",
                "Mixed_6a.branch3x3.conv.weight", "Mixed_6e.branch7x7dbl_5.conv.weight",
                "Mixed_7a.branch7x7x3_4.conv.weight", "Mixed_7c.branch3x3_2b.conv.weight",
                "Mixed_7c.branch3x3dbl_3a.bn.weight", "Mixed_7c.branch_pool.conv.weight",
                "AuxLogits.conv0.conv.weight", "AuxLogits.conv1.conv.weight",
                "AuxLogits.fc.weight", "fc.weight", "fc.bias"):
        assert key in keys, key
    assert not any(k.startswith("AuxLogits") for k in meta_model().state_dict())
    assert not any(".conv.bias" in k for k in keys)                # convolutions have no bias
    net = meta_model()
    assert tuple(net.Mixed_6e.branch7x7_2.conv.weight.shape) == (192, 192, 1, 7)
    assert tuple(net.fc.weight.shape) == (1000, 2048)
    assert net.Conv2d_1a_3x3.bn.eps == 0.001


def test_pool_features_shape_and_embed_frames(model: I.InceptionV3) -> None:
    frames = I.calibration_frames(5, n=2, shape=(90, 120))
    pooled = I.embed_frames(model, frames, batch_size=1)
    assert pooled.shape == (2, 2048) and pooled.dtype == np.float32
    with torch.no_grad():
        direct = model.pool_features(I.preprocess_frames(frames)).numpy()
    np.testing.assert_allclose(pooled, direct, rtol=1e-4, atol=1e-5)   # batch size changes nothing
    assert (pooled >= 0).all() and pooled.std() > 0                    # ReLU features, not constant
    assert I.embed_frames(model, frames[:0]).shape == (0, 2048)
    assert I.embed_frames(model, np.zeros((0, 0, 0, 3), dtype=np.uint8)).shape == (0, 2048)


def test_random_network_is_seeded_and_in_eval_mode(model: I.InceptionV3) -> None:
    state = torch.random.get_rng_state()
    again, other = I.inception_random(0), I.inception_random(1)
    assert torch.equal(state, torch.random.get_rng_state())
    for key, value in model.state_dict().items():
        assert torch.equal(value, again.state_dict()[key]), key
    assert not torch.equal(model.Mixed_7c.branch1x1.conv.weight,
                           other.Mixed_7c.branch1x1.conv.weight)
    assert not model.training and not model.aux_logits
    assert torch.equal(model.Mixed_5b.branch1x1.bn.running_var, torch.ones(64))


def test_load_inception_drops_auxlogits_and_fills_old_counters(model: I.InceptionV3,
                                                               tmp_path: Path) -> None:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        aux_head = I.InceptionAux(768, 1000)
    state = {**model.state_dict(),
             **{f"AuxLogits.{k}": v for k, v in aux_head.state_dict().items()}}
    # a file saved before BatchNorm had num_batches_tracked (torch < 0.4.1)
    state = {k: v for k, v in state.items() if not k.endswith("num_batches_tracked")}
    path = tmp_path / "inception.pth"
    torch.save(state, path)
    loaded = I.load_inception(path)
    assert not loaded.training and loaded.AuxLogits is None
    for key, value in model.state_dict().items():
        assert torch.equal(value, loaded.state_dict()[key]), key


def test_load_inception_errors_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.pth"
    torch.save({"fc.weight": torch.zeros(1000, 2048)}, path)
    with pytest.raises(DataError, match=r"bad.pth: state dict does not match InceptionV3"):
        I.load_inception(path)


# --- frames --------------------------------------------------------------------------------------
def test_constant_frame_gives_the_normalised_constant() -> None:
    frame = np.empty((1, 37, 53, 3), dtype=np.uint8)
    frame[..., :] = [200, 100, 30]
    x = I.preprocess_frames(frame)
    assert tuple(x.shape) == (1, 3, 299, 299) and x.dtype == torch.float32
    expected = (np.array([200, 100, 30]) / 255 - IMAGENET_MEAN) / IMAGENET_STD
    for c in range(3):
        np.testing.assert_allclose(x[0, c].numpy(), expected[c], atol=1e-5)
    # transform_input maps ImageNet's normalisation to Google's (x - 0.5) / 0.5
    g = meta_model()._transform_input(x)                   # uses no parameter
    for c, v in enumerate([200, 100, 30]):
        np.testing.assert_allclose(g[0, c].numpy(), (v / 255 - 0.5) / 0.5, atol=1e-5)


def test_resize_keeps_the_whole_frame() -> None:
    frame = np.zeros((1, 120, 200, 3), dtype=np.uint8)
    frame[:, :, 100:] = 255                                  # left half black, right half white
    x = I.preprocess_frames(frame)[0, 0].numpy() * IMAGENET_STD[0] + IMAGENET_MEAN[0]  # in [0, 1]
    assert x.shape == (299, 299)
    np.testing.assert_allclose(x[:, 0], 0.0, atol=1e-5)      # the left edge is still black
    np.testing.assert_allclose(x[:, -1], 1.0, atol=1e-5)     # the right edge still white
    white = (x > 0.5).mean(axis=1)
    np.testing.assert_allclose(white, 149 / 299, atol=1e-9)  # half and half, every row
    assert x.mean() == pytest.approx(0.5, abs=1.5 / 299)
    # a 299 x 299 frame is not resampled
    same = np.random.default_rng(0).integers(0, 256, size=(1, 299, 299, 3), dtype=np.uint8)
    back = I.preprocess_frames(same)[0].permute(1, 2, 0).numpy() * IMAGENET_STD + IMAGENET_MEAN
    np.testing.assert_allclose(back * 255, same[0], atol=1e-3)


def test_bad_frames() -> None:
    with pytest.raises(ParamError, match="uint8"):
        I.preprocess_frames(np.zeros((1, 8, 8, 3), dtype=np.float32))
    with pytest.raises(ParamError, match=r"\(N, H, W, 3\)"):
        I.preprocess_frames(np.zeros((8, 8, 3), dtype=np.uint8))
    with pytest.raises(ParamError, match="batch_size"):
        I.embed_frames(meta_model(), np.zeros((1, 8, 8, 3), dtype=np.uint8), batch_size=0)


# --- YouTube-8M PCA ------------------------------------------------------------------------------
def test_load_yt8m_pca_release_layout(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    mean = rng.normal(size=(2048, 1)).astype(np.float32)
    eigenvals = np.sort(rng.uniform(0.01, 5, size=(2048, 1)))[::-1].astype(np.float32)
    eigenvecs = rng.normal(size=(2048, 2048)).astype(np.float32)     # one eigenvector per row
    for name, arr in (("mean", mean), ("eigenvals", eigenvals), ("eigenvecs", eigenvecs)):
        np.save(tmp_path / f"{name}.npy", arr)
    pca = I.load_yt8m_pca(tmp_path)
    assert (pca.n_features, pca.n_components) == (2048, 1024) and pca.whiten
    x = rng.normal(size=(3, 2048))
    # feature_extractor.py: mean[:, 0], eigenvals[:1024, 0], eigenvecs.T[:, :1024]
    expected = ((x - mean[:, 0]) @ eigenvecs.T[:, :1024].astype(np.float64)
                / np.sqrt(eigenvals[:1024, 0].astype(np.float64) + 1e-4))
    np.testing.assert_allclose(pca.apply(x), expected, rtol=1e-4, atol=1e-4)


def test_load_yt8m_pca_alternative_names_and_errors(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    columns = rng.normal(size=(2048, 1024)).astype(np.float32)       # one per column
    np.save(tmp_path / "pca_mean.npy", np.zeros(2048))
    np.save(tmp_path / "pca_eigenvals.npy", np.ones(1024))
    np.save(tmp_path / "pca_eigenvecs.npy", columns)
    pca = I.load_yt8m_pca(tmp_path)
    np.testing.assert_allclose(pca.components, columns.T)
    np.save(tmp_path / "pca_eigenvecs.npy", columns[:1000])
    with pytest.raises(DataError, match=r"pca_eigenvecs.npy: shape \(1000, 1024\)"):
        I.load_yt8m_pca(tmp_path)
    np.save(tmp_path / "pca_mean.npy", np.zeros(100))
    with pytest.raises(DataError, match=r"pca_mean.npy: shape \(100,\)"):
        I.load_yt8m_pca(tmp_path)
    with pytest.raises(DataError, match="missing: no such folder"):
        I.load_yt8m_pca(tmp_path / "missing")
    (tmp_path / "pca_eigenvals.npy").unlink()
    with pytest.raises(DataError, match="no eigenvals.npy or pca_eigenvals.npy"):
        I.load_yt8m_pca(tmp_path)


# --- random mode ---------------------------------------------------------------------------------
def test_calibration_frames_are_seeded_images() -> None:
    a = I.calibration_frames(2, n=3, shape=(40, 60))
    np.testing.assert_array_equal(a, I.calibration_frames(2, n=3, shape=(40, 60)))
    assert a.shape == (3, 40, 60, 3) and a.dtype == np.uint8
    assert not np.array_equal(a, I.calibration_frames(3, n=3, shape=(40, 60)))
    assert a.std() > 20


def test_pca_stand_in_gives_informative_codes(model: I.InceptionV3) -> None:
    """Fresh synthetic frames (another seed) -> whitened values near unit scale; the rounded
    codes spread over 0..255, few of them saturated."""
    pca = I.inception_pca_random(0)
    assert (pca.n_features, pca.n_components, pca.whiten) == (2048, 1024, True)
    z = pca.apply(I.embed_frames(model, I.calibration_frames(99, n=4)))
    assert 0.5 < z.std() < 1.5
    codes = quantize_uint8(z, rounding="round")
    assert np.mean((codes == 0) | (codes == 255)) < 0.1
    assert codes.std() > 30
    assert np.mean([len(np.unique(codes[:, j])) for j in range(1024)]) > 3.5   # 4 frames differ
