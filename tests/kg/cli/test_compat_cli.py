"""`modelkg compat` from the shell: answers with reasons, and clear refusals of bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import CliResult, corpus_folder


@pytest.fixture
def reasoned_store(tmp_path: Path, cli) -> Path:  # type: ignore[no-untyped-def]
    store = tmp_path / "store"
    folders = [corpus_folder(m) for m in ("openai/whisper-base", "meta-llama/Llama-2-7b-hf")]
    assert cli("ingest", "--store", store, *folders).code == 0
    assert cli("reason", "--store", store, "--no-sizes").code == 0
    return store


def test_chain_says_where_a_pipeline_breaks(reasoned_store: Path, cli) -> None:  # type: ignore[no-untyped-def]
    ok: CliResult = cli(
        "compat",
        "chain",
        "--store",
        reasoned_store,
        "openai/whisper-base",
        "meta-llama/Llama-2-7b-hf",
    )
    broken: CliResult = cli(
        "compat",
        "chain",
        "--store",
        reasoned_store,
        "meta-llama/Llama-2-7b-hf",
        "openai/whisper-base",
    )

    assert ok.code == 0 and ": ok" in ok.out
    assert broken.code == 1 and "breaks here" in broken.out


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (("fits", "--memory", "lots"), 2, "16GB"),
        (("fits", "--memory", "-3GB"), 2, "positive"),
        (("fits", "--memory", "16GB", "--dtype", "bf61"), 2, "bf16"),
        (("fits", "--memory", "16GB", "--task", "text-generaton"), 1, "text-generation"),
        (("replacements", "meta-llama/Llama-2-7b"), 1, "meta-llama/Llama-2-7b-hf"),
    ],
)
def test_bad_input_gets_a_clear_refusal(
    reasoned_store: Path,
    cli,
    args: tuple[str, ...],
    code: int,
    words: str,  # type: ignore[no-untyped-def]
) -> None:
    result = cli("compat", *args[:1], "--store", reasoned_store, *args[1:])

    assert result.code == code, result.err
    assert words in result.err
