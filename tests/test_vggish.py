"""VGGish in PyTorch: torchvggish's names and shapes, TF's flatten order, loading, random mode."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from paper_lib.errors import DataError, ParamError
from paper_lib.extract import vggish as V
from paper_lib.extract.postprocess import quantize_uint8

# torchvggish's state dict, derived from the architecture: 3x3 convs 1->64->128->256->256->512->512
# (features.{0,3,6,8,11,13}; ReLUs and pools have no parameters), then fc 12288->4096->4096->128
EXPECTED_SHAPES = {
    "features.0.weight": (64, 1, 3, 3), "features.0.bias": (64,),
    "features.3.weight": (128, 64, 3, 3), "features.3.bias": (128,),
    "features.6.weight": (256, 128, 3, 3), "features.6.bias": (256,),
    "features.8.weight": (256, 256, 3, 3), "features.8.bias": (256,),
    "features.11.weight": (512, 256, 3, 3), "features.11.bias": (512,),
    "features.13.weight": (512, 512, 3, 3), "features.13.bias": (512,),
    "embeddings.0.weight": (4096, 12288), "embeddings.0.bias": (4096,),
    "embeddings.2.weight": (4096, 4096), "embeddings.2.bias": (4096,),
    "embeddings.4.weight": (128, 4096), "embeddings.4.bias": (128,),
}


@pytest.fixture(scope="module")
def model() -> V.VGGish:
    return V.vggish_random(0)


@pytest.fixture(scope="module")
def patches() -> np.ndarray:
    return V.calibration_patches(7, n=5)


def test_state_dict_keys_and_shapes_are_torchvggish() -> None:
    with torch.device("meta"):
        net = V.VGGish()
    shapes = {k: tuple(v.shape) for k, v in net.state_dict().items()}
    assert shapes == EXPECTED_SHAPES
    assert 12288 == 512 * 6 * 4 == V.FLAT_DIM


def test_output_shape_and_both_input_layouts(model: V.VGGish, patches: np.ndarray) -> None:
    out = V.embed(model, patches)
    assert out.shape == (5, 128) and out.dtype == np.float32
    np.testing.assert_allclose(V.embed(model, patches[:, None]), out, rtol=1e-5, atol=1e-5)
    with torch.no_grad():
        direct = model(torch.from_numpy(patches)).numpy()
    np.testing.assert_allclose(direct, out, rtol=1e-5, atol=1e-5)
    # batches do not change the result; no patches -> no rows
    np.testing.assert_allclose(V.embed(model, patches, batch_size=2), out, rtol=1e-5, atol=1e-5)
    assert V.embed(model, patches[:0]).shape == (0, 128)


def test_bad_inputs(model: V.VGGish, patches: np.ndarray) -> None:
    with pytest.raises(ParamError, match="patches"):
        V.embed(model, np.zeros((2, 64, 96), dtype=np.float32))
    with pytest.raises(ParamError, match="NaN"):
        V.embed(model, np.full((1, 96, 64), np.nan, dtype=np.float32))
    with pytest.raises(ParamError, match="batch_size"):
        V.embed(model, patches, batch_size=0)
    with pytest.raises(ParamError, match="patches"):
        model(torch.zeros(1, 2, 96, 64))
    with pytest.raises(ParamError, match="seed"):
        V.vggish_random(-1)


class KnownMap(nn.Module):
    """Stands in for the conv stack: a fixed (N, 512, 6, 4) map with value 1000 c + 10 h + w."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = torch.arange(512.0).view(512, 1, 1)
        h = torch.arange(6.0).view(1, 6, 1)
        w = torch.arange(4.0).view(1, 1, 4)
        return (1000 * c + 10 * h + w).expand(x.shape[0], 512, 6, 4)


