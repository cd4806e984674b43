"""Forms of the booths plugin (Flask-WTF: every form carries its CSRF token)."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from .operations import PAYMENT_METHODS
from .operations.common import PAYMENT_METHOD_TITLES


class HoldForm(FlaskForm):
    exhibitor = SelectField(_l("Exhibitor"), coerce=int, validators=[InputRequired()])
    discount_rule = SelectField(_l("Discount rule"), coerce=int, default=0)
    submit = SubmitField(_l("Hold this booth"))


class PortalHoldForm(FlaskForm):
    submit = SubmitField(_l("Hold this booth"))


class ActionForm(FlaskForm):
    """reserve / confirm (no fields) and cancel / release (a reason)."""
    reason = StringField(_l("Reason"), validators=[Optional(), Length(max=500)])


class MoveForm(FlaskForm):
    booth = StringField(_l("New booth code"), validators=[DataRequired(), Length(max=16)])
    reason = StringField(_l("Reason"), validators=[Optional(), Length(max=500)])
    submit = SubmitField(_l("Move"))


class PaymentForm(FlaskForm):
    amount = StringField(_l("Amount"), validators=[DataRequired()])
    method = SelectField(_l("Method"), choices=[(m, PAYMENT_METHOD_TITLES[m]) for m in PAYMENT_METHODS])
    paid_on = DateField(_l("Date received"), validators=[Optional()])
    reference = StringField(_l("Reference"), validators=[Optional(), Length(max=100)])
    submit = SubmitField(_l("Record payment"))


class ExceptionForm(FlaskForm):
    price = StringField(_l("Price"), validators=[DataRequired()])
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=500)])
    submit = SubmitField(_l("Request price exception"))


class PriceListForm(FlaskForm):
    shell = StringField(_l("Shell scheme, per m²"), validators=[Optional()])
    raw = StringField(_l("Raw space, per m²"), validators=[Optional()])
    corner = StringField(_l("Corner, per m²"), validators=[Optional()])
    peninsula = StringField(_l("Peninsula, per m²"), validators=[Optional()])
    island = StringField(_l("Island, per m²"), validators=[Optional()])
    corner_surcharge_pct = IntegerField(_l("Corner surcharge %"), default=0, validators=[NumberRange(0, 100)])
    open_side_surcharge_pct = IntegerField(_l("Surcharge per extra open side %"), default=0,
                                           validators=[NumberRange(0, 100)])
    early_bird_until = DateField(_l("Early bird until"), validators=[Optional()])
    early_bird_pct = IntegerField(_l("Early bird discount %"), default=0, validators=[NumberRange(0, 100)])
    deposit_pct = IntegerField(_l("Deposit %"), default=30, validators=[NumberRange(0, 100)])
    balance_due = DateField(_l("Balance due"), validators=[Optional()])
    submit = SubmitField(_l("Publish price list"))


class BlockForm(FlaskForm):
    """Block or unblock: the reason goes to the audit log (the operation refuses an empty one)."""
    reason = StringField(_l("Reason"), validators=[Optional(), Length(max=500)])


class SplitForm(FlaskForm):
    at = StringField(_l("Split at (metres from the left edge)"), validators=[Optional(), Length(max=20)])
    left_code = StringField(_l("Code of the left part"), validators=[Optional(), Length(max=16)])
    right_code = StringField(_l("Code of the right part"), validators=[Optional(), Length(max=16)])
    submit = SubmitField(_l("Split"))


class MergeForm(FlaskForm):
    other = StringField(_l("Merge with booth"), validators=[Optional(), Length(max=16)])
    code = StringField(_l("Code of the merged booth"), validators=[Optional(), Length(max=16)])
    submit = SubmitField(_l("Merge"))


class WaitlistForm(FlaskForm):
    """Staff put an exhibitor on a waiting list; the portal form has no exhibitor field."""
    exhibitor = SelectField(_l("Exhibitor"), coerce=int, validators=[InputRequired()])
    booth = StringField(_l("Booth code"), validators=[Optional(), Length(max=16)])
    booth_type = SelectField(_l("or any booth of type"), default="")
    submit = SubmitField(_l("Add to the waiting list"))


class PortalWaitlistForm(FlaskForm):
    booth = StringField(_l("Booth code"), validators=[Optional(), Length(max=16)])
    booth_type = SelectField(_l("or any booth of type"), default="")
    submit = SubmitField(_l("Join the waiting list"))


class DiscountRuleForm(FlaskForm):
    name = StringField(_l("Rule name"), validators=[Optional(), Length(max=100)])
    percent = StringField(_l("Discount %"), validators=[Optional(), Length(max=10)])
    min_area_m2 = StringField(_l("Only for booths of at least (m²)"), validators=[Optional(), Length(max=20)])
    booth_type = SelectField(_l("Only for booth type"), default="")
    submit = SubmitField(_l("Save discount rule"))
