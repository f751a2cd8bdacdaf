"""Read a GGUF file's header with the `gguf` package's own `GGUFReader` (llama.cpp's reader):
architecture, context length, file (quantization) type and parameter count.

Only the header is read: the reader memory-maps the file and parses the key-value metadata and
the tensor infos; tensor data is never touched (the tensor views the stock reader builds are
skipped), so a 40 GB file costs what its header costs. The metadata is capped at
`MAX_GGUF_HEADER_BYTES`: a header larger than that is refused rather than parsed, and so is a
metadata array that claims more items than the rest of the file could hold. A truncated or
malformed header is an `InputError` naming the file.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from kg.errors import ConfigError, FileTooLargeError
from kg.ingest.draft import ModelDraft
from kg.ingest.libraries.common import file_path, offer
from ontology.namespaces import MKG, RDF

__all__ = ["MAX_GGUF_HEADER_BYTES", "GGUFHeader", "gguf_digest", "read_gguf", "read_gguf_header"]

MAX_GGUF_HEADER_BYTES = 256 * 1024 * 1024
"""Cap on a GGUF header (metadata and tensor infos): real ones, vocabularies included, are tens
of megabytes at most."""


class _HeaderTooLargeError(Exception):
    pass


def _header_reader(path: Path, limit: int) -> Any:
    import numpy as np
    from gguf import GGUFReader, GGUFValueType

    class HeaderReader(GGUFReader):
        """GGUFReader that stops past `limit` bytes of metadata and builds no tensor data."""

        def _push_field(self, field: Any, skip_sum: bool = False) -> int:
            if field.offset > limit:
                raise _HeaderTooLargeError(field.offset)
            return int(super()._push_field(field, skip_sum))

        def _get_field_parts(self, orig_offs: int, raw_type: int) -> Any:
            # the stock reader walks an array item by item, and reading past the end of the
            # file gives empty items, not an error: a 100-byte file claiming 2**40 items
            # would loop for hours. An array must fit in what is left of the file.
            if raw_type == GGUFValueType.ARRAY:
                item_type = int(self._get(orig_offs, np.uint32)[0])
                count = self._get(orig_offs + 4, np.uint64)
                scalar = self.gguf_scalar_to_np.get(GGUFValueType(item_type))
                smallest = np.dtype(scalar).itemsize if scalar is not None else 8
                if count.size and int(count[0]) * smallest > len(self.data) - orig_offs:
                    raise ValueError(
                        f"an array of {int(count[0]):,} items at offset {orig_offs:,} runs past "
                        f"the end of the file ({len(self.data):,} bytes)"
                    )
            return super()._get_field_parts(orig_offs, raw_type)

        def _get_tensor_info_field(self, orig_offs: int) -> Any:
            if orig_offs > limit:
                raise _HeaderTooLargeError(orig_offs)
            return super()._get_tensor_info_field(orig_offs)

        def _build_tensors(self, start_offs: int, fields: list[Any]) -> None:
            self.tensor_infos = [
                (
                    bytes(f.parts[1]).decode("utf-8", "replace"),
                    int(f.parts[4][0]),
                    f.parts[3].tolist(),
                )
                for f in fields
            ]

    return HeaderReader(path)


class GGUFHeader:
    """What a GGUF header says: its metadata values and each tensor's type and shape."""

    def __init__(self, metadata: dict[str, Any], tensors: list[tuple[str, int, list[int]]]) -> None:
        self.metadata = metadata
        self.tensors = tensors

    @property
    def parameter_count(self) -> int:
        total = 0
        for _, _, shape in self.tensors:
            count = 1
            for dim in shape:
                count *= int(dim)
            total += count
        return total


