"""Tables of the booths plugin (every table name starts with 'booths_')."""
from crm_expo.extensions import db  # noqa: F401
