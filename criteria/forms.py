"""Forms of criteria and review: the scoring form generated from a framework, consolidation,
assignment, conflicts of interest and regulatory instruments; and the labels they show."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wtforms import (
    DateField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
    URLField,
)
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from cases import vocabularies as vocab
from cases.forms import MultiCheckboxField
from cases.workflow import is_http_url
from criteria.schema import ChoiceItem, Framework, GateItem, RubricItem
from criteria.services import (
    CONFIDENCE_LEVELS,
    INSTRUMENT_STATUSES,
    INSTRUMENT_TYPES,
    REGIONAL,
    SPECIAL_VALUES,
    AnswerIn,
)
from observatory.forms import BaseForm, select_choices
from observatory.i18n import _l

# --------------------------------------------------------------------------------------------
# Labels shown by the criteria pages
# --------------------------------------------------------------------------------------------

SPECIAL_LABELS = {
    "not_applicable": _l("Not applicable"),
    "insufficient_information": _l("Insufficient information"),
}
ANSWER_LABELS = {"yes": _l("Yes"), "no": _l("No"), "unclear": _l("Unclear")}
COMMON_TIER_LABELS = {
    "minimal": _l("Minimal risk"),
    "limited": _l("Limited risk"),
    "high": _l("High risk"),
    "prohibited": _l("Prohibited"),
    "unassessed": _l("No risk tier (this framework does not classify risk)"),
}
METHOD_LABELS = {
    "weighted_mean": _l("Rubric: each criterion scored 0–4, weighted mean"),
    "impact_mitigation": _l("Impact and mitigation questionnaire giving an impact level"),
    "decision_tree": _l("Legal decision tree giving a risk tier, with readiness criteria"),
    "disclosure_share": _l("Disclosure checklist: share of items disclosed"),
}
KIND_LABELS = {
    "rubric": _l("Scored 0–4"),
    "choice": _l("Question with options"),
    "gate": _l("Yes / no / unclear question"),
    "check": _l("Checklist item (yes / no)"),
}
FRAMEWORK_STATUS_LABELS = {
    "draft": _l("Draft"),
    "published": _l("Published"),
    "retired": _l("Retired"),
}
OVERALL_LABELS = {
    "rubric_mean": _l("Weighted mean score (0–4)"),
    "disclosure_share": _l("Share of items disclosed"),
    "impact_level": _l("Impact level (1–4)"),
}
REVIEW_STATUS_LABELS = {
    "not_started": _l("Not started"),
    "draft": _l("Draft saved"),
    "submitted": _l("Submitted"),
    "amendment_draft": _l("Amendment in progress"),
    "withdrawn": _l("Withdrawn"),
}
ASSESSMENT_STATUS_LABELS = {
    "none": _l("Not consolidated"),
    "draft": _l("Draft consolidation"),
    "published": _l("Published"),
}
CONFLICT_LABELS = {
    "self": _l("you cannot assign yourself"),
    "submitter": _l("submitted this case"),
    "same-institution": _l("works for the same institution"),
    "declared": _l("declared a conflict of interest"),
}
INSTRUMENT_TYPE_LABELS = {
    "strategy": _l("National AI strategy"),
    "law": _l("Law"),
    "bill": _l("Bill"),
    "decree": _l("Decree"),
    "regulation": _l("Regulation"),
    "policy": _l("Policy"),
    "guideline": _l("Guideline"),
    "ethical_framework": _l("Ethical framework"),
    "data_protection_law": _l("Data protection law"),
    "declaration": _l("Declaration"),
}
INSTRUMENT_STATUS_LABELS = {
    "draft": _l("Draft"),
    "bill_pending": _l("Bill pending"),
    "adopted": _l("Adopted"),
    "in_force": _l("In force"),
    "superseded": _l("Superseded"),
    "repealed": _l("Repealed"),
    "archived": _l("Archived (hidden from the public)"),
}
LEGAL_NATURE_LABELS = {
    "binding_law": _l("Binding law"),
    "bill": _l("Bill (not law)"),
    "administrative_policy": _l("Administrative policy"),
    "soft_law": _l("Soft law (recommendation)"),
    "observatory_measure": _l("The observatory's own measure"),
}
JURISDICTION_LABELS = {
    "international": _l("International"),
    "regional": _l("Regional"),
    "national": _l("National"),
    "subnational": _l("Subnational"),
}
ALPHA_LEVEL_LABELS = {"ordinal": _l("ordinal"), "nominal": _l("nominal")}
CONFIDENCE_LABELS = {"high": _l("High"), "medium": _l("Medium"), "low": _l("Low")}

# Messages of the error codes that services put on fields.
FIELD_ERROR_MESSAGES = {
    "required": _l("This field is required."),
    "too-long": _l("This is too long."),
    "too-many": _l("There are too many entries."),
    "unknown-country": _l("Choose a country."),
    "unknown-value": _l("Choose one of the options."),
    "bad-date": _l("Write the date as YYYY, YYYY-MM or YYYY-MM-DD."),
    "bad-url": _l("Enter a web address starting with http:// or https://."),
    "unknown-item": _l("This criterion is not part of the framework."),
    "value-and-special": _l("Choose either a score or a special answer, not both."),
    "special-not-allowed": _l("This criterion does not allow that answer."),
    "invalid-value": _l("This answer does not fit the criterion."),
    "answer-required": _l("Answer this criterion (or say why you cannot)."),
    "justification-required": _l("Explain a score at the extreme levels (0 or 4)."),
    "too-many-options": _l("Too many options chosen."),
    "conflict-target-required": _l("Name an institution or a case."),
    "unknown-case": _l("There is no case with that reference."),
}


def error_message(code: str) -> str:
    """The translated message of a field error code (the code itself when unknown)."""
    return str(FIELD_ERROR_MESSAGES.get(code, code))


def http_url(_form: Any, field: Any) -> None:
    """WTForms validator: empty, or an absolute http(s) address."""
    if field.data and not is_http_url(str(field.data).strip()):
        raise ValidationError(str(FIELD_ERROR_MESSAGES["bad-url"]))


# --------------------------------------------------------------------------------------------
# The scoring form, generated from a framework
# --------------------------------------------------------------------------------------------


def answer_name(key: str) -> str:
    """Form field name of a criterion's answer."""
    return f"answer__{key}"


