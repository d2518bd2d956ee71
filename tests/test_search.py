"""Nearest-neighbour indexes (paper_lib.search.index): the exact index ranks as the project's
brute-force scores do; IVF and HNSW keep recall@10 >= 0.9 against it on clustered data; save /
load round-trips and refuses a corrupted or incompatible index; arguments are checked."""

from __future__ import annotations

import hashlib
import json
import time

import numpy as np
import pytest

from paper_lib.described_folder import canonical
from paper_lib.errors import DataError, UserError
from paper_lib.metrics.cross_modal import scores

faiss = pytest.importorskip("faiss")

from paper_lib.search import index as ix  # noqa: E402  (after the faiss check)


@pytest.fixture(scope="module", autouse=True)
def thread_policy_covers_faiss():
    """faiss's OpenMP is loaded now: apply the project's thread policy to it as well."""
    from paper_lib import threads

    threads.apply_policy()


def clustered(n: int, d: int, n_clusters: int, seed: int,
              world: int = 1234) -> tuple[np.ndarray, np.ndarray]:
    """Rows around ``n_clusters`` centres (fixed by ``world``), cluster ids as labels."""
    centres = np.random.default_rng(world).normal(size=(n_clusters, d)) * 3
    rng = np.random.default_rng(seed)
    y = rng.integers(0, n_clusters, n)
    return centres[y] + rng.normal(size=(n, d)), y


def _ids(n: int) -> list[str]:
    return [f"clip{i:05d}" for i in range(n)]


def _brute_force(Q: np.ndarray, Z: np.ndarray, metric: str, k: int) -> np.ndarray:
    """(n_q, n) scores of the project's one scoring rule (queries as "audio", items as
    "visual", direction A->V)."""
    return scores(Q, Z, "a2v", metric)


@pytest.mark.parametrize("metric", ["cosine", "euclidean", "hamming"])
def test_the_exact_index_ranks_as_the_brute_force_scores(metric):
    rng = np.random.default_rng(0)
    Z, Q = rng.normal(size=(300, 8)), rng.normal(size=(40, 8))
    Z[5] = 0.0                                           # a zero row: cosine 0 with anything
    if metric == "hamming":
        Z, Q = np.where(Z >= 0, 1.0, -1.0), np.where(Q >= 0, 1.0, -1.0)
    k = 10
    index = ix.build_index(Z, _ids(300), None, metric=metric)
    ids, got = index.search(Q, k)
    positions, _ = index.search_positions(Q, k)
    S = _brute_force(Q, Z, metric, k)
    top = np.sort(S, axis=1)[:, ::-1][:, :k]             # the k best brute-force scores
    np.testing.assert_allclose(got, top, atol=1e-5)      # float32 inside faiss
    # every returned item has the score it was returned with (ties aside, the same items)
    np.testing.assert_allclose(np.take_along_axis(S, positions, axis=1), got, atol=1e-5)
    np.testing.assert_array_equal(ids, np.asarray(_ids(300))[positions])
    if metric == "hamming":          # 8-bit codes: every score is tied, only the scores count
        assert np.all(got == np.rint(got))
        return
    order = np.argsort(-S, axis=1, kind="stable")[:, :k]
    gaps = np.abs(np.diff(np.sort(S, axis=1)[:, ::-1][:, : k + 1], axis=1)) > 1e-5
    clear = gaps.all(axis=1)                             # queries without near-ties in the top k
    assert clear.sum() >= 30
    np.testing.assert_array_equal(positions[clear], order[clear])


def test_ivf_and_hnsw_keep_recall_at_10_against_the_exact_index_and_the_timing(capsys):
    Z, y = clustered(10_000, 10, 10, seed=0)
    Q, _ = clustered(1_000, 10, 10, seed=1)                  # queries from the same clusters
    away, _ = clustered(1_000, 10, 10, seed=1, world=99)     # queries around other centres
    timings, recalls, recalls_away = {}, {}, {}
    exact = None
    for kind in ix.KINDS:
        t0 = time.perf_counter()
        index = ix.build_index(Z, _ids(len(Z)), y, kind=kind)
        t1 = time.perf_counter()
        index.search(Q, 10)
        timings[kind] = (t1 - t0, time.perf_counter() - t1)
        exact = index if kind == "exact" else exact
        assert exact is not None
        recalls[kind] = ix.recall_at_k_vs_exact(index, exact, Q, k=10)
        recalls_away[kind] = ix.recall_at_k_vs_exact(index, exact, away, k=10)
    assert recalls["exact"] == recalls_away["exact"] == 1.0
    assert min(recalls.values()) >= 0.9 and min(recalls_away.values()) >= 0.9, (
        recalls, recalls_away)
    with capsys.disabled():      # recorded, not asserted: the machine is shared
        print("\n10,000 x 10 items, 1,000 queries, k=10: " + "; ".join(
            f"{k}: build {b:.3f} s, search {s:.3f} s, recall@10 {recalls[k]:.3f} "
            f"({recalls_away[k]:.3f} away)" for k, (b, s) in timings.items()))
    # fewer IVF cells scanned: faster, lower recall; every cell: exact
    ivf = ix.build_index(Z, _ids(len(Z)), y, kind="ivf")
    nlist = ivf.params["nlist"]
    assert nlist == ix.default_nlist(10_000) == 10_000 // ix.MIN_POINTS_PER_CELL
    low = ix.recall_at_k_vs_exact(ivf.set_search_params(nprobe=1), exact, Q)
    full = ix.recall_at_k_vs_exact(ivf.set_search_params(nprobe=nlist), exact, Q)
    assert low < recalls["ivf"] <= full == 1.0


