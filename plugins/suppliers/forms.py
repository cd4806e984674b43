"""Forms of the suppliers plugin (Flask-WTF: CSRF included)."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from .models import CATEGORIES


def category_choices():
    return [(code, title) for code, title in CATEGORIES.items()]


class SupplierForm(FlaskForm):
    name_zh = StringField(_l("Company name (Chinese)"), validators=[Length(max=200)])
    name_en = StringField(_l("Company name (English)"), validators=[Length(max=200)])
    email = StringField(_l("Email"), validators=[Length(max=200)])
    phone = StringField(_l("Phone"), validators=[Length(max=32)])
    website = StringField(_l("Website"), validators=[Length(max=200)])
    categories = SelectMultipleField(_l("Service categories"), choices=category_choices())
    notes = TextAreaField(_l("Notes"))
    submit = SubmitField(_l("Save"))


class AppointForm(FlaskForm):
    categories = SelectMultipleField(_l("Appointed for"), choices=category_choices())
    submit = SubmitField(_l("Appoint as official contractor"))


class ItemForm(FlaskForm):
    name_zh = StringField(_l("Name (Chinese)"), validators=[Length(max=200)])
    name_en = StringField(_l("Name (English)"), validators=[Length(max=200)])
    category = SelectField(_l("Service category"), choices=category_choices())
    unit = StringField(_l("Unit"), validators=[Length(max=32)])
    price = StringField(_l("Unit price"), validators=[InputRequired()])
    currency = StringField(_l("Currency"), validators=[Length(min=3, max=3)])
    early_order_deadline = DateField(_l("Early-order deadline"), validators=[Optional()])
    late_surcharge_pct = IntegerField(_l("Late surcharge in percent"), default=0,
                                      validators=[InputRequired(), NumberRange(min=0, max=1000)])
    final_order_deadline = DateField(_l("Final order deadline"), validators=[Optional()])
    active = BooleanField(_l("Offered"), default=True)
    description = TextAreaField(_l("Description"), validators=[Length(max=4000)])
    submit = SubmitField(_l("Save item"))


class ContactForm(FlaskForm):
    name_zh = StringField(_l("Name (Chinese)"), validators=[Length(max=100)])
    name_en = StringField(_l("Name (English)"), validators=[Length(max=100)])
    email = StringField(_l("Email"), validators=[Length(max=200)])
    phone = StringField(_l("Phone"), validators=[Length(max=32)])
    role = StringField(_l("Job title"), validators=[Length(max=100)])
    submit = SubmitField(_l("Add contact"))


class ImportForm(FlaskForm):
    file = FileField(_l("CSV or XLSX file"), validators=[FileRequired(_l("Choose a file."))])
    submit = SubmitField(_l("Check the file"))


class OrderNotesForm(FlaskForm):
    """The basket form of the exhibitor portal; the quantities are inputs named qty-<item id>."""
    notes = TextAreaField(_l("Notes for the supplier (booth, delivery time)"), validators=[Length(max=2000)])
    submit = SubmitField(_l("Place the order"))


class CancelForm(FlaskForm):
    reason = StringField(_l("Reason"), validators=[InputRequired(), Length(max=2000)])
    submit = SubmitField(_l("Cancel the order"))
