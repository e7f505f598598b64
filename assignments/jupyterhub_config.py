# JupyterHub configuration for a class of this course (README, "On JupyterHub, with nbgrader's
# exchange"). Start the hub with `jupyterhub -f jupyterhub_config.py`; add your own login
# (`c.JupyterHub.authenticator_class`) and spawner (`c.JupyterHub.spawner_class`) settings.
# tests/test_hub.py loads this very file and adds only what a throw-away hub on a test machine
# needs (free ports, a temporary folder, the dummy login and the simple spawner).
c = get_config()  # noqa: F821 - provided by JupyterHub when it loads this file

# Who may log in: the instructor (an admin of the hub) and the class list.
c.Authenticator.admin_users = {"instructor"}
c.Authenticator.allowed_users = {"instructor", "alice", "bob", "carol"}

# The course's shared Jupyter configuration folder, on every user's config path (after their
# own ~/.jupyter, before the image's): nbgrader_config.py with the course id and the exchange,
# and the students' disabled nbgrader instructor extensions (README gives the commands).
COURSE_CONFIG = "/srv/nbgrader/jupyter-config"
c.Spawner.environment = {"JUPYTER_CONFIG_PATH": COURSE_CONFIG}

# Students land in JupyterLab, where nbgrader's Assignments tab lives.
c.Spawner.default_url = "/lab"

# A JupyterLab with TensorFlow and nbgrader installed takes a while to start on a busy server:
# wait up to 2 minutes before declaring a spawn failed (JupyterHub's defaults are 60 and 30 s).
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120
