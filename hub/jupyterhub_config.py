"""JupyterHub for the course: real Unix users, nbgrader's exchange and formgrader.

Start it as root (it starts each user's server as that user)::

    sudo make hub        # = hub/setup.py install, then this configuration

* **Users** are the Unix accounts of ``hub/roster.json`` (``hub/setup.py``
  creates them); they log in with their Unix password (PAM). ``HUB_AUTH=dummy``
  with ``HUB_DUMMY_PASSWORD`` switches to JupyterHub's DummyAuthenticator (one
  shared password: a demo or a test, never a class).
* **Servers**: ``LocalProcessSpawner`` starts ``jupyterhub-singleuser`` from the
  hub's environment (``$HUB_PREFIX/venv``: JupyterLab, nbgrader, the ``course``
  package and its kernel) as the user, in their home folder (mode 0700).
* **nbgrader**: the hub groups ``nbgrader-debugging-nn`` (students) and
  ``formgrade-debugging-nn`` (instructors, graders) tell nbgrader's
  ``JupyterHubAuthPlugin`` who takes the course; every server's token may read
  its own user's groups for that. Students get the Assignment List and Validate;
  staff servers also read ``$HUB_PREFIX/staff-config`` (formgrader, course list,
  the course directory ``~/debugging-nn``).

Paths and ports: ``hub/layout.py``. The whole cycle: ``docs/hub.md``.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import layout  # noqa: E402

c = get_config()  # noqa: F821

roster = layout.roster()
COURSE = roster["course_id"]
STAFF = layout.staff(roster)

# -- network and state --------------------------------------------------------------
c.JupyterHub.ip = layout.IP
c.JupyterHub.port = layout.PORT
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = layout.API_PORT
if os.environ.get("HUB_SSL_CERT"):
    # A class reaches the hub over the network: serve it over HTTPS.
    c.JupyterHub.ssl_cert = os.environ["HUB_SSL_CERT"]
    c.JupyterHub.ssl_key = os.environ["HUB_SSL_KEY"]
c.JupyterHub.db_url = f"sqlite:///{layout.STATE / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(layout.STATE / "jupyterhub_cookie_secret")
c.ConfigurableHTTPProxy.command = [str(layout.PROXY)]
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{layout.PROXY_API_PORT}"
c.ConfigurableHTTPProxy.pid_file = str(layout.STATE / "jupyterhub-proxy.pid")

# -- who may log in -----------------------------------------------------------------
if os.environ.get("HUB_AUTH", "pam") == "dummy":
    c.JupyterHub.authenticator_class = "dummy"
    c.DummyAuthenticator.password = os.environ["HUB_DUMMY_PASSWORD"]
else:
    c.JupyterHub.authenticator_class = "pam"
    c.PAMAuthenticator.open_sessions = False
c.Authenticator.allowed_users = set(layout.everyone(roster))
# No hub administrators by default (nobody needs them for the course).
c.Authenticator.admin_users = set(os.environ.get("HUB_ADMINS", "").split())

# -- nbgrader's course groups -------------------------------------------------------
c.JupyterHub.load_groups = {
    f"formgrade-{COURSE}": {"users": STAFF},
    f"nbgrader-{COURSE}": {"users": roster["students"]},
}
c.JupyterHub.load_roles = [
    {
        # Each server's own token (JUPYTERHUB_API_TOKEN): JupyterHub's defaults,
        # plus reading its own user's name and groups, which nbgrader's
        # JupyterHubAuthPlugin asks the hub for (GET /hub/api/users/<name>).
        "name": "server",
        "scopes": [
            "access:servers!server",
            "users:activity!user",
            "read:users:name!user",
            "read:users:groups!user",
        ],
    },
]

# -- each user's server, as that Unix user ------------------------------------------
c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = [str(layout.VENV / "bin" / "jupyterhub-singleuser")]
c.Spawner.notebook_dir = "~"
c.Spawner.default_url = "/lab"
# A server starts JupyterLab and nbgrader's extensions: slow on a busy 2-core box.
c.Spawner.start_timeout = 180
c.Spawner.http_timeout = 180
c.Spawner.environment = {
    # The hub's environment first: its nbgrader, jupyter and Python in terminals.
    "PATH": f"{layout.VENV / 'bin'}:/usr/local/bin:/usr/bin:/bin",
}


def per_role(spawner):
    """Staff servers also read the staff settings (formgrader, course directory)."""
    if spawner.user.name in STAFF:
        spawner.environment = {
            **spawner.environment,
            "JUPYTER_CONFIG_PATH": str(layout.STAFF_CONFIG),
        }


c.Spawner.pre_spawn_hook = per_role
