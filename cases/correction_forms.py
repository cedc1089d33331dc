"""Forms of the case page: suggest a correction; the editors' answer to one."""

from __future__ import annotations

from wtforms import EmailField, SelectField, TextAreaField, URLField
from wtforms.validators import DataRequired, Length, Optional, Regexp, ValidationError

from cases.corrections import EMAIL_MAX, REPLY_MAX, TEXT_MAX, TEXT_MIN, URL_MAX, is_web_url
from observatory.forms import EMAIL_PATTERN, BaseForm, select_choices
from observatory.i18n import _l


def web_url(form, field) -> None:
    """WTForms validator: an absolute http:// or https:// address."""
    if field.data and not is_web_url(field.data.strip()):
        raise ValidationError(_l("Enter a web address starting with http:// or https://."))


class CorrectionForm(BaseForm):
    """Anyone's suggested correction: what is wrong, a source, an e-mail to answer to."""

    text = TextAreaField(
        _l("What should be corrected?"),
        validators=[DataRequired(), Length(min=TEXT_MIN, max=TEXT_MAX)],
        description=_l("Say what is wrong or missing and what it should say. It will be public."),
    )
    source_url = URLField(
        _l("Source (optional)"),
        validators=[Optional(), Length(max=URL_MAX), web_url],
        description=_l("A web page that supports the correction."),
    )
    contact_email = EmailField(
        _l("Your e-mail (optional)"),
        validators=[
            Optional(),
            Length(max=EMAIL_MAX),
            Regexp(EMAIL_PATTERN, message=_l("That is not a valid e-mail address.")),
        ],
        description=_l("Only the editors see it, to ask you a question. It is never published."),
    )


ANSWER_CHOICES = [("accepted", _l("Accept")), ("declined", _l("Decline"))]


class AnswerForm(BaseForm):
    """An editor's decision on a suggested correction and the public reply."""

    status = SelectField(_l("Decision"), choices=select_choices(ANSWER_CHOICES))
    reply = TextAreaField(_l("Reply (public)"), validators=[DataRequired(), Length(max=REPLY_MAX)])
