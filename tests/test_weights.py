"""Local weight files of the extractors: the manifest, where files are found, their checksums."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from paper_lib import paths
from paper_lib.errors import DataError
from paper_lib.extract import weights as W
from paper_lib.extract.weights import MissingWeightsError, locate, verify, weight_specs

ENV_VARS = ("PAPER_LIB_VGGISH_WEIGHTS", "PAPER_LIB_VGGISH_PCA", "PAPER_LIB_INCEPTION_WEIGHTS",
            "PAPER_LIB_YT8M_PCA", "PAPER_LIB_WEIGHTS_DIR")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ENV_VARS:
        monkeypatch.delenv(var, raising=False)


def write_manifest(folder: Path, monkeypatch: pytest.MonkeyPatch, **entries: dict) -> None:
    """A temporary data_manifest/extractors.yaml with ``entries``."""
    folder.mkdir(parents=True, exist_ok=True)
    full = {name: {"file": f"{name}.bin", "env": f"TEST_{name.upper()}", "source": "by hand",
                   "what": "a test file", **fields} for name, fields in entries.items()}
    (folder / "extractors.yaml").write_text(yaml.safe_dump({"schema_version": 1,
                                                            "weights": full}))
    monkeypatch.setattr(paths, "manifest_dir", lambda: folder)


# --- the real manifest ---------------------------------------------------------------------------
def test_real_manifest_lists_the_four_published_files() -> None:
    specs = weight_specs()
    assert tuple(specs) == W.WEIGHT_NAMES
    assert specs["vggish"].file == "vggish-10086976.pth"
    assert specs["vggish"].sha256_prefix == "10086976"
    assert specs["vggish_pca"].sha256_prefix == "970ea276"
    assert specs["inception_v3"].sha256_prefix == "0cc3c7bd"
    assert specs["inception_v3"].env == "PAPER_LIB_INCEPTION_WEIGHTS"
    assert specs["yt8m_pca"].sha256 is None and specs["yt8m_pca"].sha256_prefix is None
    for spec in specs.values():
        # torch.hub names carry the digest's first 8 hex digits
        if spec.sha256_prefix:
            assert spec.sha256_prefix in spec.file
        assert spec.what and spec.source and spec.licence
    # the Inception file is pointed to through torchvision's weights enum, not a URL
    assert specs["inception_v3"].source.startswith("torchvision.models.Inception_V3_Weights")


def test_bad_manifest_names_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_manifest(tmp_path, monkeypatch, x={"sha256_prefix": "xyz!"})
    with pytest.raises(DataError, match="extractors.yaml.*sha256_prefix"):
        weight_specs()
    (tmp_path / "extractors.yaml").write_text("weights: [1, 2]")
    with pytest.raises(DataError, match="extractors.yaml"):
        weight_specs()


# --- locate --------------------------------------------------------------------------------------
def test_locate_precedence_argument_then_env_then_dir(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    files = {k: tmp_path / k / "vggish-10086976.pth" for k in ("arg", "env", "dir")}
    for f in files.values():
        f.parent.mkdir()
        f.write_bytes(b"x")
    monkeypatch.setenv("PAPER_LIB_WEIGHTS_DIR", str(files["dir"].parent))
    assert locate("vggish") == files["dir"]
    monkeypatch.setenv("PAPER_LIB_VGGISH_WEIGHTS", str(files["env"]))
    assert locate("vggish") == files["env"]
    assert locate("vggish", files["arg"]) == files["arg"]
    assert locate("vggish", str(files["arg"])) == files["arg"]


def test_default_folder_is_under_the_data_dir(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAPER_LIB_DATA_DIR", str(tmp_path))
    (tmp_path / "weights").mkdir()
    (tmp_path / "weights" / "inception_v3_google-0cc3c7bd.pth").write_bytes(b"x")
    assert locate("inception_v3") == tmp_path / "weights" / "inception_v3_google-0cc3c7bd.pth"


def test_missing_file_message_says_what_where_and_how(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAPER_LIB_WEIGHTS_DIR", str(tmp_path))
    with pytest.raises(MissingWeightsError) as err:
        locate("vggish")
    msg = str(err.value)
    assert "vggish-10086976.pth" in msg and str(tmp_path) in msg
    assert "PAPER_LIB_VGGISH_WEIGHTS" in msg and "PAPER_LIB_WEIGHTS_DIR" in msg
    assert "github.com/harritaylor/torchvggish/releases" in msg
    assert isinstance(err.value, DataError)


def test_a_given_path_that_is_missing_is_an_error_not_a_fallback(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "vggish-10086976.pth").write_bytes(b"x")
    monkeypatch.setenv("PAPER_LIB_WEIGHTS_DIR", str(tmp_path))
    monkeypatch.setenv("PAPER_LIB_VGGISH_WEIGHTS", str(tmp_path / "nope.pth"))
    with pytest.raises(MissingWeightsError, match=r"nope\.pth.*\$PAPER_LIB_VGGISH_WEIGHTS"):
        locate("vggish")
    with pytest.raises(MissingWeightsError, match="other.pth"):
        locate("vggish", tmp_path / "other.pth")


def test_yt8m_pca_is_a_folder(tmp_path: Path) -> None:
    with pytest.raises(MissingWeightsError, match="folder yt8m_pca"):
        locate("yt8m_pca", tmp_path / "missing")
    assert locate("yt8m_pca", tmp_path) == tmp_path
    with pytest.raises(DataError, match="no weight file named 'nope'"):
        locate("nope")


# --- verify --------------------------------------------------------------------------------------
def test_sha256_prefix_mismatch_and_match(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    f = tmp_path / "w.bin"
    f.write_bytes(b"some weights")
    digest = hashlib.sha256(b"some weights").hexdigest()
    write_manifest(tmp_path / "man", monkeypatch, good={"sha256_prefix": digest[:8]},
                   bad={"sha256_prefix": "00000000" if digest[:8] != "00000000" else "11111111"})
    assert verify("good", f) == digest
    with pytest.raises(DataError) as err:
        verify("bad", f)
    assert str(f) in str(err.value) and digest in str(err.value)
    assert "expected a digest starting with" in str(err.value)


def test_full_sha256_and_unpublished_checksums(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    f = tmp_path / "w.bin"
    f.write_bytes(b"abc")
    digest = hashlib.sha256(b"abc").hexdigest()
    write_manifest(tmp_path / "man", monkeypatch, full={"sha256": digest},
                   wrong={"sha256": "f" * 64}, none={})
    assert verify("full", f) == digest
    assert verify("none", f) == digest                       # accepted, digest returned
    with pytest.raises(DataError, match=f"expected {'f' * 64}, got {digest}"):
        verify("wrong", f)


def test_folder_digest_covers_the_three_files(tmp_path: Path) -> None:
    for name in ("mean.npy", "eigenvals.npy", "eigenvecs.npy"):
        np.save(tmp_path / name, np.arange(3.0))
    (tmp_path / "README").write_text("not hashed")
    first = verify("yt8m_pca", tmp_path)
    expected = hashlib.sha256()
    for name in sorted(["mean.npy", "eigenvals.npy", "eigenvecs.npy"]):
        expected.update(name.encode() + b"\0" + hashlib.sha256(
            (tmp_path / name).read_bytes()).hexdigest().encode() + b"\n")
    assert first == expected.hexdigest()
    (tmp_path / "README").write_text("changed")
    assert verify("yt8m_pca", tmp_path) == first
    np.save(tmp_path / "eigenvals.npy", np.arange(4.0))
    assert verify("yt8m_pca", tmp_path) != first
    (tmp_path / "mean.npy").unlink()
    with pytest.raises(MissingWeightsError, match="mean.npy or pca_mean.npy"):
        verify("yt8m_pca", tmp_path)


# --- strict loading helpers ----------------------------------------------------------------------
def test_read_torch_file_errors_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "corrupt.pth"
    bad.write_bytes(b"this is not a zip or a pickle")
    with pytest.raises(DataError, match="corrupt.pth.*not a readable PyTorch weights file"):
        W.read_torch_file(bad)
    with pytest.raises(MissingWeightsError, match="absent.pth"):
        W.read_torch_file(tmp_path / "absent.pth")
    # numpy arrays only with allow_numpy (and then only arrays)
    arrays = tmp_path / "arrays.pth"
    torch.save({"a": np.arange(3.0)}, arrays)
    with pytest.raises(DataError, match="arrays.pth"):
        W.read_torch_file(arrays)
    np.testing.assert_array_equal(W.read_torch_file(arrays, allow_numpy=True)["a"], np.arange(3.0))


def test_load_checked_state_dict_messages() -> None:
    model = torch.nn.Linear(3, 2)
    with pytest.raises(DataError, match=r"f.pth: state dict does not match Linear: 1 missing key"):
        W.load_checked_state_dict(model, {"weight": torch.zeros(2, 3)}, "f.pth")
    with pytest.raises(DataError, match=r"1 unexpected key\(s\) \[extra\]"):
        W.load_checked_state_dict(model, {"weight": torch.zeros(2, 3), "bias": torch.zeros(2),
                                          "extra": torch.zeros(1)}, "f.pth")
    with pytest.raises(DataError, match=r"weight: file \(3, 2\) vs model \(2, 3\)"):
        W.load_checked_state_dict(model, {"weight": torch.zeros(3, 2), "bias": torch.zeros(2)},
                                  "f.pth")
    with pytest.raises(DataError, match="expected a state dict"):
        W.load_checked_state_dict(model, [1, 2], "f.pth")
    W.load_checked_state_dict(model, {"weight": torch.ones(2, 3), "bias": torch.zeros(2)}, "f")
    assert torch.equal(model.weight, torch.ones(2, 3))