def justification_name(key: str) -> str:
    """Form field name of a criterion's justification."""
    return f"justification__{key}"


def evidence_name(key: str) -> str:
    """Form field name of a criterion's evidence link."""
    return f"evidence__{key}"


def answer_choices(framework: Framework, item: Any, lang: str) -> list[tuple[str, str]]:
    """(value, label) pairs a reviewer chooses from for one criterion, special answers last.

    Rubric: levels 0-4 with the framework's level labels; choice: its options; gate:
    yes/no/unclear; check: yes/no; then not applicable / insufficient information where the
    criterion allows them.
    """
    pairs: list[tuple[str, str]]
    if isinstance(item, RubricItem):
        levels = framework.rubric_levels or {}
        pairs = [
            (str(level), f"{level} — {levels[level].get(lang)}" if level in levels else str(level))
            for level in range(5)
        ]
    elif isinstance(item, ChoiceItem):
        pairs = [(option.key, option.label.get(lang)) for option in item.options]
    elif isinstance(item, GateItem):
        pairs = [(key, str(ANSWER_LABELS[key])) for key in ("yes", "no", "unclear")]
    else:
        pairs = [(key, str(ANSWER_LABELS[key])) for key in ("yes", "no")]
    allowed = {answer.value for answer in item.allows}
    pairs += [(key, str(SPECIAL_LABELS[key])) for key in SPECIAL_VALUES if key in allowed]
    return pairs


def is_multi(item: Any) -> bool:
    """Whether the criterion takes several options (checkboxes)."""
    return isinstance(item, ChoiceItem) and item.select == "multi"


