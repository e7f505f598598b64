"""Which mistake explains a wrong answer: known mistakes, outputs in another order, precision.

The runner (runner.py) calls these once the student's outputs are known to be wrong:
    matching_mistake   the first known mistake whose outputs equal the student's
    mistaken_outputs   the outputs of every version of every mistake an exercise looks for
    precision_hint     right but for round-off: float32, or digits lost (E[z**2] - E[z]**2)
    diagnosis          the hint: a known mistake, the case's own fallback, precision, or the
                       exercise's fallback hint
    order_problem      the right values returned in another order
"""

import inspect
import itertools

import numpy as np

__all__ = ["ATOL", "RTOL", "diagnosis", "matching_mistake", "mistaken_outputs", "order_problem",
           "precision_hint", "same_values"]

RTOL, ATOL = 1e-6, 1e-9  # float64 round-off is ~1e-15; real mistakes differ far more


def matching_mistake(outputs, candidates):
    """The hint of the first known mistake whose outputs all match `outputs`, else None.

    outputs: tuple of values (None entries are skipped);
    candidates: list of (hint, mistaken_outputs) with the same layout.
    """
    for hint, mistaken in candidates:
        pairs = [(o, m) for o, m in zip(outputs, mistaken) if o is not None and m is not None]
        with np.errstate(all="ignore"):
            if pairs and all(
                np.shape(o) == np.shape(m) and np.allclose(o, m, rtol=RTOL, atol=ATOL)
                for o, m in pairs
            ):
                return hint
    return None


def mistaken_outputs(exercise, case):
    """(hint, outputs) for every version of every mistake the exercise looks for."""
    candidates = []
    with np.errstate(all="ignore"):
        for key in exercise.mistakes:
            for switches in exercise.versions(key):
                try:
                    outputs = exercise.variant(case, **switches)
                except ValueError:  # this mistake cannot even run on this case's shapes
                    continue
                candidates.append((exercise.hint(key, **switches), outputs))
    return candidates


def relative_error(value, reference):
    """The largest difference, relative to the reference's largest magnitude."""
    value, reference = np.asarray(value, dtype=np.float64), np.asarray(reference, np.float64)
    return float(np.max(np.abs(value - reference)) / max(float(np.max(np.abs(reference))), 1e-12))


def precision_hint(exercise, case, values, expected):
    """A hint if the outputs are right except for round-off (float32, lost digits), else None."""
    pairs = [(output, value, reference)
             for output, value, reference in zip(exercise.outputs, values, expected)
             if reference is not None and isinstance(value, np.ndarray)
             and np.shape(value) == np.shape(reference)]
    if not pairs:
        return None
    errors = [relative_error(value, reference) for _, value, reference in pairs]
    inputs64 = any(isinstance(a, np.ndarray) and a.dtype == np.float64 for a in case.args)
    for (output, value, _), error in zip(pairs, errors):
        if inputs64 and value.dtype in (np.float32, np.float16) and error < 1e-3:
            return exercise.hint("float32", name=output.name, dtype=value.dtype)
    if 0 < max(errors) < 1e-4:
        return exercise.hint("precision", digits=int(-np.log10(max(errors))))
    return None


def diagnosis(exercise, case, values, expected):
    """The hint for wrong outputs: a known mistake's that gives the same, a precision problem,
    the case's own fallback, or the exercise's fallback."""
    compared = tuple(None if output.hint else value
                     for output, value in zip(exercise.outputs, values))
    found = matching_mistake(compared, mistaken_outputs(exercise, case))
    if found:
        return found
    context = case.context or {}
    if context.get("fallback"):
        return exercise.hint(context["fallback"])
    found = precision_hint(exercise, case, values, expected)
    if found:
        return found
    if callable(exercise.fallback):
        if len(inspect.signature(exercise.fallback).parameters) >= 3:
            return exercise.fallback(values, expected, case)
        return exercise.fallback(values, expected)
    return exercise.hint(exercise.fallback)


def same_values(value, reference, rtol, atol):
    """True if value is an array or number equal to the reference (None matches None)."""
    if reference is None or value is None:
        return value is None and reference is None
    try:
        return (np.shape(value) == np.shape(reference)
                and bool(np.allclose(value, reference, rtol=rtol, atol=atol)))
    except (TypeError, ValueError):
        return False


def order_problem(exercise, values, expected, case, rtol=RTOL, atol=ATOL):
    """A message if the values are right but returned in another order, else None."""
    if len(values) < 2:
        return None
    names = [output.name for output in exercise.outputs]
    for order in itertools.permutations(range(len(values))):
        if order == tuple(range(len(values))):
            continue
        if all(same_values(values[i], expected[j], rtol, atol) for i, j in enumerate(order)):
            returned = ", ".join(names[j] for j in order)
            compared = tuple(None if output.hint else value
                             for output, value in zip(exercise.outputs, values))
            with np.errstate(all="ignore"):  # (mistakes that change nothing here explain nothing)
                telling = [(hint, mistaken) for hint, mistaken in mistaken_outputs(exercise, case)
                           if not all(same_values(m, e, rtol, atol)
                                      for m, e in zip(mistaken, expected) if m is not None)]
                found = matching_mistake(compared, telling)
            why = found or exercise.hint("wrong order", names=", ".join(names))
            return (f"Your function returned the right values in the wrong order: it returns "
                    f"the expected ({returned}), in place of ({', '.join(names)}).\n"
                    f"  Hint: {why}")
    return None