def test_flatten_order_is_tensorflows_nhwc() -> None:
    """A hand-made network reads flat input position j through fc1 -> fc2 -> embedding unit 0;
    TF's NHWC flatten puts (h, w, c) at j = (h * 4 + w) * 512 + c."""
    with torch.device("meta"):
        net = V.VGGish()
    net = net.to_empty(device="cpu")
    net.features = KnownMap()
    with torch.no_grad():
        for layer in (net.embeddings[0], net.embeddings[2], net.embeddings[4]):
            layer.weight.zero_()
            layer.bias.zero_()
        net.embeddings[2].weight[0, 0] = 1.0
        net.embeddings[4].weight[0, 0] = 1.0
        for c, h, w in [(0, 0, 1), (1, 0, 0), (5, 3, 2), (511, 5, 3), (300, 2, 0)]:
            net.embeddings[0].weight.zero_()
            net.embeddings[0].weight[0, (h * 4 + w) * 512 + c] = 1.0
            out = net(torch.zeros(1, 96, 64))
            assert out[0, 0].item() == 1000 * c + 10 * h + w
            # and not PyTorch's NCHW flatten
            net.embeddings[0].weight.zero_()
            net.embeddings[0].weight[0, c * 24 + h * 4 + w] = 1.0
            if c * 24 + h * 4 + w != (h * 4 + w) * 512 + c:       # (first and last agree)
                assert net(torch.zeros(1, 96, 64))[0, 0].item() != 1000 * c + 10 * h + w


def test_flatten_equals_an_explicit_permute(model: V.VGGish, patches: np.ndarray) -> None:
    x = torch.from_numpy(patches).unsqueeze(1)
    with torch.no_grad():
        maps = model.features(x)
        flat = torch.stack([maps[i].permute(1, 2, 0).flatten() for i in range(len(maps))])
        np.testing.assert_allclose(model(x).numpy(), model.embeddings(flat).numpy(), rtol=1e-6)


def test_embedding_layer_has_no_relu_unless_asked(model: V.VGGish, patches: np.ndarray) -> None:
    out = V.embed(model, patches)
    assert (out < 0).any()                                 # fc2 is pre-activation (TF original)
    with torch.device("meta"):
        relu_net = V.VGGish(final_relu=True)
    relu_net = relu_net.to_empty(device="cpu")
    relu_net.load_state_dict(model.state_dict())
    np.testing.assert_allclose(V.embed(relu_net, patches), np.maximum(out, 0), rtol=1e-5,
                               atol=1e-6)
    assert isinstance(relu_net.embeddings[-1], nn.ReLU) and len(model.embeddings) == 5


def test_random_weights_are_seeded_and_leave_the_global_rng_alone(model: V.VGGish) -> None:
    state = torch.random.get_rng_state()
    again = V.vggish_random(0)
    assert torch.equal(state, torch.random.get_rng_state())
    other = V.vggish_random(1)
    for key, value in model.state_dict().items():
        assert torch.equal(value, again.state_dict()[key]), key
    assert not torch.equal(model.features[0].weight, other.features[0].weight)
    assert not model.training
    # He-normal: weight std ~ sqrt(2 / fan_in); zero biases
    w = model.features[3].weight.detach()
    assert float(w.std()) == pytest.approx(np.sqrt(2 / (64 * 9)), rel=0.05)
    assert float(model.embeddings[4].bias.detach().abs().max()) == 0.0


def test_load_vggish_round_trip(model: V.VGGish, patches: np.ndarray, tmp_path: Path) -> None:
    path = tmp_path / "vggish.pth"
    torch.save(model.state_dict(), path)
    loaded = V.load_vggish(path)
    assert not loaded.training
    np.testing.assert_array_equal(V.embed(loaded, patches[:2]), V.embed(model, patches[:2]))


