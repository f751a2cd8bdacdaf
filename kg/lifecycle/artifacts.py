"""Artifacts a run produced: a path or URI, the size, a checksum (sha256 or BLAKE3), a kind, and
for checkpoints the step, epoch and whether it is the run's best.

A checksum is verified whenever ModelKG holds the bytes (a local file named from Python or the
CLI, or content uploaded over HTTP): a mismatch is refused and nothing is written. A URI alone
is recorded with its declared checksum, marked unverified; the server never fetches it.

>>> import tempfile, pathlib
>>> from kg.store import EmbeddedStore
>>> from kg.lifecycle.tracking import Tracking
>>> tracking = Tracking(EmbeddedStore.open(None))
>>> run = tracking.create_run(tracking.create_experiment("e"))
>>> weights = pathlib.Path(tempfile.mkdtemp()) / "model.bin"
>>> _ = weights.write_bytes(b"weights")
>>> log_artifact(tracking, run.run_id, "model.bin", kind="checkpoint", file=weights,
...              checksum="sha256:" + "0" * 64)
Traceback (most recent call last):
...
kg.errors.LifecycleError: field `checksum`: the checksum does not match the artifact's bytes: ...
>>> log_artifact(tracking, run.run_id, "model.bin", kind="checkpoint", file=weights, step=100,
...              best=True).verified
True
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import TYPE_CHECKING

import blake3
from pyoxigraph import Literal, NamedNode

from kg.errors import LifecycleError
from kg.lifecycle.graph import GraphRecord, LifecycleIds, Write
from kg.lifecycle.records import Artifact
from kg.lifecycle.vocabulary import Vocabulary
from ontology.namespaces import MKG, PROV, XSD

if TYPE_CHECKING:
    from kg.lifecycle.tracking import Tracking

__all__ = ["artifact_of", "checksum_of", "log_artifact"]

_CHECKSUM = re.compile(r"^(sha256|blake3):([0-9a-f]{64})$")
_CHUNK = 1 << 20


def checksum_of(data: bytes | Path, algorithm: str = "sha256") -> str:
    """`algorithm:hexdigest` of some bytes or a file's bytes (read in 1 MB chunks).

    >>> checksum_of(b"abc")[:20]
    'sha256:ba7816bf8f01c'
    >>> checksum_of(b"abc", "blake3")[:20]
    'blake3:6437b3ac38465'
    """
    digest = hashlib.sha256() if algorithm == "sha256" else blake3.blake3()
    if isinstance(data, Path):
        with data.open("rb") as stream:
            while chunk := stream.read(_CHUNK):
                digest.update(chunk)
    else:
        digest.update(data)
    return f"{algorithm}:{digest.hexdigest()}"


def _declared(checksum: str | None, words: Vocabulary) -> tuple[str, str] | None:
    if checksum is None:
        return None
    found = _CHECKSUM.match(checksum.strip().lower())
    if found is None or found.group(1) not in words.checksums:
        raise LifecycleError(
            f"not a checksum: {checksum!r}",
            field="checksum",
            expected="sha256:<64 hex digits> or blake3:<64 hex digits>",
        )
    return found.group(1), found.group(0)


def log_artifact(
    tracking: Tracking,
    run_id: str,
    path: str,
    *,
    kind: str = "other",
    uri: str | None = None,
    file: Path | None = None,
    content: bytes | None = None,
    checksum: str | None = None,
    size: int | None = None,
    step: int | None = None,
    epoch: int | None = None,
    best: bool = False,
) -> Artifact:
    """Record an artifact of a running run (kind `checkpoint` makes a checkpoint, with its
    step, epoch and best flag; a new best takes the flag from the previous one)."""
    words = tracking.words
    chosen = words.one_of(words.artifact_kinds, kind, "artifact_kind")
    if not path or path.startswith("/") or ".." in Path(path).parts:
        raise LifecycleError(
            f"artifact path {path!r} must be relative, inside the run's artifacts",
            field="path",
            expected="a relative path such as checkpoints/step-100/model.safetensors",
        )
    declared = _declared(checksum, words)
    verified = False
    if file is not None or content is not None:
        algorithm = declared[0] if declared else "sha256"
        if file is not None and not file.is_file():
            raise LifecycleError(f"no such file: {file}", field="file")
        computed = checksum_of(file if file is not None else content or b"", algorithm)
        actual_size = file.stat().st_size if file is not None else len(content or b"")
        if declared is not None and declared[1] != computed:
            raise LifecycleError(
                "the checksum does not match the artifact's bytes: "
                f"declared {declared[1]}, computed {computed}",
                field="checksum",
                hint="send the checksum of these bytes, or the bytes this checksum is of",
            )
        if size is not None and size != actual_size:
            raise LifecycleError(
                f"the size does not match the artifact: declared {size}, found {actual_size}",
                field="size",
            )
        declared, size, verified = (algorithm, computed), actual_size, True
    for name, number in (("size", size), ("step", step), ("epoch", epoch)):
        if number is not None and number < 0:
            raise LifecycleError(f"{name} must not be negative, got {number}", field=name)
    checkpoint = chosen.code == "checkpoint"
    run = tracking.ids.run(run_id)
    node = LifecycleIds.part(run, "artifact", path)
    graph = tracking.ids.graph_of(run)
    with tracking.store.writer():
        state = tracking._state(run_id)
        tracking._active(run_id, state)
        write = Write(graph)
        write.remove_quads(q for q in tracking.store.subject_quads(node, graph))
        if best:
            for quad in tracking.store.graph_quads(graph):
                if quad.predicate == MKG.isBest and quad.subject != node:
                    write.removed.append(quad)
        write.add(run, MKG.hasArtifact, node)
        write.typed(node, MKG.Checkpoint if checkpoint else MKG.Artifact, PROV.Entity)
        write.add_all(
            node,
            [
                (PROV.wasGeneratedBy, run),
                (MKG.artifactPath, Literal(path)),
                (MKG.artifactKind, chosen.iri),
                (MKG.artifactUri, Literal(uri) if uri else None),
                (MKG.byteSize, _integer(size)),
                (MKG.checksum, Literal(declared[1]) if declared else None),
                (MKG.checksumVerified, Literal(verified)),
                (MKG.step, _integer(step)),
                (MKG.epoch, _integer(epoch)),
                (MKG.isBest, Literal(True) if best else None),
            ],
        )
        write.apply(tracking.store)
    return Artifact(
        path,
        chosen.code,
        uri,
        size,
        declared[1] if declared else None,
        verified,
        step,
        epoch,
        best,
        node.value,
    )


def _integer(value: int | None) -> Literal | None:
    return None if value is None else Literal(str(int(value)), datatype=XSD.integer)


def artifact_of(record: GraphRecord, node: NamedNode, words: Vocabulary) -> Artifact:
    """The artifact `node` of a run's record."""

    def number(predicate: NamedNode) -> int | None:
        text = record.one(node, predicate)
        return int(text) if text is not None else None

    kind_iri = record.one(node, MKG.artifactKind)
    kind = next((k.code for k in words.artifact_kinds.values() if k.iri.value == kind_iri), "other")
    return Artifact(
        path=record.one(node, MKG.artifactPath) or "",
        kind=kind,
        uri=record.one(node, MKG.artifactUri),
        size=number(MKG.byteSize),
        checksum=record.one(node, MKG.checksum),
        verified=record.one(node, MKG.checksumVerified) == "true",
        step=number(MKG.step),
        epoch=number(MKG.epoch),
        best=record.one(node, MKG.isBest) == "true",
        iri=node.value,
    )
