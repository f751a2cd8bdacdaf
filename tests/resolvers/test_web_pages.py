"""The web pages on a live server: a person browses models, runs, versions and deployments,
sees the lineage and the metrics drawn, and clicks from what runs in production back to the
model it was tuned from.

The data is made with the real core: two corpus models ingested and reasoned (one of them,
`2002Mayankrana/pegasusx-AMI-text-summarizer`, is fine-tuned from google/pegasus-x-base per its
card), then an experiment with three runs, the best registered as a version fine-tuned from
that model, approved and deployed to `prod`; a second version deployed and rolled back.
Screenshots of each page are kept under `test-artifacts/pages/`.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from kg.compat.sizing import size_models
from kg.ingest.pipeline import ingest
from kg.lifecycle import DatasetInput, Deployment, Deployments, Registry, Tracking, log_artifact
from kg.reason.run import reason
from kg.store import EmbeddedStore, open_store
from resolvers.pictures import PictureUnavailable
from resolvers.web import lineage as section
from resolvers.web.layout import render
from tests.conftest import corpus_folder
from tests.resolvers.conftest import serve

TUNED = "2002Mayankrana/pegasusx-AMI-text-summarizer"
OTHER = "openai-community/gpt2"
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "pages"
HOSTILE_TAG = '<script>alert("tag")</script>'


def _lifecycle(store_path: str) -> dict[str, str]:
    """An experiment of three runs over TUNED; the best registered, approved, deployed to prod;
    a second version deployed as a canary and rolled back. Answers the ids the stories need."""
    store = open_store(store_path)
    try:
        tracking = Tracking(store)
        experiment = tracking.create_experiment("summarize-ami", description="AMI summaries")
        runs = []
        for i, lr in enumerate(("1e-4", "3e-5", "5e-5")):
            run = tracking.create_run(experiment, run_name=f"pegasus-lr-{lr}", user_id="ana")
            tracking.log_batch(run.run_id, params=[("learning_rate", lr), ("epochs", "3")])
            for step in range(20):
                tracking.log_metric(run.run_id, "loss", 3.0 / (step + 1) + 0.1 * i, step=step)
                tracking.log_metric(run.run_id, "rougeL", 0.02 * step + 0.03 * (i % 2), step=step)
            tracking.set_tag(run.run_id, "note", HOSTILE_TAG)
            ami = DatasetInput(
                "ami", "d41d8cd9", source="https://huggingface.co/datasets/edinburghcstr/ami",
                context="training",
            )  # fmt: skip
            tracking.log_inputs(run.run_id, [ami], models=[TUNED])
            log_artifact(tracking, run.run_id, "model/weights.bin", kind="model", content=b"w" * 64)
            tracking.update_run(run.run_id, status="FINISHED")
            runs.append(run.run_id)
        registry = Registry(store)
        registry.create_registered_model("ami-summarizer")
        best, second = runs[1], runs[0]  # rougeL: run 1 ends highest
        registry.create_model_version(
            "ami-summarizer", f"runs:/{best}/model", run_id=best, fine_tuned_from=[TUNED]
        )
        registry.create_model_version(
            "ami-summarizer", f"runs:/{second}/model", run_id=second, fine_tuned_from=[TUNED]
        )
        registry.decide("ami-summarizer", 1, "approved", by="alice", notes="ROUGE-L up 3 points")
        registry.decide("ami-summarizer", 2, "approved", by="bob")
        deployments = Deployments(store)
        deployments.deploy("prod", "ami-summarizer", 1, by="carol", sla={"latency_ms": 250.0})
        deployments.deploy(
            "prod", "ami-summarizer", 2, strategy="canary", traffic_share=0.25, by="carol"
        )
        deployments.rollback("prod", by="dave")
        return {"experiment": experiment, "best": best, "second": second}
    finally:
        store.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    """A live server over two reasoned corpus models and the lifecycle above."""
    path = str(tmp_path_factory.mktemp("web") / "store")
    store = open_store(path)
    for hub_id in (TUNED, OTHER):
        ingest([str(corpus_folder(hub_id))], store, hub_id=hub_id)
    reason(store)
    size_models(store)
    store.close()
    ids = _lifecycle(path)
    for base in serve(path, token=None):
        yield base, ids


def _page(url: str) -> httpx.Response:
    page = httpx.get(url, timeout=30)
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "script-src" not in policy
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "<script" not in page.text
    styles = re.findall(r"<style>(.*?)</style>", page.text, flags=re.DOTALL)
    digest = base64.b64encode(hashlib.sha256(styles[0].encode()).digest()).decode()
    assert len(styles) == 1 and f"'sha256-{digest}'" in policy
    outside = [r for r in re.findall(r'(?:src)="([^"]+)"', page.text) if not r.startswith("/")]
    assert outside == []  # links may point at the Hub; nothing is loaded from there
    return page


def test_the_model_list_links_each_model_and_filters_by_name_and_task(
    site: tuple[str, dict[str, str]],
) -> None:
    base, _ = site
    page = _page(f"{base}/models")
    assert page.status_code == 200
    assert f'<a href="/models/{TUNED}">{TUNED}</a>' in page.text
    assert f'<a href="/models/{OTHER}">{OTHER}</a>' in page.text
    assert "272,292,096" in page.text and "summarization" in page.text  # size, primary task
    assert "form-action 'self'" in page.headers["content-security-policy"]
    assert '<form class="filters" method="get" action="/models">' in page.text
    named = _page(f"{base}/models?q=pegasus").text
    assert TUNED in named and f"/models/{OTHER}" not in named
    by_task = _page(f"{base}/models?task=summarization&library=").text
    assert TUNED in by_task and f"/models/{OTHER}" not in by_task
    echoed = _page(f"{base}/models?q=%22%3E%3Cscript%3Ex").text  # the box shows it, as text
    assert 'value="&#34;&gt;&lt;script&gt;x"' in echoed and "No model matches" in echoed
    paged = _page(f"{base}/models?first=1").text
    after = re.search(r'rel="next" href="([^"]+)"', paged)
    assert after is not None
    second = _page(f"{base}{after.group(1).replace('&amp;', '&')}")
    assert second.status_code == 200 and f"/models/{OTHER}" in second.text


def test_a_model_page_shows_parameters_with_their_sources_tasks_with_why_and_lineage(
    site: tuple[str, dict[str, str]],
) -> None:
    base, ids = site
    page = _page(f"{base}/models/{TUNED}")
    assert page.status_code == 200
    text = page.text
    assert f"<h1>{TUNED}</h1>" in text
    assert f'href="https://huggingface.co/{TUNED}"' in text
    # the normalized hidden size, read from config.json's d_model
    assert re.search(
        r"<code>hiddenSize</code></td><td class=\"num\">768</td><td><code>d_model</code></td>"
        r"<td>config.json</td>",
        text,
    )
    assert "Summarization <code>summarization</code> <strong>(primary)</strong>" in text
    assert "primary task: no pipeline_tag on a card" in text
    assert "<svg" in text and "google/pegasus-x-base" in text  # the lineage picture
    # the base model named by the card is not ingested: its box links to the Hub, not to a 404
    assert 'xlink:href="https://huggingface.co/google/pegasus-x-base"' in text
    assert f'href="/runs/{ids["best"]}"' in text  # runs that used it
    assert 'href="/registry/ami-summarizer/versions/1"' in text  # versions tuned from it
    assert "Drop-in replacements" in text and "Same tokenizer" in text
    by_iri = _page(f"{base}/models/https://huggingface.co/{TUNED}")
    assert by_iri.status_code == 200 and f"<h1>{TUNED}</h1>" in by_iri.text


def test_a_run_page_has_params_metrics_plots_datasets_artifacts_and_escapes_its_tags(
    site: tuple[str, dict[str, str]],
) -> None:
    base, ids = site
    page = _page(f"{base}/runs/{ids['best']}")
    assert page.status_code == 200
    text = page.text
    assert "<h1>pegasus-lr-3e-05</h1>" in text or "<h1>pegasus-lr-3e-5</h1>" in text
    assert "<code>learning_rate</code></td><td>3e-5</td>" in text
    assert text.count('<figure class="picture plot"') == 2  # loss and rougeL
    assert ">rougeL<" in text and ">loss<" in text  # drawn as text in the SVGs
    assert f'href="/experiments/{ids["experiment"]}"' in text
    assert 'href="https://huggingface.co/datasets/edinburghcstr/ami"' in text
    checksum = "sha256:" + hashlib.sha256(b"w" * 64).hexdigest()
    assert f"<code>{checksum}</code></td><td>yes</td>" in text
    assert "&lt;script&gt;alert(&#34;tag&#34;)&lt;/script&gt;" in text


def test_an_experiment_ranks_its_runs_by_the_metric_asked_for(
    site: tuple[str, dict[str, str]],
) -> None:
    base, ids = site
    url = f"{base}/experiments/{ids['experiment']}"
    page = _page(f"{url}?metric=rougeL&goal=max&value=last")
    assert page.status_code == 200
    board = page.text.split('<table class="leaderboard">')[1]
    first = re.search(r'<td class="num">1</td><td><a href="/runs/([0-9a-f]+)">', board)
    assert first is not None and first.group(1) == ids["best"]
    assert page.text.count('href="/runs/') >= 6  # the run table and the leaderboard
    lowest_loss = _page(f"{url}?metric=loss&goal=min").text.split('class="leaderboard"')[1]
    assert re.search(r'<td class="num">1</td><td><a href="/runs/' + ids["second"], lowest_loss)
    bad = _page(f"{url}?goal=sideways")
    assert bad.status_code == 400 and "sideways" in bad.text


def test_a_version_page_shows_approval_history_run_base_model_and_deployments(
    site: tuple[str, dict[str, str]],
) -> None:
    base, ids = site
    page = _page(f"{base}/registry/ami-summarizer/versions/1")
    assert page.status_code == 200
    text = page.text
    assert '<dd class="status status-approved">approved</dd>' in text
    assert "<td>alice</td>" in text and "ROUGE-L up 3 points" in text
    assert f'<a class="run" href="/runs/{ids["best"]}">' in text
    assert f'<a class="base-model" href="/models/{TUNED}">' in text
    assert 'href="/deployments/prod/1"' in text and 'href="/deployments/prod/3"' in text
    assert "<svg" in text
    listing = _page(f"{base}/registry/ami-summarizer").text
    assert 'href="/registry/ami-summarizer/versions/2"' in listing


def test_a_target_page_shows_what_runs_now_its_history_and_the_rollback(
    site: tuple[str, dict[str, str]],
) -> None:
    base, _ = site
    page = _page(f"{base}/deployments/prod")
    assert page.status_code == 200
    text = page.text
    assert 'href="/registry/ami-summarizer/versions/1">ami-summarizer v1</a>' in text
    assert '<span class="current">current</span> <span class="rollback">rollback</span>' in text
    assert '<td class="num">25%</td>' in text  # the canary's share
    assert "latency_ms 250" in text
    assert "<svg" in text and "google/pegasus-x-base" in text  # five steps back: the hub base
    one = _page(f"{base}/deployments/prod/2")
    assert one.status_code == 200 and "canary" in one.text and "replaced since" in one.text
    assert '<a href="/deployments/prod">prod</a>' in _page(f"{base}/deployments").text


@pytest.mark.parametrize(
    ("path", "status", "shown"),
    [
        ("/models/%3Cscript%3Ealert(1)%3C%2Fscript%3E", 404, "&lt;script&gt;alert(1)"),
        ("/models/a%00b", 404, "no model"),
        ("/models/" + "x" * 5000, 404, "no model"),
        ("/models/%E2%9C%93%F0%9F%98%80", 404, "✓😀"),
        ("/models/..%2F..%2Fetc%2Fpasswd", 404, "no model"),
        ("/runs/..%2F..%2Fetc", 404, "not found"),
        ("/runs/%3Cscript%3E", 404, "&lt;script&gt;"),
        ("/experiments/%3Cb%3E1", 404, "Not found"),
        ("/registry/%3Cscript%3E/versions/1", 404, "&lt;script&gt;"),
        ("/registry/ami-summarizer/versions/%3Cx%3E", 404, "&lt;x&gt;"),
        ("/registry/ami-summarizer/versions/99", 404, "not found"),
        ("/deployments/%3Cscript%3E", 404, "&lt;script&gt;"),
        ("/deployments/prod/99", 404, "no deployment 99"),
        ("/models/", 404, "no model"),
        ("/registry/", 404, "no registered model"),
        ("/deployments/", 404, "nothing was ever deployed"),
        ("/models?first=abc", 400, "`abc` is not a whole number"),
        ("/models?after=%3Cscript%3E", 400, "cursor"),
        ("/models?task=%3Cscript%3E", 400, "&lt;script&gt;"),
        ("/models?%3Cscript%3E=1", 400, "&lt;script&gt;"),
        ("/experiments/1?value=%3Cscript%3E", 400, "&lt;script&gt;"),
    ],
)
def test_hostile_ids_and_parameters_get_an_html_error_page_with_the_input_escaped(
    site: tuple[str, dict[str, str]], path: str, status: int, shown: str
) -> None:
    base, _ = site
    page = _page(f"{base}{path}")
    assert page.status_code == status, page.text[-600:]
    assert shown.lower() in page.text.lower()


def _severe(browser: WebDriver) -> list[str]:
    """Console errors (a Content-Security-Policy violation is one), and any resource the page
    loaded from another origin."""
    log = browser.get_log("browser")  # type: ignore[attr-defined]  # Chrome's, not in the stubs
    loaded = browser.execute_script(
        "return performance.getEntriesByType('resource').map(entry => entry.name)"
    )
    origin = browser.current_url.split("/", 3)[:3]
    outside = [name for name in loaded if name.split("/", 3)[:3] != origin]
    return [e["message"] for e in log if e["level"] == "SEVERE"] + outside


def _shot(browser: WebDriver, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    height = browser.execute_script("return document.body.getBoundingClientRect().height")
    browser.set_window_size(1280, max(900, int(height) + 140))  # the whole page, not the fold
    assert browser.save_screenshot(str(SHOTS / f"{name}.png"))


def test_a_person_clicks_from_production_to_the_version_and_its_base_model(
    site: tuple[str, dict[str, str]], browser: WebDriver
) -> None:
    base, _ = site
    browser.get(f"{base}/deployments/prod")
    picture = browser.find_element(By.CSS_SELECTOR, "#lineage svg")
    assert picture.is_displayed() and picture.size["width"] > 100 and picture.size["height"] > 50
    _shot(browser, "deployment-prod")
    assert (
        browser.find_element(By.CSS_SELECTOR, "a.current-version").get_attribute("href")
        == f"{base}/registry/ami-summarizer/versions/1"
    )
    # in the picture, the version's box is a link to its page: click it
    browser.find_element(
        By.XPATH, "//*[local-name()='a'][contains(@*[local-name()='title'], 'ami-summarizer v1')]"
    ).click()
    WebDriverWait(browser, 10).until(
        lambda b: "/registry/ami-summarizer/versions/1" in b.current_url
    )
    assert "approved" in browser.find_element(By.CSS_SELECTOR, "dl.facts").text
    _shot(browser, "version-1")
    browser.find_element(By.CSS_SELECTOR, "a.base-model").click()
    WebDriverWait(browser, 10).until(lambda b: b.current_url.endswith(f"/models/{TUNED}"))
    table = browser.find_element(By.CSS_SELECTOR, "table.parameters")
    assert "hiddenSize" in table.text and "d_model" in table.text and "768" in table.text
    assert browser.find_element(By.CSS_SELECTOR, "#lineage svg").is_displayed()
    _shot(browser, "model-pegasusx")
    browser.get(f"{base}/models")
    _shot(browser, "models")
    assert _severe(browser) == []  # no CSP violation, nothing failed to load


def test_a_run_page_shows_its_metric_plots_in_the_browser(
    site: tuple[str, dict[str, str]], browser: WebDriver
) -> None:
    base, ids = site
    browser.get(f"{base}/runs/{ids['best']}")
    plots = browser.find_elements(By.CSS_SELECTOR, "figure.plot svg")
    assert len(plots) == 2
    for plot in plots:
        assert plot.is_displayed() and plot.size["width"] > 100 and plot.size["height"] > 50
    _shot(browser, "run-best")
    browser.get(f"{base}/experiments/{ids['experiment']}?metric=rougeL")
    _shot(browser, "experiment")
    assert _severe(browser) == []


def test_without_graphviz_the_lineage_is_a_table_with_a_note(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_dot(*_: object, **__: object) -> str:
        raise PictureUnavailable("Graphviz's `dot` is not on PATH")

    monkeypatch.setattr(section, "lineage_svg", no_dot)
    store = EmbeddedStore.open(None)
    store.update(
        "INSERT DATA { GRAPH <urn:g> { <urn:v> prov:wasGeneratedBy <urn:r> . "
        '<urn:r> prov:used <urn:d> . <urn:d> rdfs:label "<b>data</b>" } }'
    )
    view = section.lineage_view(store, "urn:v", direction="ancestors", depth=3)
    assert view.svg is None and view.note is not None and "dot" in view.note
    assert [(row.relation, row.target) for row in view.rows] == [
        ("wasGeneratedBy", "urn:r"),
        ("used", "<b>data</b>"),
    ]
    page = render("deployment.html.j2", title="t", d=_DEPLOYMENT, hrefs=_HREFS,
                  target_href="/deployments/prod", lineage=view).html  # fmt: skip
    assert '<table class="lineage">' in page and "&lt;b&gt;data&lt;/b&gt;" in page
    assert "<svg" not in page and "is not on PATH" in page


_DEPLOYMENT = Deployment("prod", 1, "m", "1", "blue-green", started=0, current=True)
_HREFS = {"self": "/deployments/prod/1", "version": "/registry/m/versions/1", "replaced": None}
