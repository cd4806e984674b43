"""Tables of the loyalty plugin (every table name starts with 'loyalty_')."""
from crm_expo.extensions import db  # noqa: F401
