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
    series = StringField(_l("Series (code)"), validators=[Optional(), Length(max=63)],
                         description=_l("The show's yearly editions, e.g. food-expo; a new code makes a new series."))
    series_name = StringField(_l("Name of a new series"), validators=[Optional(), Length(max=200)],
                              description=_l("Empty: the show's name without the year."))
    submit = SubmitField(_l("Create show"))


class PrivacyFindForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Email(), Length(max=200)])
    export = SubmitField(_l("Download the data (zip)"))


class PrivacyEraseForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Email(), Length(max=200)])
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=500)],
                         description=_l("The person's request, the end of the retention period …; kept in the audit log."))
    confirm = StringField(_l("Type the email again to confirm"), validators=[DataRequired(), Length(max=200)])
    erase = SubmitField(_l("Erase the personal data"))


class ShowSeriesForm(FlaskForm):
    series = StringField(_l("Series (code)"), validators=[Optional(), Length(max=63)],
                         description=_l("Empty: the show belongs to no series (it has no previous edition)."))
    series_name = StringField(_l("Series name (Chinese)"), validators=[Optional(), Length(max=200)],
                                 description=_l("Only for a new series; empty: the show's name without the year."))
    series_name_en = StringField(_l("Series name (English)"), validators=[Optional(), Length(max=200)])
    submit = SubmitField(_l("Save series"))


class ShowDatesForm(FlaskForm):
    start = DateField(_l("First day"), validators=[DataRequired()])
    days = IntegerField(_l("Days"), validators=[DataRequired(), NumberRange(1, 60)])
    submit = SubmitField(_l("Change dates"))


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


# --- typed settings ---------------------------------------------------------------------------
def _field_name(key: str, sub: str = "") -> str:
    return key.replace(".", "__") + (f"__{sub}" if sub else "")


def settings_form_class(specs: dict):
    """A form with one field per setting (a map: one field per key), built from the specs:
    WTForms checks the types and bounds and names the field in its error."""
    from wtforms import BooleanField, FloatField, SelectMultipleField
    from wtforms.validators import InputRequired
    from wtforms.widgets import CheckboxInput, ListWidget

    class SettingsForm(FlaskForm):
        submit = SubmitField(_l("Save"))

    def bounds(spec):
        if spec.min is None and spec.max is None:
            return []
        return [NumberRange(spec.min, spec.max)]

    for key, spec in specs.items():
        name, kw = _field_name(key), {"description": spec.help}
        if spec.type == "int":
            field = IntegerField(spec.label, validators=[InputRequired(), *bounds(spec)], **kw)
        elif spec.type == "float":
            field = FloatField(spec.label, validators=[InputRequired(), *bounds(spec)], **kw)
        elif spec.type == "bool":
            field = BooleanField(spec.label, **kw)
        elif spec.type == "choice":
            field = SelectField(spec.label, choices=list(spec.choices), **kw)
        elif spec.type == "list" and spec.choices:
            field = SelectMultipleField(spec.label, choices=list(spec.choices), widget=ListWidget(prefix_label=False),
                                        option_widget=CheckboxInput(), **kw)
        elif spec.type == "map":
            for sub, title in spec.choices:
                setattr(SettingsForm, _field_name(key, sub), IntegerField(
                    f"{spec.label} · {title}", validators=[InputRequired(), *bounds(spec)], **kw))
            continue
        else:     # str, and a list of free strings (comma-separated)
            field = StringField(spec.label, validators=[Optional(), Length(max=500)], **kw)
        setattr(SettingsForm, name, field)
    return SettingsForm


def settings_form_data(specs: dict, values: dict) -> dict:
    """The form's initial data from the current values."""
    data = {}
    for key, spec in specs.items():
        value = values[key]
        if spec.type == "map":
            for sub, _title in spec.choices:
                data[_field_name(key, sub)] = (value or {}).get(sub)
        elif spec.type == "list" and not spec.choices:
            data[_field_name(key)] = ", ".join(value or [])
        else:
            data[_field_name(key)] = value
    return data


def settings_from_form(specs: dict, form) -> dict:
    """The submitted values, by setting key, in the settings' own types."""
    values = {}
    for key, spec in specs.items():
        if spec.type == "map":
            values[key] = {sub: form[_field_name(key, sub)].data for sub, _title in spec.choices}
        elif spec.type == "list" and not spec.choices:
            values[key] = [v.strip() for v in (form[_field_name(key)].data or "").split(",") if v.strip()]
        elif spec.type == "str":
            values[key] = (form[_field_name(key)].data or "").strip()
        else:
            values[key] = form[_field_name(key)].data
    return values
