"""Forms of the organization pages."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField, SubmitField
from wtforms.validators import DataRequired


class MergeForm(FlaskForm):
    other_id = StringField(_l("Id of the duplicate company to merge into this one"), validators=[DataRequired()])
    submit = SubmitField(_l("Merge"))
