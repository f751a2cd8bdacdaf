"""What a backup says about itself: `manifest.json`, written last, checked first on restore.

A backup folder holds `manifest.json` and either `store/` (a RocksDB checkpoint of the embedded
store) or `data.nq` (the N-Quads of a remote store), plus `search/` (the vector index) when the
store had one. The manifest records the backup format, when it was made, by which ModelKG and
with which ingest format, how many data quads and models the snapshot holds, and the sha256 of
every file: a restore refuses a backup whose files do not match, or that a newer ModelKG made.

>>> import tempfile
>>> from pathlib import Path
>>> folder = Path(tempfile.mkdtemp())
>>> _ = (folder / "data.nq").write_text("<urn:s> <urn:p> <urn:o> <urn:g> .\\n")
>>> made = Manifest.describe(folder, kind="nquads", source="sparql+http://h:1", quads=1, models=0)
>>> made.write(folder)
>>> Manifest.read(folder).verify(folder).files["data.nq"] == made.files["data.nq"]
True
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

from kg import __version__
from kg.atomic import write_atomically
from kg.errors import InputError
from kg.ingest.reader import INGEST_FORMAT

__all__ = ["BACKUP_FORMAT", "MANIFEST", "BackupKind", "Manifest", "sha256_of"]

BACKUP_FORMAT = 1
"""The layout of a backup folder; a restore refuses a backup of a later format."""
MANIFEST = "manifest.json"
BackupKind = Literal["checkpoint", "nquads"]


def sha256_of(path: Path) -> str:
    """The sha256 of a file, read in blocks by the standard library (store files run to
    gigabytes)."""
    with path.open("rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()


def _without_credentials(location: str) -> str:
    """A store location safe to write down: a URL's `user:password@` is dropped."""
    if "://" not in location:
        return location
    parts = urlsplit(location)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))


@dataclass(frozen=True)
class Manifest:
    """A backup's description (module docstring)."""

    format: int
    created: str
    modelkg: str
    ingest_format: str
    kind: BackupKind
    source: str
    quads: int
    """quads in the named graphs outside the vocabulary (`kg.store.migrate.count_data_quads`)"""
    models: int
    files: dict[str, str]
    """path inside the backup folder -> sha256"""

    @classmethod
    def describe(
        cls, folder: Path, *, kind: BackupKind, source: str, quads: int, models: int
    ) -> Manifest:
        """The manifest of the files now in `folder` (every file, hashed)."""
        files = {
            path.relative_to(folder).as_posix(): sha256_of(path)
            for path in sorted(folder.rglob("*"))
            if path.is_file() and path.name != MANIFEST
        }
        return cls(
            format=BACKUP_FORMAT,
            created=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            modelkg=__version__,
            ingest_format=INGEST_FORMAT,
            kind=kind,
            source=_without_credentials(source),
            quads=quads,
            models=models,
            files=files,
        )

    def write(self, folder: Path) -> None:
        """Write `manifest.json` into `folder` (under a temporary name, then renamed)."""
        write_atomically(folder / MANIFEST, json.dumps(asdict(self), indent=2))

    @classmethod
    def read(cls, folder: Path) -> Manifest:
        """The manifest of the backup in `folder`; `InputError` when it is missing, unreadable,
        or written by a newer ModelKG."""
        path = folder / MANIFEST
        if not path.is_file():
            raise InputError(
                "no backup here: manifest.json is missing",
                path=str(folder),
                hint="give the folder `modelkg backup DEST` made",
            )
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            found = raw["format"]
            if isinstance(found, int) and found > BACKUP_FORMAT:  # before its fields are read:
                raise InputError(  # a later format may have others
                    f"this backup has format {found}, made by ModelKG {raw.get('modelkg')}; "
                    f"this ModelKG ({__version__}) reads format {BACKUP_FORMAT} and older",
                    path=str(path),
                    field="format",
                    hint="restore it with a ModelKG at least as new as the one that made it",
                )
            manifest = cls(**raw)
        except (OSError, ValueError, TypeError, KeyError) as exc:
            if isinstance(exc, InputError):
                raise
            raise InputError(
                f"the backup's manifest is unreadable: {exc}",
                path=str(path),
                hint="the backup is damaged; use another one",
            ) from exc
        if _newer(manifest.ingest_format, INGEST_FORMAT):
            raise InputError(
                f"this backup holds graphs of ingest format {manifest.ingest_format}; this "
                f"ModelKG ({__version__}) writes format {INGEST_FORMAT}",
                path=str(path),
                field="ingest_format",
                hint="restore it with a ModelKG at least as new as the one that made it",
            )
        return manifest

    def verify(self, folder: Path) -> Manifest:
        """Check every file against its sha256 (and that none is missing); returns self."""
        for name, expected in self.files.items():
            path = folder / name
            if not path.is_file():
                raise InputError(
                    "a file of the backup is missing",
                    path=str(path),
                    hint="the backup is incomplete; use another one",
                )
            if sha256_of(path) != expected:
                raise InputError(
                    "a file of the backup does not match its sha256 in manifest.json",
                    path=str(path),
                    hint="the backup is damaged; use another one",
                )
        return self


def _newer(found: str, ours: str) -> bool:
    try:
        return int(found) > int(ours)
    except ValueError:
        return found != ours
