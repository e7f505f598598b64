"""helpers/checks/questions.py and predictions.py: predict-then-run questions.

check_prediction must say right or wrong, give the feedback written for a wrong choice, then the
explanation; treat an unanswered question, a wrong type and an unknown id with a sentence, and
never raise. The questions themselves (written by the notebooks' authors) are checked as data.
"""

import re

import numpy as np
import pytest

from helpers.checks import check_prediction, questions
from helpers.checks.predictions import PREDICTIONS

CHOICE = {
    "notebook": "05",
    "question": "Which way?",
    "choices": {"narrower": None, "wider": "Wider is wrong because of this.",
                "the same": "It changes."},
    "explanation": "Because of the reason.",
}
YES_NO = {"notebook": "06", "question": "Does it?", "choices": {"yes": None, "no": "It does."},
          "explanation": "It does, for a reason."}
NUMBER = {"notebook": "06", "question": "How much?", "range": (0.4, 0.6), "unit": "",
          "too_low": "Less than that is too pessimistic.", "too_high": "Too optimistic.",
          "explanation": "About a half, because."}
DIGITS = {"notebook": "08", "question": "How many?", "choices": {"2": None, "4": "No."},
          "explanation": "Two."}


@pytest.fixture
def asked(monkeypatch):
    """check_prediction with these test questions in PREDICTIONS."""
    for key, question in {"choice": CHOICE, "yes_no": YES_NO, "number": NUMBER,
                          "digits": DIGITS}.items():
        monkeypatch.setitem(questions.PREDICTIONS, key, question)


# ----------------------------------------------------------------------------- answers
@pytest.mark.parametrize("answer", ["narrower", "  Narrower ", "NARROWER"])
def test_a_right_choice_in_any_case_and_spacing_passes(asked, answer, capsys):
    assert check_prediction("choice", answer) is True
    out = capsys.readouterr().out
    assert out.startswith('Right: "narrower".') and "Why: Because of the reason." in out


def test_repeated_inner_spaces_are_ignored(asked, capsys):
    assert check_prediction("choice", " the   Same") is False
    out = capsys.readouterr().out
    assert 'Not quite: "the same". It changes.' in out and "Why: Because" in out


def test_a_wrong_choice_gets_its_own_feedback_then_the_explanation(asked, capsys):
    assert check_prediction("choice", "wider") is False
    out = capsys.readouterr().out
    assert out.index("Wider is wrong because of this.") < out.index("Why: Because of the reason.")


def test_an_answer_that_is_not_a_choice_lists_the_choices(asked, capsys):
    spread_prediction = "smaller"
    assert check_prediction("choice", spread_prediction) is False
    out = capsys.readouterr().out
    assert "'smaller' is not one of the choices" in out
    assert '"narrower", "wider" or "the same"' in out and "Why:" not in out
    assert "`spread_prediction`" in out  # the student's own variable, read from the call


@pytest.mark.parametrize("answer, right", [(True, True), (False, False), ("Yes", True)])
def test_bools_count_as_yes_and_no(asked, answer, right, capsys):
    assert check_prediction("yes_no", answer) is right
    assert "Why: It does, for a reason." in capsys.readouterr().out


def test_an_int_counts_as_its_digits_where_choices_are_numbers(asked, capsys):
    assert check_prediction("digits", 2) is True
    assert check_prediction("digits", np.int64(4)) is False
    assert check_prediction("choice", 2) is False
    out = capsys.readouterr().out
    assert "is a int 2: expected one of the strings" in out


@pytest.mark.parametrize("answer, right, words", [
    (0.5, True, "Right: 0.5 is within the expected range 0.4 to 0.6"),
    (0.4, True, "Right"),  # the interval is closed
    (np.float32(0.6), True, "Right"),
    (0.3, False, "is too low (expected 0.4 to 0.6). Less than that is too pessimistic."),
    (1, False, "is too high (expected 0.4 to 0.6). Too optimistic."),
])
def test_number_questions_accept_a_closed_range(asked, answer, right, words, capsys):
    assert check_prediction("number", answer) is right
    out = capsys.readouterr().out
    assert words in out and "Why: About a half, because." in out


