"""The printed tables of bench/search.py: one per measurement, targets and verdicts beside."""

from __future__ import annotations

import argparse
from typing import Any

from loadgen import percentile

Row = list[str]


def p50_p95(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return percentile(ordered, 0.50), percentile(ordered, 0.95)


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def print_table(title: str, header: Row, rows: list[Row]) -> None:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    print(f"\n{title}")
    for line in [header, ["-" * w for w in widths], *rows]:
        print(" | ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)))


def rate_row(label: str, count: int, ours: float, theirs: float) -> Row:
    return [label, f"{count / ours:,.1f}", "", f"{count / theirs:,.1f}", "",
            f"{theirs / ours:.2f}x", "", ""]  # fmt: skip


def report(
    results: dict[int, dict[str, Any]], embed_rows: list[Row], args: argparse.Namespace,
    generator: str, embedded: int,
) -> None:  # fmt: skip
    top = max(results)
    latency, recall, build, http = [], [], [], []
    for count, found in results.items():
        n = f"{count:,}" + (" (mixed)" if count > embedded else "")
        index, service = found["index"], found["service"]
        (a50, a95), (b50, b95), (e50, e95) = index["ann"], index["naive"], index["exact"]
        target = "p95 < 10 ms" + (" (at 100k)" if count != top else "")
        latency += [
            [n, "VectorIndex.search (vector)", "HNSW", f"{a50:.3f}", f"{a95:.3f}",
             "numpy brute force", f"{b50:.3f}", f"{b95:.3f}", f"{b95 / a95:.1f}x", target,
             verdict(a95 < 10)],
            [n, "VectorIndex.search (vector)", "exact=True", f"{e50:.3f}", f"{e95:.3f}",
             "numpy brute force", f"{b50:.3f}", f"{b95:.3f}", f"{b95 / e95:.2f}x", "", ""],
        ]  # fmt: skip
        for label in ("uncached", "cached"):
            (s50, s95), (x50, x95) = service[f"ann {label}"], service[f"exact {label}"]
            # a text embedded for the first time costs the encoder (~19 ms alone, its own target
            # in the embeddings table) before any search: the 10 ms target is the search's
            goal, met = (target, verdict(s95 < 10)) if label == "cached" else ("(encoder)", "")
            latency.append(
                [n, f"SearchService.search (text, {label})", "HNSW", f"{s50:.2f}", f"{s95:.2f}",
                 "exact=True", f"{x50:.2f}", f"{x95:.2f}", f"{x95 / s95:.2f}x", goal, met]
            )  # fmt: skip
        recall.append([n, "brute force (baseline)", "1.000", f"{b50:.3f}", f"{b95:.3f}", "", ""])
        for ef, r, p50, p95 in index["sweep"]:
            chosen = " (used)" if ef == args.ef_search else ""
            recall.append([n, f"HNSW ef_search={ef}{chosen}", f"{r:.3f}", f"{p50:.3f}",
                           f"{p95:.3f}", ">= 0.95" if chosen else "",
                           verdict(r >= 0.95) if chosen else ""])  # fmt: skip
        b = found["build"]
        build += [
            [n, f"HNSW M={args.m} ef_construction={args.ef_construction} (+ vectors)",
             f"{b['build']:.1f}", f"{b['save']:.2f}", f"{index['load']:.2f}",
             f"{b['grown'] / 2**20:,.0f}", f"{b['peak'] / 2**20:,.0f}",
             f"{b['files'] / 2**20:,.1f}", f"{b['hnsw'] / 2**20:,.1f}"],
            [n, "baseline: vectors only (exact search)", "0", f"{b['plain_seconds']:.2f}", "",
             f"{b['plain_bytes'] / 2**20:,.0f}", "", f"{b['plain_bytes'] / 2**20:,.1f}", ""],
        ]  # fmt: skip
        h = found.get("http")
        if h is None:
            continue
        if "missing" in h:
            http.append([n, "POST /api/v1/search", f"endpoint missing ({h['missing']})"]
                        + [""] * 8)  # fmt: skip
            continue
        target = "p95 < 30 ms" + (" (at 100k)" if count != top else "")
        for label, seq in (("1 client, uncached", h["first"]), ("1 client, cached", h["again"])):
            p50, p95 = p50_p95(seq.latencies)
            base = service[f"ann {label.split(', ')[1]}"]
            http.append([n, label, f"{len(seq.latencies) / (sum(seq.latencies) / 1000):,.0f}",
                         f"{p50:.1f}", f"{p95:.1f}", "", str(seq.errors),
                         f"{base[0]:.2f} / {base[1]:.2f}", f"{p95 / base[1]:.1f}x", target,
                         verdict(p95 < 30 and seq.errors == 0)])  # fmt: skip
        for label, res in (("cycled (cached)", h["cycled"]), ("each new (embedded)", h["unique"])):
            http.append([n, f"{args.clients} clients, {label}", f"{res.rate:,.0f}",
                         f"{res.p50:.1f}", f"{res.p95:.1f}", f"{res.p99:.1f}",
                         f"{res.errors} of {res.requests:,}", "", "", "no errors",
                         verdict(res.errors == 0 and res.requests > 0)])  # fmt: skip
        http.append([n, "server RSS after the load", f"{h['rss']:,.0f} MB"] + [""] * 8)
    print_table(
        f"Search latency, in-process (ms; {args.queries} queries, limit 10)",
        ["models", "call", "ours", "p50", "p95", "baseline", "base p50", "base p95",
         "base/ours p95", "target", ""],
        latency,
    )  # fmt: skip
    print_table(
        "recall@10 of HNSW against brute force on the same vectors (ms: VectorIndex.search)",
        ["models", "method", "recall@10", "p50", "p95", "target", ""],
        recall,
    )
    print_table(
        "Index build in a fresh process (one upsert of every vector, then save)",
        ["models", "index", "build s", "save s", "load s", "RSS growth MB", "peak growth MB",
         "files MB", "hnsw.bin MB"],
        build,
    )  # fmt: skip
    if http:
        print_table(
            f"Over HTTP: POST /api/v1/search, first 10 (modelkg serve; load: {generator}, "
            f"{args.duration:g} s per cell)",
            ["models", "clients", "req/s", "p50 ms", "p95 ms", "p99 ms", "errors",
             "in-process p50/p95", "p95 vs in-process", "target", ""],
            http,
        )  # fmt: skip
    print_table(
        "Embeddings: EmbeddingService against SentenceTransformer.encode called directly (ms)",
        ["measure", "ours p50", "ours p95", "direct p50", "direct p95", "ours/direct",
         "target", ""],
        embed_rows,
    )  # fmt: skip