@pytest.mark.parametrize("problem", ["missing", "unexpected", "shape", "corrupt", "not a dict"])
def test_load_vggish_errors_name_the_file(problem: str, tmp_path: Path) -> None:
    path = tmp_path / f"{problem.replace(' ', '_')}.pth"
    small = {k: torch.zeros(v) for k, v in EXPECTED_SHAPES.items() if "embeddings" not in k}
    if problem == "missing":
        torch.save(small, path)
        match = r"missing key\(s\) \[embeddings.0.bias"
    elif problem == "unexpected":
        torch.save({k: torch.zeros(1) for k in [*EXPECTED_SHAPES, "features.1.weight"]}, path)
        match = r"unexpected key\(s\) \[features.1.weight\]"
    elif problem == "shape":
        torch.save({k: torch.zeros(1) for k in EXPECTED_SHAPES}, path)
        match = r"wrong shape.*features.0.weight: file \(1,\) vs model \(64, 1, 3, 3\)"
    elif problem == "corrupt":
        path.write_bytes(b"\x00garbage")
        match = "not a readable PyTorch weights file"
    else:
        torch.save([torch.zeros(1)], path)
        match = "expected a state dict"
    with pytest.raises(DataError, match=match) as err:
        V.load_vggish(path)
    assert str(path) in str(err.value)


# --- PCA parameters ------------------------------------------------------------------------------
def pca_params(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    return rng.normal(size=(128, 128)).astype(np.float32), rng.normal(size=(128, 1))


def test_load_vggish_pca_pth_and_npz(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    vectors, means = pca_params(rng)
    emb = rng.normal(size=(3, 128))
    expected = np.dot(vectors, (emb.T - means)).T        # vggish_postprocess.py
    npz, pth_np, pth_t = tmp_path / "p.npz", tmp_path / "np.pth", tmp_path / "t.pth"
    np.savez(npz, pca_eigen_vectors=vectors, pca_means=means)
    torch.save({"pca_eigen_vectors": vectors, "pca_means": means}, pth_np)
    torch.save({"pca_eigen_vectors": torch.from_numpy(vectors),
                "pca_means": torch.from_numpy(means[:, 0])}, pth_t)
    for path in (npz, pth_np, pth_t):
        pca = V.load_vggish_pca(path)
        assert pca.eigenvalues is None and pca.components.shape == (128, 128)
        np.testing.assert_allclose(pca.apply(emb), expected, rtol=1e-4, atol=1e-4)


def test_load_vggish_pca_errors_name_the_file(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    vectors, means = pca_params(rng)
    wrong = tmp_path / "wrong.npz"
    np.savez(wrong, pca_eigen_vectors=vectors[:64], pca_means=means)
    with pytest.raises(DataError, match=r"wrong.npz: 'pca_eigen_vectors' has shape \(64, 128\)"):
        V.load_vggish_pca(wrong)
    nokey = tmp_path / "nokey.pth"
    torch.save({"pca_eigen_vectors": torch.from_numpy(vectors)}, nokey)
    with pytest.raises(DataError, match="nokey.pth: no 'pca_means'"):
        V.load_vggish_pca(nokey)
    broken = tmp_path / "broken.npz"
    broken.write_bytes(b"PK\x03\x04 broken")
    with pytest.raises(DataError, match="broken.npz"):
        V.load_vggish_pca(broken)


# --- random mode ---------------------------------------------------------------------------------
def test_calibration_patches_are_seeded_log_mel_patches() -> None:
    a, b = V.calibration_patches(3, n=6), V.calibration_patches(3, n=6)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (6, 96, 64) and a.dtype == np.float32
    assert a.min() >= np.log(0.01) - 1e-5                 # log(mel + 0.01)
    assert not np.array_equal(a, V.calibration_patches(4, n=6))
    assert a.std() > 0.5                                  # sounds, not only silence


def test_pca_stand_in_gives_informative_codes(model: V.VGGish) -> None:
    """Fresh synthetic patches (another seed) -> whitened values near unit scale; the truncated
    codes spread over 0..255, few of them saturated."""
    pca = V.vggish_pca_random(0)
    assert (pca.n_features, pca.n_components, pca.whiten) == (128, 128, True)
    z = pca.apply(V.embed(model, V.calibration_patches(123, n=48)))
    assert 0.7 < z.std() < 1.4
    codes = quantize_uint8(z, rounding="truncate")
    saturated = np.mean((codes == 0) | (codes == 255))
    assert saturated < 0.12
    assert codes.std() > 40
    assert np.mean([len(np.unique(codes[:, j])) for j in range(128)]) > 30
    again = V.vggish_pca_random(0)
    np.testing.assert_array_equal(again.components, pca.components)
