"""A fresh clone installs exactly `requirements.lock`; the lock must cover `pyproject.toml`.

The story: someone adds a dependency to `pyproject.toml` (or narrows a range) and forgets to
refresh the lock. `scripts/setup.sh` installs with `--require-hashes`, so the new package would
be missing from every fresh clone; this test says so first, naming the command that fixes it.
It reads only the two files: no version of any upstream package is written here.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[1]
LOCK = REPO / "requirements.lock"
REFRESH = (
    'refresh it with the pip-compile command in README.md ("Two commands"), then run '
    "`bash scripts/setup.sh`"
)
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)")


def lock_pins() -> dict[str, tuple[str, list[str]]]:
    """Package name -> (pinned version, its hashes), read from the lock's continued lines."""
    pins: dict[str, tuple[str, list[str]]] = {}
    current: str | None = None
    for line in LOCK.read_text(encoding="utf-8").splitlines():
        if match := PIN.match(line):
            current = canonicalize_name(match[1])
            pins[current] = (match[2], [])
        elif current is not None and (found := re.search(r"--hash=(sha256:[0-9a-f]{64})", line)):
            pins[current][1].append(found[1])
        elif not line.startswith(" "):
            current = None
    return pins


def declared() -> list[Requirement]:
    """What pyproject.toml asks for: dependencies, the dev extra, the build backend."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    texts = [
        *project["project"]["dependencies"],
        *project["project"]["optional-dependencies"]["dev"],
        *project["build-system"]["requires"],
    ]
    return [Requirement(text) for text in texts]


@pytest.mark.parametrize("requirement", declared(), ids=str)
def test_every_declared_requirement_is_pinned_within_its_range(requirement: Requirement) -> None:
    if requirement.marker is not None and not requirement.marker.evaluate():
        pytest.skip(f"{requirement} does not apply here")
    pins = lock_pins()
    name = canonicalize_name(requirement.name)
    assert name in pins, f"{LOCK} does not pin {requirement.name} (pyproject.toml); {REFRESH}"
    version, _ = pins[name]
    assert requirement.specifier.contains(version, prereleases=True), (
        f"{LOCK} pins {requirement.name}=={version}, outside pyproject.toml's "
        f"`{requirement}`; {REFRESH}"
    )


def test_every_pin_is_exact_and_hashed() -> None:
    pins = lock_pins()
    assert len(pins) > 50
    unhashed = sorted(name for name, (_, hashes) in pins.items() if not hashes)
    assert unhashed == [], f"{LOCK}: no --hash for {unhashed}; {REFRESH} (with --generate-hashes)"


def test_torch_is_the_cpu_build_and_nothing_of_cuda_came_with_it() -> None:
    pins = lock_pins()
    torch_version, torch_hashes = pins["torch"]
    assert torch_version.endswith("+cpu"), (
        f"{LOCK} pins torch=={torch_version}, not a CPU build: a CUDA torch pulls gigabytes of "
        "nvidia-* packages; keep pyproject.toml's exact torch pin and make the CPU wheel "
        "findable (PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu), then " + REFRESH
    )
    assert len(torch_hashes) == 1  # the one CPU wheel, not a set of CUDA builds
    cuda = sorted(name for name in pins if name.startswith("nvidia-") or name == "triton")
    assert cuda == [], f"{LOCK} pins CUDA packages {cuda}; {REFRESH}"


def test_the_lock_names_no_index_or_folder_of_this_machine() -> None:
    """pip's own configuration says where packages come from; the lock only says which."""
    options = [
        line
        for line in LOCK.read_text(encoding="utf-8").splitlines()
        if line.startswith(("--index-url", "--extra-index-url", "--find-links", "-f ", "-i "))
    ]
    assert options == [], f"{LOCK}: {options}; {REFRESH} (with --no-emit-index-url ...)"