class ReviewForm(BaseForm):
    """The scoring form of one framework; `review_form(...)` adds three fields per criterion:
    the answer (radio group, or checkboxes for multiple choice), a justification (required
    when submitting a rubric score of 0 or 4) and an evidence link (http/https only)."""

    framework: Framework

    def answers(self) -> dict[str, AnswerIn]:
        """The answers as entered, by criterion key (blank criteria included)."""
        result = {}
        for item in self.framework.items:
            raw = self[answer_name(item.key)].data
            justification = self[justification_name(item.key)].data or ""
            evidence = (self[evidence_name(item.key)].data or "").strip()
            result[item.key] = _answer_in(item, raw, justification, evidence)
        return result

    def validate_for(self, *, submitting: bool) -> bool:
        """Validate the fields; when submitting, also require an answer for every criterion
        and a justification for rubric levels 0 and 4 (the service checks the same)."""
        valid = self.validate()
        self._errors = None  # errors added below must show in `form.errors`
        for item in self.framework.items:
            raw = self[answer_name(item.key)].data
            if is_multi(item) and raw and set(raw) & set(SPECIAL_VALUES) and len(raw) > 1:
                self[answer_name(item.key)].errors.append(error_message("value-and-special"))
                valid = False
        if not submitting:
            return valid
        for key, given in self.answers().items():
            if given.is_blank:
                self[answer_name(key)].errors.append(error_message("answer-required"))
                valid = False
            elif (
                given.special is None
                and isinstance(self.framework.item(key), RubricItem)
                and given.value in (0, 4)
                and not given.justification.strip()
            ):
                field = self[justification_name(key)]
                field.errors = [*field.errors, error_message("justification-required")]
                valid = False
        return valid

    def put_errors(self, errors: Mapping[str, list[str]]) -> None:
        """Show a service's error codes {item key: [codes]} next to the right fields."""
        self._errors = None
        for key, codes in errors.items():
            for code in codes:
                if code == "justification-required":
                    name = justification_name(key)
                elif code == "bad-url":
                    name = evidence_name(key)
                else:
                    name = answer_name(key)
                if name in self:
                    field = self[name]
                    field.errors = [*field.errors, error_message(code)]
                else:
                    self.form_errors.append(error_message(code))


def _answer_in(item: Any, raw: Any, justification: str, evidence: str) -> AnswerIn:
    """An AnswerIn from the raw value of a criterion's form field."""
    special = None
    value: Any = None
    if is_multi(item):
        chosen = [key for key in (raw or []) if key]
        specials = [key for key in chosen if key in SPECIAL_VALUES]
        if specials:
            special = specials[0]
        else:
            value = chosen or None
    elif raw in SPECIAL_VALUES:
        special = raw
    elif raw not in (None, ""):
        value = int(raw) if isinstance(item, RubricItem) and str(raw).isdigit() else raw
    return AnswerIn(
        value=value, special=special, justification=justification, evidence_url=evidence
    )


def review_form(
    framework: Framework,
    lang: str,
    *,
    answers: Mapping[str, AnswerIn] | None = None,
    formdata: Any = None,
) -> ReviewForm:
    """Build the scoring form of a framework in language `lang`.

    With `formdata` (a POST) the form reads it; otherwise it is filled from `answers` (a saved
    draft or submitted revision).
    """
    attributes: dict[str, Any] = {"framework": framework}
    for item in framework.items:
        choices = select_choices(answer_choices(framework, item, lang))
        label = item.label.get(lang)
        if is_multi(item):
            attributes[answer_name(item.key)] = MultiCheckboxField(
                label, choices=choices, validators=[Optional()]
            )
        else:
            attributes[answer_name(item.key)] = RadioField(
                label, choices=choices, validators=[Optional()]
            )
        attributes[justification_name(item.key)] = TextAreaField(
            _l("Justification"),
            validators=[Optional(), Length(max=4000)],
            description=_l("Required for scores of 0 and 4.")
            if isinstance(item, RubricItem)
            else None,
        )
        attributes[evidence_name(item.key)] = URLField(
            _l("Evidence link"),
            validators=[Optional(), Length(max=1000), http_url],
            description=_l("A public web page (http:// or https://) supporting the answer."),
        )
    form_class = type("GeneratedReviewForm", (ReviewForm,), attributes)
    if formdata is not None:
        return form_class(formdata=formdata)
    data = {}
    for key, given in (answers or {}).items():
        if given.special:
            data[answer_name(key)] = (
                [given.special] if is_multi(framework.item(key)) else (given.special)
            )
        elif given.value is not None:
            data[answer_name(key)] = (
                list(given.value) if isinstance(given.value, list) else str(given.value)
            )
        data[justification_name(key)] = given.justification
        data[evidence_name(key)] = given.evidence_url
    return form_class(formdata=None, data=data)


