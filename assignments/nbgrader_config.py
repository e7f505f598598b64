# nbgrader configuration of the course. `make assignments` copies it to the course root
# (build/assignments/nbgrader_config.py) and nbgrader reads it from there, so run nbgrader
# commands in that folder. Edit this file, not the copy; put machine-specific settings (e.g.
# c.Exchange.root on JupyterHub) in ~/.jupyter/nbgrader_config.py or /etc/jupyter/.
c = get_config()  # noqa: F821 - provided by nbgrader when it loads this file

c.CourseDirectory.course_id = "batchnorm-course"

# What replaces the code between ### BEGIN SOLUTION and ### END SOLUTION in the student
# version (nbgrader's default, written out): the exercise's `def` line stays, its body raises,
# so the locked test cell fails with a clear message and the untouched notebook scores 0.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}

# Autograding executes each submission top to bottom. A cell that runs longer than this many
# seconds (an infinite loop in a student's function) is interrupted and recorded as an error;
# the notebook goes on (nbgrader executes with allow_errors), so the other exercises are still
# graded. Every notebook of the course runs in well under 30 s in total.
c.ExecutePreprocessor.timeout = 30