@pytest.mark.parametrize("answer, words", [
    ("0.5", "expected a number (an int or a float, written without quotes)"),
    (True, "is a bool True: expected a number"),
    ([0.5], "is a list [0.5]: expected a number"),
    (float("nan"), "expected a finite number"),
])
def test_a_number_of_the_wrong_type_says_what_was_expected(asked, answer, words, capsys):
    assert check_prediction("number", answer) is False
    out = capsys.readouterr().out
    assert words in out and "Why:" not in out  # no explanation before a real answer


@pytest.mark.parametrize("answer", [None, ...])
def test_an_unanswered_question_says_so_without_the_explanation(asked, answer, capsys):
    my_guess = answer
    assert check_prediction("choice", my_guess) is False
    out = capsys.readouterr().out
    assert out.startswith("You have not answered yet: set `my_guess` to one of \"narrower\"")
    assert "Why:" not in out and "Because" not in out
    assert check_prediction("number", answer) is False
    out = capsys.readouterr().out
    assert "to a number" in out and "0.4" not in out  # the range stays hidden


@pytest.mark.parametrize("question_id", ["no_such_question", None, 3])
def test_an_unknown_question_is_named(question_id, capsys):
    assert check_prediction(question_id, "narrower") is False
    out = capsys.readouterr().out
    assert f"There is no question {question_id!r}" in out


def test_a_malformed_question_does_not_raise(monkeypatch, capsys):
    monkeypatch.setitem(questions.PREDICTIONS, "broken", {"range": (0, 1), "explanation": "."})
    assert check_prediction("broken", 0.5) is False
    assert "could not be checked (the question has no notebook, question, too_low, too_high)" in (
        capsys.readouterr().out)
    monkeypatch.setitem(questions.PREDICTIONS, "broken", {
        "notebook": "01", "question": "?", "range": "0 to 1", "too_low": ".", "too_high": ".",
        "explanation": "."})
    assert check_prediction("broken", 0.5) is False
    assert "could not be checked (ValueError" in capsys.readouterr().out


def test_nothing_goes_to_stderr(asked, capsys):
    for answer in ("narrower", "wider", None, 3.0, "x"):
        check_prediction("choice", answer)
    check_prediction("nope", 1)
    assert capsys.readouterr().err == ""


# ----------------------------------------------------------------------------- the questions
@pytest.mark.parametrize("question_id", list(PREDICTIONS))
def test_every_question_is_well_formed(question_id):
    question = PREDICTIONS[question_id]
    assert re.fullmatch(r"[a-z][a-z0-9_]*", question_id)
    assert re.fullmatch(r"0[1-9]", question["notebook"])
    assert isinstance(question["question"], str) and question["question"].strip()
    assert isinstance(question["explanation"], str) and question["explanation"].strip()
    assert ("choices" in question) != ("range" in question), "choices OR range"
    if "choices" in question:
        choices = question["choices"]
        assert len(choices) >= 2 and list(choices.values()).count(None) >= 1
        assert len({questions.normalized(c) for c in choices}) == len(choices)
        for feedback in choices.values():
            assert feedback is None or (isinstance(feedback, str) and feedback.strip())
    else:
        low, high = question["range"]
        assert low <= high
        assert question["too_low"].strip() and question["too_high"].strip()


def test_questions_are_listed_in_the_order_of_the_notebooks():
    notebooks = [question["notebook"] for question in PREDICTIONS.values()]
    assert notebooks == sorted(notebooks)


@pytest.mark.parametrize("question_id", list(PREDICTIONS))
def test_every_question_has_a_right_answer_that_passes(question_id, capsys):
    question = PREDICTIONS[question_id]
    if "choices" in question:
        answer = next(choice for choice, feedback in question["choices"].items()
                      if feedback is None)
    else:
        answer = sum(question["range"]) / 2
    assert check_prediction(question_id, answer) is True
    assert question["explanation"] in capsys.readouterr().out
