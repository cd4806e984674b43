"""Forms of the visitors plugin (Flask-WTF: CSRF included). Question fields are added to a
fresh subclass per show (``registration_form``), never to the shared classes."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from .models import CATEGORIES, CATEGORY_TITLES, CONCESSION_TITLES, CONCESSIONS

YES_NO = [("yes", _l("Yes")), ("no", _l("No"))]


class _PersonFields(FlaskForm):
    name_zh = StringField(_l("Name (Chinese)"), validators=[Length(max=100)])
    name_en = StringField(_l("Name (English)"), validators=[Length(max=100)])
    email = StringField(_l("Email"), validators=[Length(max=200)])
    phone = StringField(_l("Mobile phone"), validators=[Length(max=40)])
    company = StringField(_l("Company"), validators=[Length(max=200)])
    job_title = StringField(_l("Job title"), validators=[Length(max=100)])
    birth_date = DateField(_l("Date of birth"), validators=[Optional()])
    concession = SelectField(_l("Concession"), choices=[(c, CONCESSION_TITLES[c]) for c in CONCESSIONS],
                             default="")


class PublicRegistrationForm(_PersonFields):
    category = RadioField(_l("I am visiting as"), default="trade", validators=[DataRequired()],
                          choices=[("trade", CATEGORY_TITLES["trade"]), ("public", CATEGORY_TITLES["public"])])
    consent_marketing = RadioField(_l("May we send you news about this and future shows?"), choices=YES_NO,
                                   validators=[InputRequired(message=_l("Please answer yes or no."))])
    consent_share = RadioField(_l("May exhibitors whose stand you visit receive your contact details?"),
                               choices=YES_NO, validators=[InputRequired(message=_l("Please answer yes or no."))])
    # Honeypot: hidden from people by CSS; bots fill every field.
    website = StringField(_l("Leave this field empty"))
    submit = SubmitField(_l("Register"))


class StaffRegistrationForm(_PersonFields):
    category = SelectField(_l("Category"), choices=[(c, CATEGORY_TITLES[c]) for c in CATEGORIES])
    consent_marketing = RadioField(_l("Consent to marketing"), choices=YES_NO,
                                   validators=[InputRequired(message=_l("Please answer yes or no."))])
    consent_share = RadioField(_l("Consent to sharing with exhibitors"), choices=YES_NO,
                               validators=[InputRequired(message=_l("Please answer yes or no."))])
    submit = SubmitField(_l("Save"))


def registration_form(base: type, questions, locale: str, **kwargs):
    """An instance of ``base`` with one field per show question (named q_<key>)."""
    attrs = {}
    for q in questions:
        choices = [(c["value"], (c.get("en") or c.get("zh")) if locale.startswith("en") else c.get("zh") or c["value"])
                   for c in q.choices or []]
        validators = [] if q.kind != "text" else [Length(max=500)]
        label = q.label(locale)
        if q.kind == "multiple":
            attrs[f"q_{q.key}"] = SelectMultipleField(label, choices=choices, validators=validators,
                                                         validate_choice=False)
        elif q.kind == "single":
            attrs[f"q_{q.key}"] = SelectField(label, choices=[("", "—")] + choices, validators=validators,
                                                 validate_choice=False)   # operations check it
        else:
            attrs[f"q_{q.key}"] = StringField(label, validators=validators)
    form_class = type(f"{base.__name__}ForShow", (base,), attrs)
    return form_class(**kwargs)


def answers_from(form, questions) -> dict:
    return {q.key: getattr(form, f"q_{q.key}").data for q in questions}


def person_from(form) -> dict:
    return {"name_zh": form.name_zh.data, "name_en": form.name_en.data, "email": form.email.data,
            "phone": form.phone.data, "organization_name": form.company.data, "job_title": form.job_title.data,
            "birth_date": form.birth_date.data}


class VerifyForm(FlaskForm):
    decision = SelectField(_l("Decision"), choices=[("verified", _l("Verified")), ("rejected", _l("Rejected")),
                                                    ("pending", _l("Pending"))])
    note = TextAreaField(_l("Note"), validators=[Length(max=2000)])
    submit = SubmitField(_l("Record decision"))


class ReplaceBadgeForm(FlaskForm):
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=200)])
    submit = SubmitField(_l("Replace badge code"))


class CardForm(FlaskForm):
    card = FileField(_l("Business card (JPEG or PNG)"), validators=[FileRequired()])
    company = StringField(_l("Company"), validators=[Length(max=200)])
    submit = SubmitField(_l("Upload"))


class CancelForm(FlaskForm):
    submit = SubmitField(_l("Cancel registration"))


class ReviewDecisionForm(FlaskForm):
    """Merge or keep apart a review item (the buttons are in the page; CSRF only here)."""


class RuleForm(FlaskForm):
    category = SelectField(_l("Category"), choices=[(c, CATEGORY_TITLES[c]) for c in CATEGORIES])
    day = SelectField(_l("Day"), choices=[])
    admitted = BooleanField(_l("Admitted"), default=True)
    min_age = IntegerField(_l("Minimum age"), validators=[Optional(), NumberRange(0, 120)])
    price = StringField(_l("Ticket price"), validators=[Length(max=20)])
    concession_price = StringField(_l("Concession price"), validators=[Length(max=20)])
    note = StringField(_l("Note"), validators=[Length(max=200)])
    submit = SubmitField(_l("Add rule"))


class DeleteForm(FlaskForm):
    submit = SubmitField(_l("Delete"))


class ImportForm(FlaskForm):
    file = FileField(_l("File (CSV or XLSX)"), validators=[FileRequired()])
    submit = SubmitField(_l("Preview"))


class ConfirmImportForm(FlaskForm):
    token = HiddenField()
    submit = SubmitField(_l("Import"))


class QuestionForm(FlaskForm):
    key = StringField(_l("Key"), validators=[DataRequired(), Length(max=40)])
    label_zh = StringField(_l("Question (Chinese)"), validators=[DataRequired(), Length(max=200)])
    label_en = StringField(_l("Question (English)"), validators=[Length(max=200)])
    kind = SelectField(_l("Answer"), choices=[("single", _l("One choice")), ("multiple", _l("Several choices")),
                                              ("text", _l("Free text"))])
    choices = TextAreaField(_l("Choices, one per line: value | 中文 | English"), validators=[Length(max=5000)])
    required = BooleanField(_l("Required"))
    position = IntegerField(_l("Position"), default=0, validators=[Optional(), NumberRange(0, 1000)])
    submit = SubmitField(_l("Save question"))


def parse_choices(text: str) -> list[dict]:
    out = []
    for line in (text or "").splitlines():
        parts = [p.strip() for p in line.split("|")]
        if not parts[0]:
            continue
        out.append({"value": parts[0], "zh": parts[1] if len(parts) > 1 else parts[0],
                    "en": parts[2] if len(parts) > 2 else ""})
    return out
