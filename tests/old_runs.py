"""The run directories written by the release before the restructuring, kept as one archive
(tests/fixtures/old_runs.tar.gz: a character model, a conditional word-document model, a music
model, a classifier, and expected.json with the samples they must keep giving). ``old_runs()``
unpacks it once per test session into a temporary folder, so no run directory is tracked and no
test can write into the fixtures.

``python -m tests.old_runs FOLDER`` packs a folder written by tests/fixtures/make_runs.py.
"""

import atexit
import functools
import gzip
import io
import shutil
import sys
import tarfile
import tempfile
from pathlib import Path

ARCHIVE = Path(__file__).parent / "fixtures" / "old_runs.tar.gz"


@functools.cache
def old_runs() -> Path:
    """The unpacked folder: lm/, documents/, music/, classifier/ and expected.json."""
    folder = Path(tempfile.mkdtemp(prefix="recur-old-runs-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    with tarfile.open(ARCHIVE) as archive:
        archive.extractall(folder, filter="data")
    return folder


def pack(folder: Path) -> None:
    """Write ARCHIVE from ``folder``, byte for byte the same for the same files (sorted names,
    no times or owners)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            info = tarfile.TarInfo(str(path.relative_to(folder)))
            info.size, info.mode = path.stat().st_size, 0o644
            archive.addfile(info, io.BytesIO(path.read_bytes()))
    ARCHIVE.write_bytes(gzip.compress(buffer.getvalue(), mtime=0))


if __name__ == "__main__":
    pack(Path(sys.argv[1]))
