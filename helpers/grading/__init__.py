"""Verified grading: each exercise of a submission checked in a child process the student's
code runs in, with the checkers of helpers.checks run in the grading process on secret cases.

    from helpers.grading.verify import verify_submission

Modules: submission (reading notebooks, no execution), child (the process that runs student
code), remote (the grader's side of it: sessions and stand-in functions), wire (the plain-data
messages), keras_facts (07's Keras model as plain data), verify (the API).
"""
