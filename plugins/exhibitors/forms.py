"""Forms of the exhibitors plugin (Flask-WTF: CSRF included)."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, SelectField, SelectMultipleField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from .models import DOCUMENT_KINDS, DOCUMENT_TITLES


class ProfileForm(FlaskForm):
    """The organization's profile: what the exhibitor's own portal users may edit too."""
    name_zh = StringField(_l("Company name (Chinese)"), validators=[Length(max=200)])
    name_en = StringField(_l("Company name (English)"), validators=[Length(max=200)])
    licence_no = StringField(_l("Business licence number (unified social credit code)"),
                             validators=[Optional(), Length(max=18)])
    country = StringField(_l("Country / region code (contract address)"), validators=[Optional(), Length(max=2)])
    region = StringField(_l("Province / state"), validators=[Length(max=100)])
    address = StringField(_l("Contract address"), validators=[Length(max=300)])
    email = StringField(_l("Email"), validators=[Length(max=200)])
    phone = StringField(_l("Phone"), validators=[Length(max=32)])
    website = StringField(_l("Website"), validators=[Length(max=200)])


class ExhibitorForm(ProfileForm):
    kind = SelectField(_l("Participation"), choices=[("main", _l("Main exhibitor")), ("co", _l("Co-exhibitor"))])
    main_exhibitor_id = SelectField(_l("Main exhibitor (for a co-exhibitor)"), choices=[], validate_choice=False)
    account_manager_id = SelectField(_l("Account manager"), choices=[], validate_choice=False)
    category_ids = SelectMultipleField(_l("Product categories"), choices=[], validate_choice=False)
    notes = TextAreaField(_l("Notes"))
    create_anyway = BooleanField(_l("This is a different company: create it anyway"))
    submit = SubmitField(_l("Save"))


class PortalProfileForm(ProfileForm):
    submit = SubmitField(_l("Save"))


class StatusForm(FlaskForm):
    status = SelectField(_l("New status"), choices=[], validate_choice=False)
    reason = TextAreaField(_l("Reason"))
    submit = SubmitField(_l("Change status"))


class DocumentForm(FlaskForm):
    kind = SelectField(_l("Document"), choices=[(k, DOCUMENT_TITLES[k]) for k in DOCUMENT_KINDS])
    file = FileField(_l("File (PDF, PNG or JPEG)"), validators=[FileRequired(_l("Choose a file."))])
    submit = SubmitField(_l("Upload"))


class ReviewForm(FlaskForm):
    decision = SelectField(_l("Decision"), choices=[("accepted", _l("Accept")), ("rejected", _l("Reject"))])
    note = StringField(_l("Note"), validators=[Length(max=500)])
    submit = SubmitField(_l("Record review"))


class StaffForm(FlaskForm):
    name_zh = StringField(_l("Name (Chinese)"), validators=[Length(max=100)])
    name_en = StringField(_l("Name (English)"), validators=[Length(max=100)])
    email = StringField(_l("Email"), validators=[Length(max=200)])
    phone = StringField(_l("Phone"), validators=[Length(max=32)])
    role = StringField(_l("Role on the stand"), validators=[Length(max=100)])
    submit = SubmitField(_l("Add staff member"))


class CategoryForm(FlaskForm):
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=40)])
    name_zh = StringField(_l("Name (Chinese)"), validators=[Length(max=100)])
    name_en = StringField(_l("Name (English)"), validators=[Length(max=100)])
    submit = SubmitField(_l("Add category"))


class RequiredDocumentsForm(FlaskForm):
    kinds = SelectMultipleField(_l("Documents required before approval"),
                                choices=[(k, DOCUMENT_TITLES[k]) for k in DOCUMENT_KINDS])
    submit = SubmitField(_l("Save"))


class ImportForm(FlaskForm):
    file = FileField(_l("CSV or XLSX file"), validators=[FileRequired(_l("Choose a file."))])
    submit = SubmitField(_l("Check the file"))
