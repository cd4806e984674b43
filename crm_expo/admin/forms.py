from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, EmailField, IntegerField, PasswordField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Email, Length, NumberRange, Optional

from ..models.users import ROLE_TITLES


class ShowForm(FlaskForm):
    slug = StringField(_l("Code"), validators=[DataRequired(), Length(min=2, max=63)])
    name_zh = StringField(_l("Show name (Chinese)"), validators=[DataRequired(), Length(max=200)])
    name_en = StringField(_l("Show name (English)"), validators=[Optional(), Length(max=200)])
    venue = StringField(_l("Venue"), validators=[Optional(), Length(max=200)])
    start = DateField(_l("First day"), validators=[DataRequired()])
    days = IntegerField(_l("Days"), default=3, validators=[DataRequired(), NumberRange(1, 60)])
    submit = SubmitField(_l("Create show"))


class UserForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Email(), Length(max=200)])
    name = StringField(_l("Name"), validators=[Optional(), Length(max=100)])
    role = SelectField(_l("Role"), choices=list(ROLE_TITLES.items()))
    organization_id = IntegerField(_l("Organization id (portal users)"), validators=[Optional()])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(min=10, max=200)])
    submit = SubmitField(_l("Create user"))


class ActionForm(FlaskForm):
    """A bare form for POST buttons (CSRF only)."""
    submit = SubmitField(_l("Confirm"))
