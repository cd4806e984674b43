"""Forms of the onsite plugin (Flask-WTF: CSRF included)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from plugins.visitors.models import CATEGORY_TITLES

from . import operations as ops
from .operations import BADGE_SIZES

SIZE_TITLES = {"a6": _l("A6 (one per page)"), "a4x4": _l("A4, four badges per sheet"),
               "90x130": _l("Badge printer 90 × 130 mm")}


class WalkInForm(FlaskForm):
    name_zh = StringField(_l("Name in Chinese"), validators=[Length(max=100)])
    name_en = StringField(_l("Name in English"), validators=[Length(max=100)])
    phone = StringField(_l("Mobile phone"), validators=[Length(max=32)])
    email = StringField(_l("Email"), validators=[Length(max=200)])
    company = StringField(_l("Company"), validators=[Length(max=200)])
    category = SelectField(_l("Category"), choices=[(k, v) for k, v in CATEGORY_TITLES.items()
                                                    if k != "exhibitor_staff"], default="public")
    share = BooleanField(_l("Visitor agrees to share contact details with exhibitors"))
    marketing = BooleanField(_l("Visitor agrees to receive news of future shows"))
    check_in = BooleanField(_l("Check in now"), default=True)
    submit = SubmitField(_l("Register and print badge"))


class ReprintForm(FlaskForm):
    reason = StringField(_l("Reason for the reprint"), validators=[DataRequired(), Length(max=200)])
    lost = BooleanField(_l("Badge lost: issue a new code (the old badge stops working)"), default=True)
    submit = SubmitField(_l("Reprint badge"))


class BatchBadgesForm(FlaskForm):
    category = SelectField(_l("Category"), choices=list(CATEGORY_TITLES.items()))
    size = SelectField(_l("Badge size"), choices=[(k, SIZE_TITLES[k]) for k in BADGE_SIZES])
    only_unprinted = BooleanField(_l("Only badges not printed yet"), default=True)
    reason = StringField(_l("Reason (needed for reprints)"), validators=[Length(max=200)])
    submit = SubmitField(_l("Print badges"))


class ServiceRequestForm(FlaskForm):
    kind = SelectField(_l("Kind"), choices=list(ops.KINDS.items()), default="request")
    channel = SelectField(_l("Channel"), choices=list(ops.CHANNELS.items()), default="desk")
    category = SelectField(_l("Category"), choices=[("", "—")] + list(ops.CATEGORIES.items()),
                           validators=[DataRequired(message=_l("Choose the category of the request."))])
    priority = SelectField(_l("Priority"), choices=list(ops.PRIORITIES.items()), default="normal")
    location = StringField(_l("Booth or location"), validators=[Length(max=100)])
    contact = StringField(_l("Customer contact (for feedback)"), validators=[Length(max=200)])
    organization_id = IntegerField(_l("Organization id"), validators=[Optional()])
    description = TextAreaField(_l("Description"), validators=[DataRequired(), Length(max=5000)])
    submit = SubmitField(_l("Log request"))


class PortalRequestForm(FlaskForm):
    kind = SelectField(_l("Kind"), choices=list(ops.KINDS.items()), default="suggestion")
    category = SelectField(_l("Category"), choices=[("", "—")] + list(ops.CATEGORIES.items()),
                           validators=[DataRequired(message=_l("Choose the category of the request."))])
    location = StringField(_l("Booth or location"), validators=[Length(max=100)])
    description = TextAreaField(_l("Description"), validators=[DataRequired(), Length(max=5000)])
    submit = SubmitField(_l("Send"))


class AssignForm(FlaskForm):
    department = SelectField(_l("Department"), choices=[("", "—")] + list(ops.DEPARTMENTS.items()))
    supplier_organization_id = IntegerField(_l("or supplier (organization id)"), validators=[Optional()])
    note = StringField(_l("Comment"), validators=[Length(max=500)])
    submit = SubmitField(_l("Route"))


class NoteForm(FlaskForm):
    note = TextAreaField(_l("Comment"), validators=[Length(max=2000)])
    submit = SubmitField(_l("Save"))


class FeedbackForm(FlaskForm):
    note = TextAreaField(_l("What the customer was told"), validators=[DataRequired(), Length(max=2000)])
    satisfaction = SelectField(_l("Customer satisfaction"), choices=[("", _l("not known yet"))] +
                               [(str(i), str(i)) for i in range(5, 0, -1)], default="")
    submit = SubmitField(_l("Record feedback"))


class SatisfactionForm(FlaskForm):
    satisfaction = IntegerField(_l("Customer satisfaction (1–5)"), validators=[DataRequired(), NumberRange(1, 5)])
    note = StringField(_l("Comment"), validators=[Length(max=500)])
    submit = SubmitField(_l("Record satisfaction"))


class LeadForm(FlaskForm):
    code = StringField(_l("Badge code"), validators=[DataRequired(), Length(max=64)])
    rating = SelectField(_l("Rating"), choices=[(str(i), str(i)) for i in range(6)], default="0")
    notes = TextAreaField(_l("Notes"), validators=[Length(max=2000)])
    tags = StringField(_l("Tags (comma-separated)"), validators=[Length(max=200)])
    submit = SubmitField(_l("Save lead"))


class NoticeForm(FlaskForm):
    category = SelectField(_l("Category"), choices=list(ops.CATEGORIES.items()))
    requests_seen = IntegerField(_l("Requests it answers"), validators=[Optional()])
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    body = TextAreaField(_l("What exhibitors should know"), validators=[DataRequired(), Length(max=5000)])
    submit = SubmitField(_l("Publish notice"))
