"""Configuration: defaults, overridden by ``CRM_EXPO_*`` environment variables, then by the
``config`` mapping handed to :func:`crm_expo.create_app` (tests use that)."""
import json
import os
import secrets

ALL_PLUGINS = ("exhibitors", "visitors", "suppliers", "booths", "onsite", "loyalty", "surveys")

# name -> (default, type, help).  The README table is generated from this, so keep it the
# single place where a setting is introduced.
SETTINGS = {
    "DATABASE_URL": (None, str, "SQLAlchemy URL; default: SQLite file crm-expo.sqlite3 in the instance folder. "
                               "PostgreSQL: postgresql+psycopg://user:pw@host/db"),
    "SECRET_KEY": (None, str, "Signs sessions and CSRF tokens. Default: a random key kept in the instance folder"),
    "PLUGINS": (",".join(ALL_PLUGINS), str, "Comma-separated plugins to load, e.g. visitors,exhibitors,suppliers,onsite (a plugin needs those it requires)"),
    "INSTANCE_PATH": (None, str, "Folder for the SQLite database, the secret key and uploads"),
    "DEFAULT_LOCALE": ("zh", str, "Language when neither the user nor the browser says: zh or en"),
    "TIMEZONE": ("Asia/Shanghai", str, "Default show timezone"),
    "CURRENCY": ("CNY", str, "Default show currency (ISO 4217)"),
    "SESSION_COOKIE_SECURE": (False, bool, "Send the session cookie over HTTPS only (set in production)"),
    "LOGIN_MAX_FAILURES": (5, int, "Failed logins per account or per address before a lock-out"),
    "LOGIN_LOCK_MINUTES": (15, int, "Window and lock-out length for failed logins"),
    "MAIL_SERVER": ("localhost", str, "SMTP host for outgoing mail"),
    "MAIL_PORT": (25, int, "SMTP port"),
    "MAIL_USE_TLS": (False, bool, "STARTTLS on the SMTP connection"),
    "MAIL_USERNAME": (None, str, "SMTP user"),
    "MAIL_PASSWORD": (None, str, "SMTP password"),
    "MAIL_SENDER": ("crm-expo@localhost", str, "From address of outgoing mail"),
    "MAIL_MAX_ATTEMPTS": (8, int, "Attempts at a mail on temporary SMTP errors (4xx, server down) before it fails"),
    "MAIL_RETRY_SECONDS": (60, int, "Wait before the first retry of a mail; doubled at each attempt (at most 6 hours)"),
    "MAIL_SENDING_TIMEOUT_SECONDS": (300, int, "A mail still \"sending\" after this long (its worker died) is sent again"),
    "PUBLIC_URL": ("", str, "Address of the site as its visitors reach it (https://crm.example.com), for links in "
                            "mail queued outside a request; default: the request's address"),
    "REDIS_URL": (None, str, "Run the job queue on this Redis server (redis://host:6379/0), so worker processes "
                             "on other machines consume the same jobs; default: a SQLite file in the instance folder"),
    "MAX_UPLOAD_MB": (20, int, "Largest accepted upload (imports, documents)"),
    "RATELIMIT_STORAGE_URI": ("", str, "Flask-Limiter storage for public-page rate limits; default: the Redis of "
                                       "CRM_EXPO_REDIS_URL when set (one count for every worker), else memory:// "
                                       "(a count per worker process)"),
    "PROXY_COUNT": (0, int, "How many reverse proxies (nginx, a load balancer) stand in front and set "
                            "X-Forwarded-For/-Proto/-Host: their addresses are trusted to name the client. 0: none"),
}


def _parse(value: str, kind):
    if kind is bool:
        return value.strip().lower() in ("1", "true", "yes", "on")
    if kind is int:
        return int(value)
    return value


def from_environment(environ=os.environ) -> dict:
    """Return the settings given as CRM_EXPO_* variables, parsed to their types."""
    found = {}
    for name, (_default, kind, _help) in SETTINGS.items():
        raw = environ.get(f"CRM_EXPO_{name}")
        if raw not in (None, ""):
            try:
                found[name] = _parse(raw, kind)
            except ValueError as exc:
                raise SystemExit(f"crm-expo: CRM_EXPO_{name}={raw!r} is not a valid {kind.__name__}") from exc
    return found


def defaults() -> dict:
    return {name: default for name, (default, _k, _h) in SETTINGS.items()}


def private_folder(path: str) -> None:
    """The instance folder holds the database, the secret key, uploads and backups: owner only."""
    os.makedirs(path, mode=0o700, exist_ok=True)
    try:
        os.chmod(path, 0o700)
    except PermissionError:     # a folder the configuration names but this user does not own
        pass


def private_file(path: str) -> None:
    """Create ``path`` readable by its owner only, or narrow an existing file to that."""
    try:
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
        os.chmod(path, 0o600)
    except OSError:     # a read-only mount or another owner: sqlite will say what is wrong
        pass


def secret_key_for(instance_path: str) -> str:
    """A random secret kept in the instance folder, so a demo needs no configuration and
    sessions survive a restart."""
    path = os.path.join(instance_path, "secret_key")
    if os.path.exists(path):
        with open(path) as fh:
            return fh.read().strip()
    key = secrets.token_hex(32)
    os.makedirs(instance_path, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


def settings_table_markdown() -> str:
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for name, (default, _kind, help_) in SETTINGS.items():
        shown = "" if default is None else json.dumps(default) if not isinstance(default, str) else default
        rows.append(f"| `CRM_EXPO_{name}` | {shown} | {help_} |")
    return "\n".join(rows)
