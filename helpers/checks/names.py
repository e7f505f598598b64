"""The student's own names, so that a message speaks their code's language.

    student_names    {our argument name: theirs}, from inspect.signature of their function
    returned_names   {our output name: theirs}, from the last `return a, b, ...` of its source
    in_their_words   a problem message with their names: arguments renamed, outputs annotated
                     ("dgamma (your `dg`)")
"""

import ast
import inspect
import re
import textwrap

__all__ = ["in_their_words", "returned_names", "student_names"]


def student_names(fn, names):
    """{the exercise's name: the student's name} for the parameters they named differently."""
    try:
        parameters = [p.name for p in inspect.signature(fn).parameters.values()
                      if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):  # a builtin or a callable object without a signature
        return {}
    return {ours: theirs for ours, theirs in zip(names, parameters) if ours != theirs}


def returned_names(fn, names):
    """{output name: the student's name} from the last `return a, b, ...` of fn's source."""
    try:
        # (a stand-in for a function run elsewhere, e.g. by helpers.grading, carries its source)
        source = getattr(fn, "__grading_source__", None) or inspect.getsource(fn)
        tree = ast.parse(textwrap.dedent(source))
    except (OSError, TypeError, SyntaxError, IndentationError):  # no source (e.g. a lambda in -c)
        return {}
    returns = sorted((node for node in ast.walk(tree) if isinstance(node, ast.Return)),
                     key=lambda node: node.lineno)
    if not returns or returns[-1].value is None:
        return {}
    value = returns[-1].value
    items = value.elts if isinstance(value, ast.Tuple) else [value]
    if len(items) != len(names) or not all(isinstance(item, ast.Name) for item in items):
        return {}
    return {ours: item.id for ours, item in zip(names, items) if ours != item.id}


def in_their_words(problem, arguments, outputs):
    """The problem message with the student's names: arguments renamed in the whole message,
    outputs annotated on the first line ("dgamma (your `dg`)")."""
    if not problem:
        return problem
    if problem.startswith("Your function returned the right values in the wrong order"):
        outputs = {}  # that message is about the order of the outputs, not their names
    first, newline, rest = problem.partition("\n")
    for ours, theirs in outputs.items():
        first = re.sub(rf"(?<![\w`.']){re.escape(ours)}(?![\w`'(])",
                       f"{ours} (your `{theirs}`)", first, count=1)
    text = first + newline + rest
    for ours, theirs in arguments.items():
        text = re.sub(rf"(?<![\w`.']){re.escape(ours)}(?![\w`'])", theirs, text)
    return text
