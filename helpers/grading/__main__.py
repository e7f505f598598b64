"""`python -m helpers.grading ...`: the verified grading of a course (what `make grade` runs)."""

import sys

from helpers.grading.cli import main

if __name__ == "__main__":
    sys.exit(main())
