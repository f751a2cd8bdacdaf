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

import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from kg.errors import CacheError, ConfigError, InputError, SourceNotFoundError, UsageError
from kg.ingest.json_file import json_kind, parse_json, read_json_object, read_text_file, shown
from kg.ingest.libraries.known import is_marker_name, marker_file_names
from kg.store.model_graph import ModelSource, SourceKind

__all__ = [
    "KNOWN_FILES",
    "Discovery",
    "ModelSource",
    "SourceKind",
    "check_hub_id",
    "check_hub_id_option",
    "confine",
    "count_sources",
    "discover",
    "discover_all",
    "discover_stream",
    "is_hub_id",
    "walk",
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


def check_hub_id(value: object, *, path: str, field: str = "hub_id") -> str:
    """`value` when it is a hub id (`is_hub_id`), else a `ConfigError` naming the file and the
    field, with huggingface_hub's own account of what is wrong (`validate_repo_id`).

    >>> check_hub_id("../../etc", path="m/PROVENANCE.json")
    Traceback (most recent call last):
    ...
    kg.errors.ConfigError: m/PROVENANCE.json: field `hub_id`: `hub_id` is "../../etc": Repo id \
must be in the form 'repo_name' or 'namespace/repo_name': '../../etc'. ...
    """
    from huggingface_hub.errors import HFValidationError

    # documented as public; the package's __init__ re-exports it without `__all__`
    from huggingface_hub.utils import validate_repo_id  # type: ignore[attr-defined]

    expected = (
        'a hub id, `name` or `org/name` (letters, digits, "-", "_", "."), '
        'e.g. "openai-community/gpt2"'
    )
    if not isinstance(value, str):
        raise ConfigError(
            f"`{field}` is {shown(value)}, a JSON {json_kind(value)}",
            path=path,
            field=field,
            expected=expected,
        )
    if is_hub_id(value):
        return value
    try:
        validate_repo_id(value)
        why = "not a hub id"
    except HFValidationError as exc:
        why = str(exc).removesuffix(" Use `repo_type` argument if needed.")
    raise ConfigError(
        f"`{field}` is {shown(value)}: {why}",
        path=path,
        field=field,
        expected=expected,
        hint="write the model's id on the Hub, or remove the field to name the model by its "
        "config's digest",
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

    @staticmethod
    def merged(pieces: Iterable[Discovery]) -> Discovery:
        """Every piece (`walk`, `discover_stream`) in one."""
        found = Discovery()
        for piece in pieces:
            found.extend(piece)
        return found

    @staticmethod
    def slices(pieces: Iterable[Discovery], size: int) -> Iterator[Discovery]:
        """`pieces` (`walk`) regrouped `size` sources at a time, problems and notes riding
        with the slice they came in; read lazily, so the rest of `pieces` is what no slice
        has taken yet.

        >>> [len(s.sources) for s in Discovery.slices(walk(["examples/models"]), 2)][:2]
        [2, 2]
        """
        part = Discovery()
        for piece in pieces:
            part.problems.extend(piece.problems)
            part.notes.extend(piece.notes)
            for source in piece.sources:
                part.sources.append(source)
                if len(part.sources) == size:
                    yield part
                    part = Discovery()
        if part.sources or part.problems or part.notes:
            yield part


def check_hub_id_option(hub_id: str | None) -> None:
    """A `hub_id` (`--hub-id`) that is no hub id is a `UsageError`, before anything is read."""
    if hub_id is None:
        return
    try:
        check_hub_id(hub_id, path="--hub-id", field="--hub-id")
    except ConfigError as exc:
        raise UsageError(
            exc.message,
            field="--hub-id",
            expected=exc.expected,
            hint="give the model's id on the Hub, or leave out --hub-id",
        ) from exc


def walk(arguments: Iterable[str], *, hub_id: str | None = None) -> Iterator[Discovery]:
    """`discover` for every argument, in order, a model folder at a time: an ingest of a
    folder of a million models holds one folder's sources, never them all. The `hub_id` is
    checked now (`check_hub_id_option`), the folders as the caller reads on."""
    check_hub_id_option(hub_id)
    return (piece for argument in arguments for piece in discover_stream(argument, hub_id=hub_id))


def discover_all(arguments: Iterable[str], *, hub_id: str | None = None) -> Discovery:
    """Everything `walk` finds, held together (for a few models; an ingest streams)."""
    return Discovery.merged(walk(arguments, hub_id=hub_id))


def count_sources(arguments: Iterable[str]) -> int:
    """About how many sources `walk` will find, for a progress bar's total: folders are only
    listed, nothing is read (a folder that turns out broken is counted all the same).

    >>> count_sources(["examples/models", "no/such/folder"]) >= 2
    True
    """
    total = 0
    for argument in arguments:
        path = Path(argument).expanduser()
        if path.is_file() or (not path.exists() and is_hub_id(argument) and "/" in argument):
            total += 1
        elif path.is_dir():
            if _is_hf_cache(path):
                total += sum(1 for child in path.iterdir() if child.name.startswith("models--"))
            elif _is_model_folder(path):
                total += 1
            else:
                total += sum(1 for _ in _model_folders_below(path))
    return total


def discover(argument: str, *, hub_id: str | None = None) -> Discovery:
    """The model sources behind one CLI argument (a path or a hub id)."""
    return Discovery.merged(discover_stream(argument, hub_id=hub_id))


def discover_stream(argument: str, *, hub_id: str | None = None) -> Iterator[Discovery]:
    """`discover`, one model folder at a time."""
    path = Path(argument).expanduser()
    if path.is_file():
        yield Discovery(sources=[_config_file_source(path, hub_id)])
        return
    if path.is_dir():
        if _is_hf_cache(path):
            yield scan_hf_cache(path)
            return
        if _is_model_folder(path):
            yield _folder_discovery(path, hub_id)
            return
        found_any = False
        for folder in _model_folders_below(path):
            piece = _folder_discovery(folder, None)
            found_any = found_any or bool(piece.sources)
            yield piece
        if not found_any:
            yield Discovery(
                problems=[
                    (
                        argument,
                        SourceNotFoundError(
                            "no model found in this folder",
                            path=str(path),
                            expected="a model folder (a config.json, model_index.json, *.gguf, "
                            "another library's metadata file, or a model card), a folder of "
                            "such model folders, or a HuggingFace cache (models--org--name)",
                        ),
                    )
                ]
            )
        return
    if os.path.lexists(path):
        yield Discovery(
            problems=[
                (
                    argument,
                    SourceNotFoundError("broken symlink", path=str(path), hint="fix or remove it"),
                )
            ]
        )
        return
    if is_hub_id(argument) and "/" in argument:
        yield resolve_hub_id(argument)
        return
    yield Discovery(
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


def confine(found: Discovery, roots: list[Path]) -> Discovery:
    """`found` with every source whose files lead outside `roots` (after symlinks) turned into
    a problem naming the file: a server that ingests folders for others must not read, through
    a `README.md -> /etc/passwd` inside an allowed folder, what lies outside it.

    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> (root / "m").mkdir()
    >>> _ = (root / "m" / "config.json").write_text('{"model_type": "bert"}')
    >>> (root / "m" / "README.md").symlink_to("/etc/hostname")
    >>> [str(e).split(": ", 1)[1] for _, e in confine(discover(str(root / "m")), [root]).problems]
    ['links outside the folders allowed here, to /etc/hostname (expected a file under ...)']
    """
    real_roots = [root.resolve() for root in roots]
    kept = Discovery(problems=list(found.problems), notes=list(found.notes))
    for source in found.sources:
        outside = next(
            (
                (name, real)
                for name, path in sorted(source.files.items())
                if not any((real := path.resolve()).is_relative_to(r) for r in real_roots)
            ),
            None,
        )
        if outside is None:
            kept.sources.append(source)
            continue
        name, real = outside
        kept.problems.append(
            (
                source.display,
                InputError(
                    f"links outside the folders allowed here, to {real}",
                    path=str(source.files[name]),
                    expected="a file under " + ", ".join(str(r) for r in real_roots),
                    hint="copy the file into the model folder instead of linking it",
                ),
            )
        )
    return kept


def _folder_discovery(folder: Path, hub_id: str | None) -> Discovery:
    """One model folder as a source, or as a problem when what names it is broken."""
    try:
        return Discovery(sources=[model_folder_source(folder, hub_id=hub_id)])
    except InputError as error:
        return Discovery(problems=[(str(folder), error)])


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
            names = [entry.name for entry in entries if not _is_folder(entry)]
    except OSError:
        return False
    return _names_make_a_model(names, path)


def _is_folder(entry: os.DirEntry[str]) -> bool:
    """Whether a folder entry is a folder; a symlink loop is not (its reader names it)."""
    try:
        return entry.is_dir()
    except OSError:
        return False


def _names_make_a_model(names: list[str], folder: Path) -> bool:
    if any(is_marker_name(name) for name in names):
        return True
    return CARD_FILE in names and _has_front_matter(folder / CARD_FILE)


def _has_front_matter(card: Path) -> bool:
    """Whether a README.md opens with YAML front matter, as a model card on the Hub does (a
    plain README of a project folder is not a model)."""
    try:
        if not card.is_file():  # a FIFO would block the open below
            return False
        with card.open("rb") as handle:
            start = handle.read(64).removeprefix(b"\xef\xbb\xbf").lstrip()  # a BOM, blank lines
            return start.startswith(b"---") and start[3:4] in (b"\r", b"\n", b" ", b"")
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
        return parse_json(read_text_file(path), path)
    except (OSError, InputError):
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
            if wanted and not _is_folder(entry):
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
        # written to name the model: a broken one is an error, not a silent hash-named model
        data = read_json_object(provenance)
        if "hub_id" in data:
            hub_id = check_hub_id(data["hub_id"], path=str(provenance))
            origin = "PROVENANCE.json"
            listed = data.get("files")
            commits = {
                f.get("commit")
                for f in (listed.values() if isinstance(listed, dict) else ())
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