class AmendForm(BaseForm):
    """Start an amendment of a submitted review: the reason is required and kept."""

    reason = TextAreaField(
        _l("Reason for the amendment"),
        validators=[DataRequired(), Length(max=2000)],
        description=_l("Editors see it next to the new revision."),
    )


# --------------------------------------------------------------------------------------------
# Consolidation
# --------------------------------------------------------------------------------------------


def value_name(key: str) -> str:
    """Form field name of a criterion's consolidated value."""
    return f"value__{key}"


class ConsolidationForm(BaseForm):
    """The editor's consolidated values (one per criterion), recommendations and method note;
    `consolidation_form(...)` adds the per-criterion fields."""

    framework: Framework
    recommendations = TextAreaField(
        _l("Recommendations"),
        validators=[Optional(), Length(max=40000)],
        description=_l("One recommendation per line. Drafted from the framework's guidance."),
    )
    method_note = TextAreaField(
        _l("Note on the method (public)"), validators=[Optional(), Length(max=2000)]
    )

    def values(self) -> dict[str, Any]:
        """The chosen consolidated value of every criterion (None when left blank)."""
        result: dict[str, Any] = {}
        for item in self.framework.items:
            raw = self[value_name(item.key)].data
            if is_multi(item):
                chosen = [key for key in (raw or []) if key]
                specials = [key for key in chosen if key in SPECIAL_VALUES]
                result[item.key] = specials[0] if specials else chosen
            elif raw in (None, ""):
                result[item.key] = None
            elif isinstance(item, RubricItem) and raw not in SPECIAL_VALUES:
                number = float(raw)
                result[item.key] = int(number) if number.is_integer() else number
            else:
                result[item.key] = raw
        return result

    def recommendation_lines(self) -> list[str]:
        """Recommendations, one per non-blank line."""
        text = self.recommendations.data or ""
        return [line.strip() for line in text.splitlines() if line.strip()]

    def put_errors(self, errors: Mapping[str, list[str]]) -> None:
        """Show a service's error codes next to the right fields."""
        self._errors = None
        for key, codes in errors.items():
            name = key if key in ("recommendations", "method_note") else value_name(key)
            messages = [error_message(code) for code in codes]
            if name in self:
                self[name].errors = [*self[name].errors, *messages]
            else:
                self.form_errors.extend(messages)


def consolidation_form(
    framework: Framework,
    lang: str,
    *,
    values: Mapping[str, Any] | None = None,
    recommendations: list[str] | None = None,
    method_note: str = "",
    formdata: Any = None,
) -> ConsolidationForm:
    """Build the consolidation form of a framework, filled from `values` or read from a POST."""
    attributes: dict[str, Any] = {"framework": framework}
    values = values or {}
    for item in framework.items:
        pairs = answer_choices(framework, item, lang)
        current = values.get(item.key)
        if (
            isinstance(item, RubricItem)
            and isinstance(current, int | float)
            and str(current) not in {value for value, _label in pairs}
        ):
            # A half level (median of an even count, "mean" rule) stays choosable.
            pairs.insert(int(current) + 1, (str(current), str(current)))
        if is_multi(item):
            attributes[value_name(item.key)] = MultiCheckboxField(
                item.label.get(lang), choices=select_choices(pairs), validators=[Optional()]
            )
        else:
            attributes[value_name(item.key)] = SelectField(
                item.label.get(lang),
                choices=select_choices([("", "—"), *pairs]),
                validators=[Optional()],
            )
    form_class = type("GeneratedConsolidationForm", (ConsolidationForm,), attributes)
    if formdata is not None:
        return form_class(formdata=formdata)
    data: dict[str, Any] = {
        "recommendations": "\n".join(recommendations or []),
        "method_note": method_note,
    }
    for key, value in values.items():
        if value is None:
            continue
        data[value_name(key)] = list(value) if isinstance(value, list) else str(value)
    return form_class(formdata=None, data=data)


