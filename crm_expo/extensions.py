"""Flask extensions, created unbound; :func:`crm_expo.create_app` binds them."""
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase
from wtforms.meta import DefaultMeta

# Named constraints so that Alembic migrations can drop/alter them on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


db = SQLAlchemy(model_class=Base)
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
limiter = Limiter(key_func=get_remote_address, default_limits=[])


def _render_field_without_shared_id(meta, field, render_kw):
    """A page holds many small forms (a button per table row, a settings form per plugin), and
    WTForms gives every one's CSRF token the same id ("csrf_token"): duplicate ids, which
    nothing looks up. The token renders without one (a page with several submit buttons names
    them itself)."""
    if field.type == "CSRFTokenField":
        render_kw = {"id": False, **render_kw}
    return DefaultMeta.render_field(meta, field, render_kw)


FlaskForm.Meta.render_field = _render_field_without_shared_id