def read_gguf_header(path: Path, *, limit: int = MAX_GGUF_HEADER_BYTES) -> GGUFHeader:
    """Parse the header of the GGUF file at `path`; errors name the file."""
    try:
        reader = _header_reader(path, limit)
    except _HeaderTooLargeError as exc:
        raise FileTooLargeError(
            f"GGUF metadata runs past {limit:,} bytes (at offset {exc.args[0]:,})",
            path=str(path),
            hint="a GGUF header is small; the file is malformed or not a GGUF model",
        ) from exc
    except (ValueError, IndexError, KeyError, OverflowError, TypeError) as exc:
        truncated = isinstance(exc, IndexError) or "reshape" in str(exc) or "size" in str(exc)
        raise ConfigError(
            ("truncated GGUF header" if truncated else "malformed GGUF header")
            + f": {str(exc) or type(exc).__name__}",
            path=str(path),
            field="header",
            expected="a GGUF file (magic GGUF, version 2 or 3, key-value metadata, tensor infos)",
            hint="download the file again; a partial download cuts the header",
        ) from exc
    metadata: dict[str, Any] = {}
    for name, field in reader.fields.items():
        if name.startswith("GGUF.") or name.startswith("tokenizer.ggml."):
            continue  # the vocabulary: large, and not needed here
        try:
            metadata[name] = field.contents()
        except (ValueError, IndexError, UnicodeDecodeError):
            continue
    return GGUFHeader(metadata, list(getattr(reader, "tensor_infos", [])))


def gguf_digest(path: Path, *, limit: int = 1 << 20) -> str:
    """A digest of a GGUF file that reads only its first megabyte and its size: the header
    (what ingest reads) lives there, and hashing gigabytes of weights to notice a change would
    cost more than the ingest itself."""
    digest = hashlib.sha256(str(path.stat().st_size).encode())
    with path.open("rb") as handle:
        digest.update(handle.read(limit))
    return digest.hexdigest()


def read_gguf(draft: ModelDraft, files: dict[str, Path]) -> None:
    """Add each GGUF file's architecture, context length, quantization and size to `draft`."""
    from gguf import LlamaFileType

    model = draft.model.iri
    split_total, split_files = 0, []
    for name in sorted(n for n in files if n.endswith(".gguf")):
        header = read_gguf_header(files[name])
        meta = header.metadata
        architecture = meta.get("general.architecture")
        if not isinstance(architecture, str) or not architecture:
            raise ConfigError(
                "no `general.architecture` in the GGUF metadata",
                path=file_path(draft, name),
                field="general.architecture",
                expected='the model architecture, e.g. "llama"',
            )
        draft.add_value(model, MKG.ggufArchitecture, architecture)
        for key, canonical in (
            (f"{architecture}.context_length", "max_position_embeddings"),
            (f"{architecture}.embedding_length", "hidden_size"),
            (f"{architecture}.block_count", "num_hidden_layers"),
            (f"{architecture}.attention.head_count", "num_attention_heads"),
            (f"{architecture}.attention.head_count_kv", "num_key_value_heads"),
        ):
            value = meta.get(key)
            if isinstance(value, int) and not isinstance(value, bool):
                offer(draft, draft.model, canonical, value, key=key, file=name, framework="gguf")
        if header.tensors and isinstance(meta.get("split.count"), int) and meta["split.count"] > 1:
            split_total += header.parameter_count  # one shard of a split model: add them up
            split_files.append(name)
        elif header.tensors:
            offer(
                draft,
                draft.model,
                "total_parameters",
                header.parameter_count,
                key="tensor infos",
                file=name,
                framework="gguf",
                priority=8,
            )
        file_type = meta.get("general.file_type")
        if isinstance(file_type, int) and not isinstance(file_type, bool):
            try:
                quantization = LlamaFileType(file_type).name.removeprefix("MOSTLY_")
            except ValueError:
                quantization = str(file_type)
            node = draft.node("quantization")
            draft.add(model, MKG.hasQuantization, node)
            draft.add(node, RDF.type, MKG.Quantization)
            draft.add_value(node, MKG.quantizationMethod, "gguf")
            draft.add_value(node, MKG.quantizationType, quantization)
            draft.add_value(model, MKG.quantizationType, quantization)
    if split_files:
        offer(
            draft,
            draft.model,
            "total_parameters",
            split_total,
            key=f"tensor infos of {len(split_files)} shards",
            file=split_files[0],
            framework="gguf",
            priority=8,
        )
