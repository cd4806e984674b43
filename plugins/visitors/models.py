"""Tables of the visitors plugin (every table name starts with 'visitors_')."""
from crm_expo.extensions import db  # noqa: F401
