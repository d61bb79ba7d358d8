"""The startup function's token file on a shared machine (issue 34, finding 7): written so that nobody else
can read it or redirect it, whatever was at its path before. Real files, links and descriptors."""

from __future__ import annotations

import os
import stat

from pyotritonclient.service.startup import write_secret


def test_a_precreated_world_readable_file_with_a_held_descriptor_never_sees_the_token(tmp_path):
    path = tmp_path / "public-token"
    path.write_text("")
    os.chmod(path, 0o644)
    held = os.open(path, os.O_RDONLY)  # another user's descriptor, opened while the file was readable
    try:
        write_secret(path, "the-token")
        assert os.read(held, 100) == b""  # the held file never receives the token
    finally:
        os.close(held)
    assert path.read_text() == "the-token"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_symlink_at_the_path_is_replaced_not_followed(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    path = tmp_path / "public-token"
    path.symlink_to(victim)
    write_secret(path, "the-token")
    assert victim.read_text() == "precious"
    assert not path.is_symlink() and path.read_text() == "the-token"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_no_moment_exists_where_the_token_is_readable_by_others(tmp_path, monkeypatch):
    """The file is never created with wider permissions than 0600, whatever the umask."""
    seen = []
    real_write = os.write

    def spy(fd: int, data: bytes) -> int:
        seen.append(stat.S_IMODE(os.fstat(fd).st_mode))
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", spy)
    old = os.umask(0)
    try:
        write_secret(tmp_path / "t", "the-token")
    finally:
        os.umask(old)
    assert seen and all(mode == 0o600 for mode in seen), seen
