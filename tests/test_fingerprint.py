"""Content fingerprints (paper_lib.fingerprint): file sha256, code and data-folder identities."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from paper_lib import fingerprint
from paper_lib.fingerprint import code_fingerprint, files_fingerprint, sha256_file
from paper_lib.pipeline import provenance


def test_sha256_file_matches_hashlib_across_chunks(tmp_path: Path):
    path = tmp_path / "blob.bin"
    data = os.urandom(2 * fingerprint.CHUNK + 123)
    path.write_bytes(data)
    assert sha256_file(path) == hashlib.sha256(data).hexdigest()
    assert sha256_file(str(path)) == sha256_file(path)


def test_code_fingerprint_hashes_relative_paths_and_contents(tmp_path: Path):
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "a.py").write_text("x = 1\n")
    (pkg / "sub" / "b.py").write_text("y = 2\n")
    (pkg / "notes.txt").write_text("not code\n")
    h = hashlib.sha256()
    for rel in ("a.py", "sub/b.py"):                 # sorted paths, relative to the root
        h.update(rel.encode())
        h.update((pkg / rel).read_bytes())
    assert code_fingerprint(pkg) == h.hexdigest()
    # cached per root for the life of the process; a different root is hashed afresh
    (pkg / "a.py").write_text("x = 2\n")
    assert code_fingerprint(pkg) == h.hexdigest()
    assert code_fingerprint(pkg / "sub") != h.hexdigest()


def test_code_fingerprint_is_still_reachable_from_provenance():
    assert provenance.code_fingerprint is code_fingerprint
    assert len(code_fingerprint()) == 64


def test_files_fingerprint_follows_names_sizes_and_mtimes(tmp_path: Path):
    root = tmp_path / "data"
    root.mkdir()
    (root / "a.bin").write_bytes(b"1234")
    f0 = files_fingerprint(root)
    assert files_fingerprint(str(root)) == f0 == files_fingerprint(root)   # not cached
    (root / "a.bin").write_bytes(b"12345")                                 # size
    f1 = files_fingerprint(root)
    st = (root / "a.bin").stat()
    os.utime(root / "a.bin", ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # mtime only
    f2 = files_fingerprint(root)
    (root / "sub").mkdir()
    (root / "sub" / "b.bin").write_bytes(b"")                              # a new file
    f3 = files_fingerprint(root)
    assert len({f0, f1, f2, f3}) == 4


def test_files_fingerprint_of_a_single_file_and_of_a_missing_root(tmp_path: Path):
    path = tmp_path / "one.h5"
    path.write_bytes(b"abc")
    f0 = files_fingerprint(path)
    path.write_bytes(b"abcd")
    assert files_fingerprint(path) != f0
    missing = tmp_path / "nowhere"
    assert files_fingerprint(missing) == hashlib.sha256(str(missing).encode()).hexdigest()