# --------------------------------------------------------------------------------------------
# Assignment and conflicts
# --------------------------------------------------------------------------------------------


class AssignForm(BaseForm):
    """Assign reviewers to a case for a framework version, with a due date."""

    framework = SelectField(_l("Framework version"), coerce=int, validators=[DataRequired()])
    reviewers = MultiCheckboxField(_l("Reviewers"), coerce=int)
    due_date = DateField(_l("Due date"), validators=[DataRequired()])


class ConflictForm(BaseForm):
    """A conflict of interest a reviewer declares: an institution, a case, or both."""

    institution = StringField(
        _l("Institution"),
        validators=[Optional(), Length(max=300)],
        description=_l("You will not be assigned cases of this institution."),
    )
    case_ref = StringField(
        _l("Case reference"),
        validators=[Optional(), Length(max=16)],
        description=_l("For example BRA-0007."),
    )
    note = TextAreaField(_l("Note (seen by editors)"), validators=[Optional(), Length(max=1000)])


# --------------------------------------------------------------------------------------------
# Regulatory instruments
# --------------------------------------------------------------------------------------------


class InstrumentForm(BaseForm):
    """A regulatory instrument (editors); the service checks the values again."""

    country = SelectField(_l("Country"))
    title = StringField(
        _l("Title (original language)"), validators=[DataRequired(), Length(max=600)]
    )
    title_en = StringField(_l("Title in English"), validators=[Optional(), Length(max=600)])
    type = SelectField(_l("Type"))
    status = SelectField(_l("Status"))
    issuing_body = StringField(_l("Issuing body"), validators=[Optional(), Length(max=600)])
    date = StringField(
        _l("Date"),
        validators=[Optional(), Length(max=10)],
        description=_l("YYYY, YYYY-MM or YYYY-MM-DD."),
    )
    relevance = TextAreaField(
        _l("Relevance for public-sector AI"), validators=[Optional(), Length(max=4000)]
    )
    url = URLField(_l("Link"), validators=[Optional(), Length(max=1000), http_url])
    confidence = SelectField(_l("Confidence"))

    def set_choices(self, lang: str) -> None:
        """Fill the controlled lists in the UI language."""
        countries = vocab.country_choices(lang, only=vocab.LAC_COUNTRIES)
        self.country.choices = select_choices(
            [(REGIONAL, _l("Latin America and the Caribbean (regional)")), *countries]
        )
        self.type.choices = select_choices(
            [(key, INSTRUMENT_TYPE_LABELS[key]) for key in INSTRUMENT_TYPES]
        )
        self.status.choices = select_choices(
            [(key, INSTRUMENT_STATUS_LABELS[key]) for key in INSTRUMENT_STATUSES]
        )
        self.confidence.choices = select_choices(
            [(key, CONFIDENCE_LABELS[key]) for key in CONFIDENCE_LEVELS]
        )

    def record(self) -> dict[str, str]:
        """The entered values, as the service takes them."""
        names = (
            "country",
            "title",
            "title_en",
            "type",
            "status",
            "issuing_body",
            "date",
            "relevance",
            "url",
            "confidence",
        )
        return {name: self[name].data or "" for name in names}

    def put_errors(self, errors: Mapping[str, list[str]]) -> None:
        """Show the service's error codes next to the fields."""
        self._errors = None
        for name, codes in errors.items():
            messages = [error_message(code) for code in codes]
            if name in self:
                self[name].errors = [*self[name].errors, *messages]
            else:
                self.form_errors.extend(messages)
