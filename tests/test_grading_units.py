"""Small, fast checks of grading internals that the slow end-to-end grading tests rely on."""

from __future__ import annotations

import datetime
import inspect
from pathlib import Path

import pytest

from ch11lib import embeddings
from ch11lib.grading import cli, proxy, times, wire


def test_a_decorated_library_function_switched_off_by_a_test_is_mirrored() -> None:
    # @torch.no_grad() wraps the function: a test's no_solutions() swaps the __code__ of the one it
    # wraps (inspect.unwrap); the trusted kernel must see that and mirror it into the student's
    path = "ch11lib.embeddings.sentence_word_states.__wrapped__"
    inner = inspect.unwrap(embeddings.sentence_word_states)
    assert inner is not embeddings.sentence_word_states
    saved_watch, original = proxy._STATE["code_watch"], inner.__code__
    proxy._STATE["code_watch"] = {}
    try:
        assert path in proxy._watched_functions()
        assert [p for _, p in proxy._plan()["code"]] == []
        scope: dict = {}
        stand_in = "def f(*args, **kwargs):\n    raise RuntimeError('switched off')\n"
        exec(compile(stand_in, "<ipython-input-1>", "exec"), scope)  # noqa: S102
        inner.__code__ = scope["f"].__code__
        assert [p for _, p in proxy._plan()["code"]] == [path]
    finally:
        inner.__code__ = original
        proxy._STATE["code_watch"] = saved_watch
        proxy._STATE["callbacks"] = {}


def test_both_sides_read_the_same_namespace() -> None:
    import __main__

    assert wire.user_namespace() is vars(__main__)  # outside IPython: __main__'s


def test_times_csv_reads_an_lms_export_into_utc(tmp_path: Path) -> None:
    text = (
        "\ufeffSID,Name,Submission Time\n"  # Excel's byte-order mark, extra columns, any order
        '"doe, jane",Jane,2026-03-01T12:30:00+01:00\n'  # an id with a comma, quoted
        "\n"
        "bob ,Bob,2026-03-01 11:10:00 UTC\n"
        "carol,Carol,2026-03-01T06:00:00-05:00\n"
    )
    path = tmp_path / "lms.csv"
    path.write_text(text, encoding="utf-8")
    path.with_name("other.csv").write_text("Student ID,submitted_at\nx,2026-03-01T11:00:00Z\n")
    assert times.read_times_csv(path.with_name("other.csv")) == {
        "x": datetime.datetime(2026, 3, 1, 11)
    }
    assert times.read_times_csv(path) == {
        "doe, jane": datetime.datetime(2026, 3, 1, 11, 30),
        "bob": datetime.datetime(2026, 3, 1, 11, 10),
        "carol": datetime.datetime(2026, 3, 1, 11, 0),
    }


MALFORMED = {  # file text -> what the error must say (expected ... got)
    "": "expected a header row 'student_id,submitted_at', got an empty file",
    "bob,2026-03-01T11:10:00Z\n": "expected a header row with a student column",
    "student_id,submitted_at\nbob\n": "line 2: expected 2 fields like the header",
    "student_id,submitted_at\nbob,yesterday\n": "not an ISO 8601 time: 'yesterday'",
    "student_id,submitted_at\nbob,2026-03-01 11:10:00\n": "has no time zone",
    "student_id,submitted_at\nbob,2099-03-01T11:10:00Z\n": "is in the future",
    "student_id,submitted_at\nbob,2026-03-01T11:10:00Z\nbob,2026-03-01T11:20:00Z\n": (
        "line 3: student 'bob' again (first on line 2)"
    ),
    'student_id,submitted_at\n"bo\nb",2026-03-01T11:10:00Z\n': "line 2: expected a student id",
    "student_id,submitted_at\nx/y,2026-03-01T11:10:00Z\n": "no line breaks or slashes",
    "student_id,submitted_at\n..,2026-03-01T11:10:00Z\n": "not starting with '.'",
}


@pytest.mark.parametrize("text", list(MALFORMED), ids=range(len(MALFORMED)))
def test_a_malformed_times_csv_says_what_was_expected_and_what_came(
    text: str, tmp_path: Path
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match="bad.csv") as error:
        times.read_times_csv(path)
    assert MALFORMED[text] in str(error.value)


def test_a_malformed_times_csv_stops_grading_before_it_starts(tmp_path: Path, capsys) -> None:
    (tmp_path / "nbgrader_config.py").write_text("c = get_config()\n")
    bad = tmp_path / "times.csv"
    bad.write_text("student,when\nbob,2026-03-01T11:10:00Z\n")
    args = ["--course", str(tmp_path), "autograde", "a1_encoder", "--times", str(bad)]
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert "grading stopped" in err and "got ['student', 'when']" in err
    assert not (tmp_path / "gradebook.db").exists()  # nothing was graded or recorded


def test_a_time_dates_one_notebook(tmp_path: Path) -> None:
    notebook = tmp_path / "alice" / "a1" / "a1.ipynb"
    notebook.parent.mkdir(parents=True)
    notebook.write_text("{}")
    when = datetime.datetime(2026, 3, 1, 11, 0)
    entry = times.TrustedTime(when, "times:lms.csv", times.notebook_digest(notebook))
    times.record(tmp_path, "a1", {"alice": entry, "bob": entry})
    assert times.trusted_time(tmp_path, "a1", "alice", notebook) == entry
    times.record(tmp_path, "a1", {"bob": None})
    assert set(times.read_ledger(tmp_path, "a1")) == {"alice"}
    notebook.write_text('{"changed": 1}')  # replaced after the time was given
    assert times.trusted_time(tmp_path, "a1", "alice", notebook) is None


def test_times_long_before_the_due_date_are_reported() -> None:
    due = datetime.datetime(2026, 3, 1, 11, 0)
    given = {"typo": due.replace(year=2025), "early": due - datetime.timedelta(days=3)}
    assert times.long_before(given, due, ["typo", "early", "absent"]) == ["typo"]
    assert times.long_before(given, None, ["typo"]) == []
