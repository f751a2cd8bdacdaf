"""Ingest over the network (GraphQL mutation and REST), with the same checks as the CLI.

Two ways in, both behind the operator's token: server-side paths, only under the folders the
operator allowed (`--ingest-root`; resolved, so `..` and symlinks cannot climb out), or uploaded
files of one model, written to a private temporary folder first. The server never fetches a URL.
Ingested models are re-derived at once, as `modelkg ingest` does.

>>> from resolvers.settings import ServerSettings
>>> check_roots(["/etc/passwd"], ServerSettings(ingest_roots=("/srv/models",)))
Traceback (most recent call last):
...
resolvers.errors.HttpError: `/etc/passwd` is outside the folders this server may ingest from
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path, PurePath

from kg.errors import ModelKGError
from kg.ingest.pipeline import IngestSummary
from kg.ingest.register import register
from resolvers.errors import HttpError, from_modelkg_error
from resolvers.services import Services
from resolvers.settings import ServerSettings

__all__ = ["IngestReport", "check_roots", "ingest_paths", "ingest_uploads"]


@dataclass(frozen=True)
class IngestReport:
    """What an ingest request did: names per outcome, rejections with their reasons."""

    ingested: list[str]
    updated: list[str]
    unchanged: list[str]
    rejected: list[tuple[str, str]]
    warnings: list[tuple[str, str]]
    triples: int

    @classmethod
    def of(cls, summary: IngestSummary) -> IngestReport:
        return cls(
            summary.ingested,
            summary.updated,
            summary.unchanged,
            summary.rejected,
            summary.warnings,
            summary.triples,
        )


def check_roots(paths: Sequence[str], settings: ServerSettings) -> list[str]:
    """The paths, resolved, when each lies under an allowed root; 403 otherwise."""
    if not settings.ingest_roots:
        raise HttpError(
            403,
            "paths_disabled",
            "this server ingests uploaded files only; no server-side folder is allowed",
            field="paths",
            hint="upload the model's files, or ask the operator to start the server with "
            "--ingest-root DIR",
        )
    roots = [Path(root).resolve() for root in settings.ingest_roots]
    resolved = []
    for path in paths:
        real = Path(path).resolve()
        if not any(real == root or real.is_relative_to(root) for root in roots):
            raise HttpError(
                403,
                "path_not_allowed",
                f"`{path}` is outside the folders this server may ingest from",
                field="paths",
                hint="allowed: " + ", ".join(str(r) for r in roots),
            )
        resolved.append(str(real))
    return resolved


def _run(
    shared: Services, arguments: list[str], hub_id: str | None, roots: Sequence[str] = ()
) -> IngestReport:
    """Register (`kg.ingest.register`: ingest, reasoning, index sync as one write); the search
    index follows before the ingest is answered. Files that link out of `roots` are refused
    (`kg.ingest.sources.confine`)."""
    try:
        done = register(
            arguments,
            shared.store,
            sync_index=shared.search.after_ingest,
            hub_id=hub_id,
            workers=0,
            roots=roots,
        )
    except ModelKGError as exc:
        raise from_modelkg_error(exc) from exc
    return IngestReport.of(done.ingest)


def ingest_paths(shared: Services, paths: Sequence[str]) -> IngestReport:
    """Ingest server-side paths under the allowed roots."""
    if not paths:
        raise HttpError(400, "missing_input", "name at least one path", field="paths")
    settings = shared.settings
    return _run(shared, check_roots(paths, settings), None, settings.ingest_roots)


def ingest_uploads(
    shared: Services, files: Sequence[tuple[str, bytes]], hub_id: str | None
) -> IngestReport:
    """Ingest one model from uploaded files (config.json, README.md, ...), named `hub_id`."""
    if not files:
        raise HttpError(400, "missing_input", "upload at least one file", field="files")
    with tempfile.TemporaryDirectory(prefix="modelkg-upload-") as folder:
        for name, content in files:
            relative = PurePath(name)
            if relative.is_absolute() or ".." in relative.parts or not relative.parts:
                raise HttpError(
                    400,
                    "bad_file_name",
                    f"upload name `{name}` must be a relative path inside the model folder",
                    field="files",
                    hint="name files as in the repository: config.json, 1_Pooling/config.json",
                )
            target = Path(folder, relative)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
        if not hub_id:  # else the model is named after the private folder the files are put in
            raise HttpError(
                400,
                "missing_input",
                "uploaded files need the hub id of the model they make",
                field="hub_id",
                hint="send `hub_id` (GraphQL: `hubId`) with the files, such as `my-org/my-model`",
            )
        return _without_folder(_run(shared, [folder], hub_id), folder)


def _without_folder(report: IngestReport, folder: str) -> IngestReport:
    """The report with the private temporary folder named as what it is to the client: the
    uploaded files."""

    def named(text: str) -> str:
        return text.replace(folder, "the uploaded files")

    return replace(
        report,
        rejected=[(named(source), named(reason)) for source, reason in report.rejected],
        warnings=[(named(source), named(text)) for source, text in report.warnings],
    )
