"""scripts/install.sh, run as a non-root user on a PATH without apt-get, its heavy steps stubbed.

The script runs for real (bash, its own decisions and messages); what it calls is faked on PATH: a
``python3`` that creates a fake venv, records every ``pip`` command instead of installing, and answers
the WordNet check and ``nltk.download`` as the scenario says; optionally ``apt-get``/``dpkg`` stubs that
record calls. As root, the script runs as ``nobody`` (setpriv). Each run takes milliseconds.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOBODY = 65534
TOOLS = ("bash", "dirname", "id", "sed", "grep", "head", "tr", "rm", "uname", "env", "mkdir", "cp",
         "touch", "cat")  # fmt: skip

FAKE_PYTHON = r"""#!/bin/bash
printf 'python %s\n' "$*" >> "$FAKE_LOG"
case "$1" in
  -m)
    case "$2" in
      venv)
        if [ -n "${FAKE_NO_VENV:-}" ]; then
          mkdir -p "$3"
          echo "The virtual environment was not created successfully because ensurepip is not available." >&2
          exit 1
        fi
        mkdir -p "$3/bin" && cp "$0" "$3/bin/python" && exit 0 ;;
      pip)
        case " $* " in *" --dry-run "*) [ -n "${FAKE_SERVED:-}" ]; exit $? ;; esac
        exit 0 ;;
    esac ;;
  -c)
    case "$2" in
      *print*version_info*) echo "${FAKE_PY_VERSION:-3.11}"; exit 0 ;;
      *version_info*) minor=${FAKE_PY_VERSION:-3.11}; minor=${minor#3.}
                      [ "$minor" -ge 10 ] && [ "$minor" -le 13 ]; exit $? ;;
      *nltk.download*) [ -n "${FAKE_ONLINE:-}" ] && touch "$FAKE_STATE/wordnet"
                       [ -n "${FAKE_ONLINE:-}" ]; exit $? ;;
      *load_wordnet*) [ -n "${FAKE_WORDNET:-}" ] || [ -e "$FAKE_STATE/wordnet" ]; exit $? ;;
    esac ;;
esac
exit 0
"""
FAKE_RECORDER = '#!/bin/bash\nprintf \'%s %s\\n\' "$(basename "$0")" "$*" >> "$FAKE_LOG"\n'


def run_install(*args: str, contributor: bool = False, apt: bool = False, **scenario: str):
    """Run a copy of install.sh in a fresh folder; returns (returncode, stdout, stderr, calls)."""
    work = Path(tempfile.mkdtemp(prefix="ch11-install-", dir="/tmp"))
    try:
        (work / "scripts").mkdir()
        shutil.copy(ROOT / "scripts" / "install.sh", work / "scripts" / "install.sh")
        shutil.copy(ROOT / "pyproject.toml", work / "pyproject.toml")
        if contributor:
            (work / "tests").mkdir()
        bin_dir, state = work / "bin", work / "state"
        bin_dir.mkdir()
        state.mkdir()
        for tool in TOOLS:
            (bin_dir / tool).symlink_to(shutil.which(tool))
        (bin_dir / "python3").write_text(FAKE_PYTHON)
        (bin_dir / "python3").chmod(0o755)
        if apt:  # apt-get and dpkg that only record: every package is "not installed"
            (bin_dir / "basename").symlink_to(shutil.which("basename"))
            for tool, script in (("apt-get", FAKE_RECORDER), ("dpkg", FAKE_RECORDER + "exit 1\n")):
                (bin_dir / tool).write_text(script)
                (bin_dir / tool).chmod(0o755)
        log = work / "calls.log"
        log.touch()
        env = {"PATH": str(bin_dir), "HOME": str(work / "home"), "FAKE_LOG": str(log),
               "FAKE_STATE": str(state), **scenario}  # fmt: skip
        command = ["bash", str(work / "scripts" / "install.sh"), *args]
        if os.geteuid() == 0:
            for path in [work, *work.rglob("*")]:
                os.lchown(path, NOBODY, NOBODY)
            command = [
                "setpriv",
                f"--reuid={NOBODY}",
                f"--regid={NOBODY}",
                "--clear-groups",
                *command,
            ]
        result = subprocess.run([shutil.which(command[0]), *command[1:]], env=env, cwd="/",
                                capture_output=True, text=True, timeout=60)  # fmt: skip
        calls = log.read_text().splitlines()
        venv_left = (work / ".venv").exists()
        return result.returncode, result.stdout, result.stderr, calls, venv_left
    finally:
        shutil.rmtree(work, ignore_errors=True)


def pip_calls(calls: list[str]) -> list[str]:
    return [c for c in calls if c.startswith("python -m pip") or " -m pip " in c]


def test_runs_as_a_user_without_root_and_without_apt():
    rc, out, err, calls, _ = run_install(FAKE_WORDNET="1")
    assert rc == 0, err
    assert "Installed." in out
    assert not any(c.startswith(("apt-get", "dpkg")) for c in calls)


def test_without_wordnet_offline_it_fails_saying_what_to_run():
    rc, out, err, calls, _ = run_install(CH11_OFFLINE="1")
    assert rc == 1
    assert "Installed." not in out
    assert "WordNet 3.0 is missing, so the pages and assignments cannot run" in err
    assert "sudo apt-get install wordnet-base wordnet-sense-index" in err
    assert """.venv/bin/python -c "import nltk; nltk.download('wordnet')\"""" in err
    assert not any("nltk.download" in c for c in calls)  # CH11_OFFLINE: not even tried


