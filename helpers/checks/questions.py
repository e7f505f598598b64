"""Predict-then-run questions: check a student's prediction and explain the outcome.

    from helpers.checks import check_prediction
    assert check_prediction("noise_spread_doubling_m", spread_prediction)

The questions live in predictions.py. check_prediction prints whether the prediction is right,
the feedback written for that wrong answer, then the explanation (shown after any real answer,
right or wrong), and returns True/False. It never raises, prints only on stdout, and names the
student's variable when it can read the calling line. How answers are compared:
    choice questions   strings, ignoring case, surrounding whitespace and repeated spaces
                       ("  The  Same " is "the same"); True/False count as "yes"/"no" where those
                       are choices; an int counts as its digits where the choices are numbers.
    number questions   an int or float (NumPy scalars too) inside the closed range; a number
                       written as a string ("0.5") is not accepted, so the student learns to
                       write the number itself.
    not answered       None or ... (Ellipsis): "You have not answered yet"; like a wrong type or
                       an answer that is no choice, it gets no explanation, so the student
                       still predicts before seeing the reasoning.
"""

import ast
import inspect
import math
import numbers

from helpers.checks.predictions import PREDICTIONS

__all__ = ["check_prediction", "normalized"]


def normalized(text):
    """A choice as compared: lower case, no surrounding or repeated whitespace."""
    return " ".join(str(text).split()).lower()


def answer_name():
    """The student's name for the answer: the 2nd argument of the check_prediction(...) call.

    Read from the calling cell's source (IPython keeps it for tracebacks), as `name`; None when
    the source cannot be read or the argument is not a plain name.
    """
    try:
        caller = inspect.currentframe().f_back.f_back  # here <- check_prediction <- the cell
        line = (inspect.getframeinfo(caller, context=1).code_context or [""])[0].strip()
        for node in ast.walk(ast.parse(line.removeprefix("assert ").strip())):
            if (isinstance(node, ast.Call) and getattr(node.func, "id", "") == "check_prediction"
                    and len(node.args) == 2 and isinstance(node.args[1], ast.Name)):
                return f"`{node.args[1].id}`"
    except Exception:  # any failure to read the source: the generic wording will do
        pass
    return None


def listed(choices):
    """The choices as a student would type them: "a", "b" or "c"."""
    quoted = [f'"{choice}"' for choice in choices]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]


def choice_key(question, answer):
    """(the choice the answer stands for, or None; a message if its type is wrong, or None)."""
    by_name = {normalized(choice): choice for choice in question["choices"]}
    if isinstance(answer, bool):
        word = "yes" if answer else "no"
        if word in by_name:
            return by_name[word], None
    elif isinstance(answer, numbers.Integral) and normalized(answer) in by_name:
        return by_name[normalized(answer)], None
    elif isinstance(answer, str):
        return by_name.get(normalized(answer)), None
    return None, (f"{type(answer).__name__} {answer!r}: expected one of the strings "
                  f"{listed(question['choices'])}.")


def check_choice(question, answer, name):
    """(right, answered): prints right or wrong and the feedback, or what was expected."""
    choice, wrong_type = choice_key(question, answer)
    if wrong_type:
        print(f"Your prediction{' ' + name if name else ''} is a {wrong_type}")
        return False, False
    if choice is None:
        print(f"Your prediction {answer!r} is not one of the choices: set "
              f"{name or 'it'} to one of {listed(question['choices'])}.")
        return False, False
    feedback = question["choices"][choice]
    if feedback is None:
        print(f'Right: "{choice}".')
        return True, True
    print(f'Not quite: "{choice}". {feedback}')
    return False, True


def check_number(question, answer, name):
    """(right, answered): prints right or wrong and the feedback, or what was expected."""
    low, high = question["range"]
    unit = f" {question['unit']}" if question.get("unit") else ""
    if isinstance(answer, str) or isinstance(answer, bool) or not isinstance(answer,
                                                                             numbers.Real):
        quotes = ", written without quotes" if isinstance(answer, str) else ""
        print(f"Your prediction{' ' + name if name else ''} is a {type(answer).__name__} "
              f"{answer!r}: expected a number (an int or a float{quotes}).")
        return False, False
    if not math.isfinite(answer):
        print(f"Your prediction is {answer}: expected a finite number.")
        return False, False
    if low <= answer <= high:
        print(f"Right: {answer:g}{unit} is within the expected range {low:g} to {high:g}{unit}.")
        return True, True
    too = "too_low" if answer < low else "too_high"
    print(f"Not quite: {answer:g}{unit} is {too.replace('_', ' ')} (expected {low:g} to "
          f"{high:g}{unit}). {question[too]}")
    return False, True


REQUIRED = {"choices": ("notebook", "question", "choices", "explanation"),
            "range": ("notebook", "question", "range", "too_low", "too_high", "explanation")}


def entry_problem(question):
    """What is missing from a question of PREDICTIONS (its authors' mistake), or None."""
    kind = "choices" if "choices" in question else "range"
    missing = [key for key in REQUIRED[kind] if key not in question]
    return f"the question has no {', '.join(missing)}" if missing else None


def check_prediction(question_id, answer):
    """Check a prediction for a question of predictions.PREDICTIONS; True if it is right.

    Prints whether it is right, the feedback for a wrong answer and the question's explanation.
    An answer that is None or ..., of the wrong type or not one of the choices is not an answer
    yet: it gets what was expected and no explanation, so the student can still think first.
    Never raises.
    """
    question = PREDICTIONS.get(question_id) if isinstance(question_id, str) else None
    if question is None:
        known = ", ".join(sorted(PREDICTIONS))
        print(f"There is no question {question_id!r}. Known questions: {known}.")
        return False
    problem = entry_problem(question)
    if problem:
        print(f"This question could not be checked ({problem}); please tell your instructor.")
        return False
    name = answer_name()
    if answer is None or answer is Ellipsis:
        expected = (f"one of {listed(question['choices'])}" if "choices" in question
                    else "a number")
        print(f"You have not answered yet: set {name or 'your prediction'} to {expected} in "
              f"the cell above, run it, then run this cell again.")
        return False
    try:
        check = check_choice if "choices" in question else check_number
        right, answered = check(question, answer, name)
    except Exception as error:  # a malformed entry must not crash the student's notebook
        print(f"This question could not be checked ({type(error).__name__}: {error}); please "
              f"tell your instructor.")
        return False
    if answered:  # the explanation only after a real answer, so nobody skips the thinking
        print(f"Why: {question['explanation']}")
    return right
