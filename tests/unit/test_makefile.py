"""The Makefile's set-up: the Python version checked first, a venv made by another Python rebuilt.
Run on a copy of the Makefile in a temporary folder, so nothing here touches the project's venvs."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MAKE = shutil.which("make")

pytestmark = pytest.mark.skipif(MAKE is None, reason="make is not installed")


def _fake_python(path: Path, answer: str) -> Path:
    """A 'python' that answers every command with `answer` (what the Makefile asks it: its version)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\necho '{answer}'\n", encoding="utf-8")
    path.chmod(0o755)
    return path


def _make(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert MAKE is not None
    return subprocess.run(  # noqa: S603 - make, on a copy of our Makefile
        [MAKE, "--no-print-directory", "-C", str(project), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    for name in ("pyproject.toml", "src/function/requirements.txt"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, tmp_path / name)
    return tmp_path


def _python_id() -> str:
    """What the Makefile learns of this test's Python (a venv's python answers for its base)."""
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import os, sys; print('%d.%d.%d' % sys.version_info[:3], os.path.realpath(sys.executable))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


@pytest.mark.parametrize("target", ["run", "test", "lint", "bench", ""])
def test_an_old_python_stops_make_before_anything_is_installed(project: Path, target: str) -> None:
    old = _fake_python(project / "bin" / "python3", "3.10.12")

    run = _make(project, f"PYTHON={old}", *([target] if target else []))

    assert run.returncode == 2
    [line] = run.stderr.splitlines()
    assert f"Python 3.11 or newer is needed; {old} is 3.10.12 (set PYTHON=" in line
    assert not (project / ".venv").exists()


def test_a_python_that_does_not_run_is_named(project: Path) -> None:
    run = _make(project, f"PYTHON={project / 'no-such-python'}", "-n", "run")

    assert run.returncode == 2
    assert "Python 3.11 or newer is needed; " in run.stderr
    assert "no-such-python does not run" in run.stderr


def test_clean_needs_no_python(project: Path) -> None:
    old = _fake_python(project / "bin" / "python3", "3.10.12")
    assert _make(project, f"PYTHON={old}", "-n", "clean").returncode == 0


def test_a_venv_made_by_another_python_is_made_afresh(project: Path) -> None:
    _fake_python(project / ".venv" / "bin" / "python", "3.12.1 /opt/python3.12/bin/python3.12")
    (project / ".venv" / ".installed").touch()  # newer than pyproject.toml: only the interpreter differs

    run = _make(project, f"PYTHON={sys.executable}", "-n", "lint")

    assert run.returncode == 0, run.stderr
    assert f"{sys.executable} -m venv --clear .venv" in run.stdout


def test_a_venv_made_by_this_python_is_reused(project: Path) -> None:
    _fake_python(project / ".venv" / "bin" / "python", _python_id())
    (project / ".venv" / ".installed").touch()

    run = _make(project, f"PYTHON={sys.executable}", "-n", "lint")

    assert run.returncode == 0, run.stderr
    assert " -m venv" not in run.stdout
    assert run.stdout.startswith(".venv/bin/ruff check")
    # After a change to the requirements it is updated, not cleared.
    (project / "pyproject.toml").touch()
    updated = _make(project, f"PYTHON={sys.executable}", "-n", "lint")
    assert f"{sys.executable} -m venv  .venv" in updated.stdout
