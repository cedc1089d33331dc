"""Base forms: CSRF-protected forms for changes, CSRF-free GET forms for filters."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Optional, Regexp

from observatory.i18n import _l
from observatory.security import MIN_PASSWORD_LENGTH
from observatory.text import strip_controls


def select_choices(pairs) -> list[SelectChoice]:
    """WTForms options from (value, label) pairs (labels may be lazy strings)."""
    return [SelectChoice(value, label) for value, label in pairs]


def _without_controls(value):
    return strip_controls(value) if isinstance(value, str) else value


class _CleanTextMeta:
    """Every text field drops control characters as it reads input (see observatory.text)."""

    def bind_field(self, form, unbound_field, options):
        field_class = unbound_field.field_class
        if issubclass(field_class, StringField) and not issubclass(field_class, PasswordField):
            filters = [*unbound_field.kwargs.get("filters", ()), _without_controls]
            return unbound_field.bind(form=form, filters=filters, **options)
        return unbound_field.bind(form=form, **options)


class BaseForm(FlaskForm):
    """Every state-changing form: CSRF token checked (Flask-WTF), messages in the UI language."""

    class Meta(_CleanTextMeta):
        pass


class ButtonForm(BaseForm):
    """A form with only a CSRF token, for one-button actions (publish, deactivate…)."""


class FilterForm(FlaskForm):
    """A GET form that reads `request.args`; no CSRF because it changes nothing."""

    class Meta(_CleanTextMeta):
        csrf = False


class LoginForm(BaseForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])


class ChangePasswordForm(BaseForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired()])
    new_password = PasswordField(
        _l("New password"),
        validators=[DataRequired(), Length(min=MIN_PASSWORD_LENGTH, max=200)],
        description=_l("At least %(n)s characters.", n=MIN_PASSWORD_LENGTH),
    )
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[DataRequired(), EqualTo("new_password", message=_l("The passwords differ."))],
    )


EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"

ROLE_CHOICES = [
    ("submitter", _l("Submitter (public official)")),
    ("reviewer", _l("Reviewer")),
    ("editor", _l("Editor")),
    ("admin", _l("Administrator")),
]


class NewUserForm(BaseForm):
    email = EmailField(
        _l("E-mail"),
        validators=[
            DataRequired(),
            Length(max=254),
            Regexp(EMAIL_PATTERN, message=_l("That is not a valid e-mail address.")),
        ],
    )
    name = StringField(_l("Name"), validators=[Optional(), Length(max=200)])
    role = SelectField(_l("Role"), choices=select_choices(ROLE_CHOICES))
    institution = StringField(_l("Institution"), validators=[Optional(), Length(max=300)])
    country = StringField(
        _l("Country (ISO 3166 alpha-3 code)"), validators=[Optional(), Length(min=3, max=3)]
    )
    password = PasswordField(
        _l("Initial password"),
        validators=[DataRequired(), Length(min=MIN_PASSWORD_LENGTH, max=200)],
        description=_l(
            "At least %(n)s characters. Share it with the person safely.", n=MIN_PASSWORD_LENGTH
        ),
    )


class RoleForm(BaseForm):
    role = SelectField(_l("Role"), choices=select_choices(ROLE_CHOICES))


class ActiveForm(BaseForm):
    active = BooleanField(_l("Active"))
