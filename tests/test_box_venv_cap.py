"""`--qa-install` fills `<project>/.venv`, the one folder the box writes on this machine's disk: it has a cap for
all its files together, not only one per file. A real pip in the real box installs, from a local package index
on 127.0.0.1, a wheel whose files are each under the per-file limit and together over the cap."""

from __future__ import annotations

import base64
import hashlib
import http.server
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from devteam.qa.box import choose_box
from devteam.qa.program_checks import InstallError, install_requirements
from devteam.qa.sandbox import Limits

BOX = choose_box()
MIB = 1024 * 1024


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def _wheel(folder: Path, name: str, blobs: int, blob_bytes: int) -> Path:
    """A pure-Python wheel holding `blobs` files of zeros (they compress to almost nothing in the wheel)."""
    files = {f"{name}/__init__.py": b"", **{f"{name}/blob{n}.bin": b"\0" * blob_bytes for n in range(blobs)}}
    info = f"{name}-1.0.dist-info"
    files[f"{info}/METADATA"] = f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n".encode()
    files[f"{info}/WHEEL"] = b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    record = [_record_line(path, data) for path, data in files.items()] + [f"{info}/RECORD,,"]
    files[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
    wheel = folder / f"{name}-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in files.items():
            archive.writestr(path, data)
    return wheel


@pytest.fixture
def package_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A PEP 503 simple index on 127.0.0.1, named to pip by PIP_INDEX_URL (the user's own index setting)."""
    served = tmp_path / "index"
    served.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
            super().__init__(*args, directory=str(served), **kwargs)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("PIP_INDEX_URL", f"http://127.0.0.1:{server.server_address[1]}/simple/")
    try:
        yield served
    finally:
        server.shutdown()
        server.server_close()


def _publish(index: Path, wheel: Path, name: str) -> None:
    project = index / "simple" / name
    project.mkdir(parents=True)
    (project / "index.html").write_text(f'<a href="../../{wheel.name}">{wheel.name}</a>\n')


def test_the_installed_packages_stop_at_one_cap_for_all_files(tmp_path: Path, package_index: Path) -> None:
    assert BOX.kind == "bubblewrap", BOX.describe()
    _publish(package_index, _wheel(package_index, "bulky", blobs=6, blob_bytes=24 * MIB), "bulky")
    root = tmp_path / "project"
    root.mkdir()
    limits = Limits(wall_seconds=300, cpu_seconds=300, file_bytes=32 * MIB, disk_bytes=96 * MIB, processes=64)

    with pytest.raises(InstallError) as raised:
        install_requirements(root, ["bulky"], BOX, limits=limits)

    assert "96 MiB" in str(raised.value), raised.value
    assert not (root / ".venv").exists()  # what went past the cap is not left on the disk


def test_an_install_under_the_cap_is_kept(tmp_path: Path, package_index: Path) -> None:
    _publish(package_index, _wheel(package_index, "slim", blobs=1, blob_bytes=MIB), "slim")
    root = tmp_path / "project"
    root.mkdir()
    limits = Limits(wall_seconds=300, cpu_seconds=300, file_bytes=32 * MIB, disk_bytes=96 * MIB, processes=64)

    install_requirements(root, ["slim"], BOX, limits=limits)

    assert list((root / ".venv").glob("lib/python*/site-packages/slim/blob0.bin"))