def test_without_wordnet_online_it_uses_nltk_download():
    rc, out, err, calls, _ = run_install(FAKE_ONLINE="1")
    assert rc == 0, err
    assert any("nltk.download('wordnet'" in c for c in calls)
    assert "Installed." in out
    rc, _, err, calls, _ = run_install()  # online attempt fails: the same exact message
    assert rc == 1 and any("nltk.download" in c for c in calls)
    assert "sudo apt-get install wordnet-base wordnet-sense-index" in err


def test_torch_the_served_build_else_cpu_index_on_linux_else_pypi():
    _, out, _, calls, _ = run_install(FAKE_WORDNET="1", FAKE_SERVED="1")
    installs = [c for c in pip_calls(calls) if "torch" in c and "--dry-run" not in c]
    assert installs == ["python -m pip install --quiet torch==2.13.0"], calls
    _, out, _, calls, _ = run_install(FAKE_WORDNET="1")
    installs = [c for c in pip_calls(calls) if "torch" in c and "--dry-run" not in c]
    assert installs == [
        "python -m pip install --quiet torch>=2.4,<3 --index-url https://download.pytorch.org/whl/cpu"
    ], calls
    assert "torch: the CPU build" in out
    _, out, _, calls, _ = run_install("--cuda", FAKE_WORDNET="1")
    installs = [c for c in pip_calls(calls) if "torch" in c and "--dry-run" not in c]
    assert installs == ["python -m pip install --quiet torch>=2.4,<3"], calls
    # students get the book's packages, contributors the test and grading tools too
    assert "python -m pip install --quiet -e .[book]" in calls
    _, _, _, calls, _ = run_install(FAKE_WORDNET="1", contributor=True)
    assert "python -m pip install --quiet -e .[dev]" in calls


def test_the_torch_range_is_the_one_in_pyproject():
    text = (ROOT / "pyproject.toml").read_text()
    assert '"torch>=2.4,<3"' in text and 'requires-python = ">=3.10,<3.14"' in text


def test_missing_venv_names_the_debian_package():
    rc, out, err, _, venv_left = run_install(FAKE_NO_VENV="1", FAKE_PY_VERSION="3.12")
    assert rc == 1
    assert "sudo apt-get install python3-venv" in err and "python3.12-venv" in err
    assert not venv_left  # the half-made .venv is removed, so the next run tries again


@pytest.mark.parametrize(("version", "accepted"), [("3.9", False), ("3.10", True), ("3.13", True),
                                                   ("3.14", False)])  # fmt: skip
def test_python_versions(version: str, accepted: bool):
    rc, _, err, _, _ = run_install(FAKE_WORDNET="1", FAKE_PY_VERSION=version)
    assert (rc == 0) is accepted, err
    if not accepted:
        assert f"Python {version}; the course needs 3.10 to 3.13" in err


def test_with_apt_but_without_root_it_says_which_packages_and_never_calls_apt():
    rc, out, err, calls, _ = run_install(apt=True, FAKE_WORDNET="1")
    assert rc == 0, err
    assert (
        "run: sudo apt-get install --no-install-recommends wordnet-base wordnet-sense-index" in err
    )
    assert any(c.startswith("dpkg -s wordnet-base") for c in calls)
    assert not any(c.startswith("apt-get") for c in calls)
    _, _, err, _, _ = run_install(apt=True, contributor=True, FAKE_WORDNET="1")
    assert "dict-jargon dict-foldoc dict-devil" in err  # only contributors need the dictd corpora
