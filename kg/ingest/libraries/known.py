"""The libraries ModelKG knows, read from `ontology/libraries.ttl`, and which one made a folder.

A library is named by its marker files: `model_index.json` makes a diffusers pipeline,
`config_setfit.json` a SetFit model, a `config.json` holding `pretrained_cfg` a timm model. When
several libraries' markers match (a SetFit folder also holds sentence-transformers and
transformers files) the highest-ranked marker wins. The markers are data; this module only
walks them.

>>> from pathlib import Path
>>> import tempfile
>>> folder = Path(tempfile.mkdtemp())
>>> _ = (folder / "config.json").write_text('{"architecture": "resnet50", "pretrained_cfg": {}}')
>>> detect_library({"config.json": folder / "config.json"}).label
'timm'
>>> library_by_id("scikit-learn").label, library_by_id("no-such-library") is None
('Scikit-learn', True)
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from kg.ingest.json_file import read_json_object_or_none
from ontology.files import LIBRARIES_FILE, ONTOLOGY_GRAPH, read_turtle
from ontology.namespaces import MKG, RDF, RDFS

__all__ = [
    "Library",
    "Marker",
    "detect_library",
    "is_marker_name",
    "known_libraries",
    "library_by_id",
    "marker_file_names",
]


@dataclass(frozen=True)
class Marker:
    """A file (or a glob) that makes a folder a model of a library, with an optional JSON key."""

    file: str | None
    pattern: str | None
    key: str | None
    rank: int

    def names_match(self, name: str) -> bool:
        if self.file is not None:
            return name == self.file
        return self.pattern is not None and fnmatch.fnmatchcase(name, self.pattern)


@dataclass(frozen=True)
class Library:
    """One `mkg:Library` individual: its IRI, label, Hub ids and markers."""

    iri: str
    label: str
    ids: tuple[str, ...]
    markers: tuple[Marker, ...]

    @property
    def name(self) -> str:
        """The library's short name (`diffusers`), from its IRI (`mkg:library-diffusers`)."""
        return self.iri.rsplit("#library-", 1)[-1]


@cache
def known_libraries() -> tuple[Library, ...]:
    """Every library of `ontology/libraries.ttl`, parsed once per process."""
    quads = read_turtle(LIBRARIES_FILE, ONTOLOGY_GRAPH)
    by_subject: dict[str, dict[str, list[object]]] = {}
    for quad in quads:
        by_subject.setdefault(str(quad.subject), {}).setdefault(quad.predicate.value, []).append(
            quad.object
        )
    libraries: list[Library] = []
    for subject, props in by_subject.items():
        if not any(
            getattr(o, "value", None) == MKG.Library.value for o in props.get(RDF.type.value, [])
        ):
            continue
        markers = []
        for node in props.get(MKG.marker.value, []):
            marker = by_subject.get(str(node), {})
            markers.append(
                Marker(
                    file=_one(marker, MKG.markerFile.value),
                    pattern=_one(marker, MKG.markerPattern.value),
                    key=_one(marker, MKG.markerKey.value),
                    rank=int(_one(marker, MKG.markerRank.value) or 0),
                )
            )
        libraries.append(
            Library(
                iri=subject.strip("<>"),
                label=_one(props, RDFS.label.value) or subject,
                ids=tuple(
                    sorted(str(getattr(v, "value", v)) for v in props.get(MKG.libraryId.value, []))
                ),
                markers=tuple(sorted(markers, key=lambda m: -m.rank)),
            )
        )
    return tuple(sorted(libraries, key=lambda lib: lib.iri))


def _one(props: Mapping[str, list[object]], predicate: str) -> str | None:
    values = props.get(predicate)
    return str(getattr(values[0], "value", values[0])) if values else None


def library_by_id(library_id: str) -> Library | None:
    """The library the Hub calls `library_id` (a card's `library_name`), case-insensitively."""
    wanted = library_id.strip().lower()
    return next((lib for lib in known_libraries() if wanted in {i.lower() for i in lib.ids}), None)


@cache
def marker_file_names() -> frozenset[str]:
    """The plain file names of every marker (discovery reads these files from a folder)."""
    return frozenset(m.file for lib in known_libraries() for m in lib.markers if m.file)


def is_marker_name(name: str) -> bool:
    """Whether a file name is some library's marker (its key aside): a model lives here."""
    return any(m.names_match(name) for lib in known_libraries() for m in lib.markers)


def detect_library(
    files: Mapping[str, Path], keys: Mapping[str, frozenset[str]] | None = None
) -> Library | None:
    """The library whose highest-ranked marker matches `files` (names relative to the folder);
    None when no marker matches (a folder with only a model card). `keys` gives the top-level
    keys of files the caller has parsed already (`_top_level_keys`' answer), so a marker's key
    is looked up without reading them again."""
    best: tuple[int, Library] | None = None
    keys_of: dict[str, frozenset[str]] = dict(keys or {})
    for library in known_libraries():
        for marker in library.markers:
            if best is not None and marker.rank <= best[0]:
                continue
            if _matches(marker, files, keys_of):
                best = (marker.rank, library)
    return best[1] if best else None


def _matches(marker: Marker, files: Mapping[str, Path], keys_of: dict[str, frozenset[str]]) -> bool:
    names: Iterable[str] = (n for n in files if "/" not in n and marker.names_match(n))
    for name in names:
        if marker.key is None:
            return True
        if name not in keys_of:
            keys_of[name] = _top_level_keys(files[name])
        if marker.key in keys_of[name]:
            return True
    return False


def _top_level_keys(path: Path) -> frozenset[str]:
    """The top-level keys of a JSON object file; none for anything unreadable (its reader
    reports that with the file and line)."""
    return frozenset(read_json_object_or_none(path) or ())
