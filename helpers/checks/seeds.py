"""The seeds of the checkers' cases: public in a notebook, secret when an instructor grades.

Every checker draws its cases from np.random.default_rng(case_seed(N)) with a fixed N, so a
student sees the same cases (and the same messages) on every run. Those seeds are public, in
this repository, so outputs computed from them could be pasted into a function. The verified
grading (helpers.grading) therefore draws the cases under `secret_cases(secret)`: the same kinds
of cases (shapes, offsets, the mistakes they tell apart), other numbers.

    case_seed(2024)                      -> 2024 (in a notebook)
    with secret_cases("instructor's"):
        case_seed(2024)                  -> a 64-bit seed from sha256(secret, 2024)
"""

import contextlib
import contextvars
import hashlib

__all__ = ["case_seed", "secret_cases"]

_SECRET = contextvars.ContextVar("helpers_checks_secret", default=None)


def case_seed(public_seed):
    """public_seed (an int) outside secret_cases, else a seed derived from the secret and it."""
    secret = _SECRET.get()
    if secret is None:
        return public_seed
    digest = hashlib.sha256(f"{secret}\0{public_seed}".encode()).digest()
    return int.from_bytes(digest[:8], "little")


@contextlib.contextmanager
def secret_cases(secret):
    """Within this block (this thread or task only), every checker's cases come from `secret`.

    secret: a non-empty str (e.g. the instructor's COURSE_GRADING_SECRET).
    """
    if not isinstance(secret, str) or not secret:
        raise ValueError(f"secret_cases needs a non-empty str as the secret, got {secret!r}.")
    token = _SECRET.set(secret)
    try:
        yield
    finally:
        _SECRET.reset(token)