def test_the_default_ivf_cells_follow_the_rule():
    assert ix.default_nlist(100) == 2 and ix.default_nlist(10) == 1
    assert ix.default_nlist(1_000_000) == 4_000                 # 4 sqrt(N)
    assert ix.default_nprobe(256) == 32 and ix.default_nprobe(1) == 1


@pytest.mark.parametrize("kind", ix.KINDS)
def test_save_and_load_round_trip(tmp_path, kind):
    Z, y = clustered(600, 6, 4, seed=0)
    Q, _ = clustered(20, 6, 4, seed=1)
    index = ix.build_index(Z, _ids(600), y, kind=kind, class_names=["a", "b", "c", "d"],
                           metadata={"view": "visual", "model": "m"})
    folder = ix.save_index(index, tmp_path / "index")
    assert sorted(p.name for p in folder.iterdir()) == ["index.faiss", "index.json"]
    back = ix.load_index(folder)
    assert (back.kind, back.metric, back.params, back.metadata, back.class_names) == (
        index.kind, index.metric, index.params, index.metadata, index.class_names)
    np.testing.assert_array_equal(back.ids, index.ids)
    np.testing.assert_array_equal(back.labels, index.labels)
    for a, b in zip(index.search(Q, 7), back.search(Q, 7), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.fixture
def saved(tmp_path):
    Z, y = clustered(100, 4, 2, seed=0)
    return ix.save_index(ix.build_index(Z, _ids(100), y), tmp_path / "index")


def test_a_corrupted_changed_or_missing_index_is_named(saved):
    faiss_file, meta = saved / "index.faiss", saved / "index.json"
    data = bytearray(faiss_file.read_bytes())
    data[-8] ^= 0xFF
    faiss_file.write_bytes(bytes(data))
    with pytest.raises(DataError, match=r"index.faiss: checksum mismatch .*corrupted"):
        ix.load_index(saved)
    faiss_file.unlink()
    with pytest.raises(DataError, match=r"index.faiss: missing"):
        ix.load_index(saved)
    text = meta.read_text()
    meta.write_text(text.replace('"clip00001"', '"clip99999"'))
    with pytest.raises(DataError, match=r"index.json: checksum mismatch"):
        ix.load_index(saved)
    meta.write_text(text[:40])
    with pytest.raises(DataError, match=r"index.json: corrupted: not valid JSON"):
        ix.load_index(saved)
    meta.unlink()
    with pytest.raises(DataError, match=r"index.json: missing: .* is not a paper_lib index"):
        ix.load_index(saved)


def test_an_incompatible_format_version_or_a_mismatched_faiss_file_is_named(saved):
    meta = saved / "index.json"
    original = meta.read_text()

    def reseal(edit):
        doc = json.loads(original)
        edit(doc)
        doc["content_sha256"] = hashlib.sha256(canonical(doc)).hexdigest()
        meta.write_text(json.dumps(doc))

    reseal(lambda doc: doc.update(format_version=7))
    with pytest.raises(DataError, match=r"index.json: format_version 7 is not supported"):
        ix.load_index(saved)
    reseal(lambda doc: doc.update(ids=doc["ids"][:-1], n_items=99))
    with pytest.raises(DataError, match=r"index.json: does not match index.faiss: index.faiss "
                                        r"holds 100 vectors, index.json 99 ids"):
        ix.load_index(saved)


def test_saving_is_atomic_and_never_replaces_other_folders(saved, tmp_path, monkeypatch):
    index = ix.load_index(saved)
    with pytest.raises(UserError, match="already exists"):
        ix.save_index(index, saved)

    def broken(*args):
        raise RuntimeError("disk full")

    monkeypatch.setattr(faiss, "write_index", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        ix.save_index(index, tmp_path / "other")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index"]
    monkeypatch.undo()
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "a.txt").write_text("keep")
    with pytest.raises(UserError, match="not an index folder; not replacing it"):
        ix.save_index(index, notes, overwrite=True)
    ix.save_index(index, saved, overwrite=True)
    assert ix.load_index(saved).n_items == 100


def test_bad_arguments_are_named():
    Z = np.eye(4)
    with pytest.raises(UserError, match="kind must be one of"):
        ix.build_index(Z, _ids(4), None, kind="lsh")
    with pytest.raises(UserError, match="metric must be one of"):
        ix.build_index(Z, _ids(4), None, metric="dot")
    with pytest.raises(UserError, match="ids must be unique"):
        ix.build_index(Z, ["a", "a", "b", "c"], None)
    with pytest.raises(UserError, match=r"ids must hold one id per row of Z \(4\)"):
        ix.build_index(Z, ["a"], None)
    with pytest.raises(UserError, match="labels must be 4 integer class ids"):
        ix.build_index(Z, _ids(4), [0.5, 1, 2, 3])
    with pytest.raises(UserError, match=r"labels must lie in 0\.\.1"):
        ix.build_index(Z, _ids(4), [0, 1, 2, 3], class_names=["x", "y"])
    with pytest.raises(UserError, match="Z contains NaN"):
        ix.build_index(np.full((2, 2), np.nan), _ids(2), None)
    with pytest.raises(UserError, match="binary codes in"):
        ix.build_index(Z * 0.5, _ids(4), None, metric="hamming")
    index = ix.build_index(Z, _ids(4), None)
    with pytest.raises(UserError, match="Q has 3 columns, the index holds 4-d vectors"):
        index.search(np.ones((1, 3)), 2)
    with pytest.raises(UserError, match="k must be a positive integer"):
        index.search(np.ones((1, 4)), 0)
    with pytest.raises(UserError, match="nprobe applies to an 'ivf' index"):
        index.set_search_params(nprobe=2)
    ids, got = index.search(np.ones((1, 4)), 50)          # k > N: all N items
    assert ids.shape == got.shape == (1, 4)
