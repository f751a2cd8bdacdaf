"""Find the models behind what a user names: a config file, a model folder, a folder of model
folders, a whole HuggingFace cache, or a hub id resolved in the local cache (offline).

A source is just where the files are and what the model is called; reading happens later, so a
broken entry is reported for that entry alone and the rest carry on.

>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> _ = (folder / "config.json").write_text('{"model_type": "bert"}')
>>> [source.kind for source in discover(str(folder)).sources]
['model-folder']
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from kg.errors import CacheError, InputError, SourceNotFoundError
from kg.ingest.libraries.known import is_marker_name, marker_file_names
from kg.store.model_graph import ModelSource, SourceKind

__all__ = [
    "KNOWN_FILES",
    "Discovery",
    "ModelSource",
    "SourceKind",
    "discover",
    "discover_all",
    "is_hub_id",
]

KNOWN_FILES: tuple[str, ...] = (
    "config.json",
    "README.md",
    "generation_config.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "preprocessor_config.json",
    "adapter_config.json",
    "modules.json",
    "sentence_bert_config.json",
    "config_sentence_transformers.json",
    "quantize_config.json",
    "model.safetensors.index.json",
    "PROVENANCE.json",
)
"""Metadata files read from a model folder (plus sentence-transformers module folders, diffusers
component folders, and every library's marker files, `ontology/libraries.ttl`)."""

TOKENIZER_FILES: tuple[str, ...] = (
    "tokenizer.json",
    "vocab.txt",
    "vocab.json",
    "merges.txt",
    "spiece.model",
    "sentencepiece.bpe.model",
    "tokenizer.model",
)
"""Vocabulary files: hashed (never parsed) so equal tokenizers can be recognized."""

CARD_FILE = "README.md"
"""A folder with only a model card (with YAML front matter) is a model too: it ingests from its
card, with a warning."""
_COMPONENT_FILES = ("config.json", "scheduler_config.json", "preprocessor_config.json")
_HUB_ID = re.compile(r"^(?:[A-Za-z0-9][A-Za-z0-9_.-]*/)?[A-Za-z0-9][A-Za-z0-9_.-]*$")


def is_hub_id(text: str) -> bool:
    """Whether `text` is a hub id (`name` or `org/name`).

    huggingface_hub's rules (`validate_repo_id`): letters, digits, `-`, `_`, `.`; no `--` or
    `..` (the cache uses `--` as its separator); no `.git` suffix; at most 96 characters. Its
    check also rejects a trailing `-`, which real, older repositories have (the corpus holds
    one), so that rule is not applied here.

    >>> is_hub_id("sentence-transformers/all-MiniLM-L6-v2"), is_hub_id("a/b/c")
    (True, False)
    >>> is_hub_id("foo--bar"), is_hub_id("org/name.git")
    (False, False)
    """
    name = text.rsplit("/", 1)[-1]
    return (
        bool(_HUB_ID.match(text))
        and "--" not in text
        and ".." not in text
        and not text.endswith(".git")
        and len(name) <= 96
    )


@dataclass
class Discovery:
    """What `discover` found: sources to read, and entries that cannot be read at all."""

    sources: list[ModelSource] = field(default_factory=list)
    problems: list[tuple[str, InputError]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def extend(self, other: Discovery) -> None:
        self.sources.extend(other.sources)
        self.problems.extend(other.problems)
        self.notes.extend(other.notes)


def discover_all(arguments: list[str], *, hub_id: str | None = None) -> Discovery:
    """`discover` for every argument, in order."""
    found = Discovery()
    for argument in arguments:
        found.extend(discover(argument, hub_id=hub_id))
    return found


def discover(argument: str, *, hub_id: str | None = None) -> Discovery:
    """The model sources behind one CLI argument (a path or a hub id)."""
    path = Path(argument).expanduser()
    if path.is_file():
        return Discovery(sources=[_config_file_source(path, hub_id)])
    if path.is_dir():
        if _is_hf_cache(path):
            return scan_hf_cache(path)
        if _is_model_folder(path):
            return Discovery(sources=[model_folder_source(path, hub_id=hub_id)])
        found = Discovery()
        for folder in _model_folders_below(path):
            found.sources.append(model_folder_source(folder))
        if not found.sources:
            found.problems.append(
                (
                    argument,
                    SourceNotFoundError(
                        "no model found in this folder",
                        path=str(path),
                        expected="a model folder (a config.json, model_index.json, *.gguf, "
                        "another library's metadata file, or a model card), a folder of such "
                        "model folders, or a HuggingFace cache (models--org--name)",
                    ),
                )
            )
        return found
    if os.path.lexists(path):
        return Discovery(
            problems=[
                (
                    argument,
                    SourceNotFoundError("broken symlink", path=str(path), hint="fix or remove it"),
                )
            ]
        )
    if is_hub_id(argument) and "/" in argument:
        return resolve_hub_id(argument)
    return Discovery(
        problems=[
            (
                argument,
                SourceNotFoundError(
                    "no such file or folder, and not a hub id (org/name) in the local cache",
                    path=argument,
                    hint="check the path, or give a hub id such as `openai-community/gpt2`",
                ),
            )
        ]
    )


def _config_file_source(path: Path, hub_id: str | None) -> ModelSource:
    """One file named on its own: a config.json (whatever its name), or a GGUF file."""
    return ModelSource(
        kind="config-file",
        location=path,
        files={path.name if path.suffix == ".gguf" else "config.json": path},
        hub_id=hub_id,
        hub_id_origin="--hub-id" if hub_id else None,
    )


def _is_model_folder(path: Path) -> bool:
    """A folder holding some library's marker file (`ontology/libraries.ttl`), or a model card."""
    try:
        with os.scandir(path) as entries:
            names = [entry.name for entry in entries if not entry.is_dir()]
    except OSError:
        return False
    return _names_make_a_model(names, path)


def _names_make_a_model(names: list[str], folder: Path) -> bool:
    if any(is_marker_name(name) for name in names):
        return True
    return CARD_FILE in names and _has_front_matter(folder / CARD_FILE)


def _has_front_matter(card: Path) -> bool:
    """Whether a README.md opens with YAML front matter, as a model card on the Hub does (a
    plain README of a project folder is not a model)."""
    try:
        with card.open("rb") as handle:
            return handle.read(4).rstrip(b"\r\n ") == b"---"
    except OSError:
        return False


def _is_hf_cache(path: Path) -> bool:
    return any(child.name.startswith("models--") for child in path.iterdir() if child.is_dir())


def _model_folders_below(path: Path, depth: int = 3) -> Iterator[Path]:
    if depth == 0:
        return
    for child in sorted(path.iterdir()):
        if child.is_dir() and not child.name.startswith("."):
            if _is_model_folder(child):
                yield child
            else:
                yield from _model_folders_below(child, depth - 1)


def _index_of(files: dict[str, Path], name: str) -> object:
    """The JSON of a file that lists a model's module or component folders, or None when it
    is missing or broken (its reader reports a broken one with file and line)."""
    path = files.get(name)
    if path is None:
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _module_folder_files(folder: Path, files: dict[str, Path]) -> None:
    """Add the config files of sentence-transformers modules listed in modules.json."""
    entries = _index_of(files, "modules.json")
    if not isinstance(entries, list):
        return
    for entry in entries:
        if isinstance(entry, dict) and isinstance(entry.get("path"), str) and entry["path"]:
            sub = entry["path"].strip("/")
            candidate = folder / sub / "config.json"
            if ".." not in sub and (candidate.is_file() or candidate.is_symlink()):
                files[f"{sub}/config.json"] = candidate


def _component_folder_files(folder: Path, files: dict[str, Path]) -> None:
    """Add the config of every component a diffusers `model_index.json` names (`unet/`,
    `vae/`, `text_encoder/`, ...): the pipeline is one model, its components are its parts."""
    entries = _index_of(files, "model_index.json")
    if not isinstance(entries, dict):
        return
    for name, value in entries.items():
        if name.startswith("_") or not isinstance(value, list) or "/" in name or ".." in name:
            continue
        for file in _COMPONENT_FILES:
            candidate = folder / name / file
            if candidate.is_file():
                files[f"{name}/{file}"] = candidate


def _wanted_names() -> frozenset[str]:
    return frozenset((*KNOWN_FILES, *TOKENIZER_FILES, *marker_file_names()))


def _folder_files(folder: Path) -> dict[str, Path]:
    """The metadata files of a model folder, found with one directory scan."""
    files: dict[str, Path] = {}
    wanted_names = _wanted_names()
    with os.scandir(folder) as entries:
        for entry in entries:
            name = entry.name
            wanted = (
                name in wanted_names
                or (
                    name.endswith(".safetensors")
                    and (name == "model.safetensors" or name.startswith("model-"))
                )
                or is_marker_name(name)
            )
            if wanted and not entry.is_dir():
                files[name] = folder / name
    _module_folder_files(folder, files)
    _component_folder_files(folder, files)
    return files


def model_folder_source(folder: Path, *, hub_id: str | None = None) -> ModelSource:
    """A model folder; its hub id comes from `--hub-id` or a `PROVENANCE.json` beside it."""
    files = _folder_files(folder)
    origin = "--hub-id" if hub_id else None
    revision = None
    provenance = files.pop("PROVENANCE.json", None)
    if hub_id is None and provenance is not None:
        try:
            data = json.loads(provenance.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = None
        if (
            isinstance(data, dict)
            and isinstance(data.get("hub_id"), str)
            and is_hub_id(data["hub_id"])
        ):
            hub_id = data["hub_id"]
            origin = "PROVENANCE.json"
            commits = {
                f.get("commit")
                for f in (data.get("files") or {}).values()
                if isinstance(f, dict) and isinstance(f.get("commit"), str)
            }
            if len(commits) == 1:
                revision = commits.pop()
    return ModelSource(
        kind="model-folder",
        location=folder,
        files=files,
        hub_id=hub_id,
        revision=revision,
        hub_id_origin=origin,
    )


def scan_hf_cache(cache_dir: Path) -> Discovery:
    """Every model repository of a HuggingFace cache, read with huggingface_hub's own scanner.

    Corrupted entries (broken symlinks, missing snapshots) are reported one by one, the way
    `scan_cache_dir` reports them, and the scan goes on.
    """
    from huggingface_hub import scan_cache_dir
    from huggingface_hub.errors import CacheNotFound

    try:
        info = scan_cache_dir(cache_dir)
    except CacheNotFound as exc:
        raise SourceNotFoundError(str(exc), path=str(cache_dir)) from exc
    found = Discovery()
    for warning in info.warnings:
        message = str(warning)
        found.problems.append(
            (
                _repo_folder_of(message, cache_dir),
                CacheError(
                    message,
                    path=str(cache_dir),
                    hint="re-download the model (`hf download ORG/NAME`) or delete its folder",
                ),
            )
        )
    for repo in sorted(info.repos, key=lambda r: r.repo_id):
        if repo.repo_type != "model":
            continue
        revisions = sorted(repo.revisions, key=lambda r: ("main" not in r.refs, -r.last_modified))
        if not revisions:
            found.problems.append(
                (
                    repo.repo_id,
                    CacheError(
                        "no snapshot in the cache (a partial download?)",
                        path=str(repo.repo_path),
                        hint=f"re-download it: `hf download {repo.repo_id}`",
                    ),
                )
            )
            continue
        chosen = revisions[0]
        if len(revisions) > 1:
            found.notes.append(
                f"{repo.repo_id}: {len(revisions)} revisions cached; ingested "
                f"{chosen.commit_hash[:12]} ({', '.join(sorted(chosen.refs)) or 'newest'})"
            )
        snapshot = Path(chosen.snapshot_path)
        incomplete = sorted((Path(repo.repo_path) / "blobs").glob("*.incomplete"))
        if incomplete:
            found.notes.append(
                f"{repo.repo_id}: {len(incomplete)} incomplete download(s) in blobs/ ignored"
            )
        files = _folder_files(snapshot)
        if not _names_make_a_model([n for n in files if "/" not in n], snapshot):
            found.problems.append(
                (
                    repo.repo_id,
                    CacheError(
                        "the snapshot has no file any known library saves a model with, and no "
                        "model card (a partial download?)",
                        path=str(snapshot),
                        hint=f"re-download it: `hf download {repo.repo_id}`",
                    ),
                )
            )
            continue
        files.pop("PROVENANCE.json", None)
        found.sources.append(
            ModelSource(
                kind="hf-cache",
                location=snapshot,
                files=files,
                hub_id=repo.repo_id,
                revision=chosen.commit_hash,
                hub_id_origin="hf-cache",
            )
        )
    return found


def _repo_folder_of(message: str, cache_dir: Path) -> str:
    match = re.search(r"models--([^/\s]+)", message)
    return match.group(1).replace("--", "/") if match else str(cache_dir)


def resolve_hub_id(hub_id: str, cache_dir: Path | None = None) -> Discovery:
    """Find `hub_id` in the local HuggingFace cache, offline."""
    from huggingface_hub import constants

    cache = Path(cache_dir or constants.HF_HUB_CACHE)
    not_found = SourceNotFoundError(
        f"hub id `{hub_id}` is not in the local HuggingFace cache at {cache}",
        path=hub_id,
        hint="ModelKG works offline: download it first (`hf download "
        f"{hub_id}`), or point HF_HUB_CACHE at the cache that holds it",
    )
    repo_folder = cache / ("models--" + hub_id.replace("/", "--"))
    if not cache.is_dir() or not repo_folder.is_dir():
        return Discovery(problems=[(hub_id, not_found)])
    found = scan_hf_cache(cache)
    return Discovery(
        sources=[s for s in found.sources if s.hub_id == hub_id],
        problems=[(name, err) for name, err in found.problems if name == hub_id],
        notes=[note for note in found.notes if note.startswith(f"{hub_id}:")],
    )
