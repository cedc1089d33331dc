"""Forms of the case library: the case record (draft, submit, edit) and moderation actions."""

from __future__ import annotations

from wtforms import (
    BooleanField,
    DateField,
    FieldList,
    FormField,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    URLField,
)
from wtforms.validators import Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from cases import vocabularies as vocab
from observatory.forms import BaseForm, FilterForm, select_choices
from observatory.i18n import _l, current_language


class MultiCheckboxField(SelectMultipleField):
    """Several choices as a list of checkboxes (works without JavaScript)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class SourceForm(BaseForm):
    """One source of a case (a sub-form: no CSRF token of its own)."""

    class Meta:
        csrf = False

    url = URLField(_l("Source URL"), validators=[Optional(), Length(max=1000)])
    title = StringField(_l("Source title"), validators=[Optional(), Length(max=500)])
    # Checked by the service (unknown values are reported there), so blank rows stay valid.
    type = SelectField(_l("Source type"), validate_choice=False, default="other")
    accessed = DateField(_l("Date accessed"), validators=[Optional()])


class CaseForm(BaseForm):
    """The whole case record; controlled lists come from the vocabularies in the UI language."""

    base_version = HiddenField()
    name = StringField(_l("Name of the system"), validators=[Length(max=300)])
    acronym = StringField(_l("Acronym"), validators=[Optional(), Length(max=40)])
    institution = StringField(_l("Institution"), validators=[Length(max=300)])
    country = SelectField(_l("Country"))
    subnational_region = StringField(
        _l("State, province or municipality"), validators=[Optional(), Length(max=200)]
    )
    level = SelectField(_l("Government level"))
    branch = SelectField(_l("Branch of government"))
    sector = SelectField(_l("Sector"))
    purpose = TextAreaField(
        _l("Purpose: what problem does it solve?"), validators=[Optional(), Length(max=5000)]
    )
    techniques = MultiCheckboxField(_l("AI techniques"))
    decision_role = SelectField(_l("Role in decisions"))
    lifecycle_status = SelectField(_l("Lifecycle status"))
    year_started = IntegerField(_l("Start year"), validators=[Optional(), NumberRange(1950, 2100)])
    year_ended = IntegerField(
        _l("End year"),
        validators=[Optional(), NumberRange(1950, 2100)],
        description=_l("Required when the system was discontinued."),
    )
    developer_type = SelectField(_l("Developed by"))
    developer_name = StringField(
        _l("Vendor or partner name"),
        validators=[Optional(), Length(max=300)],
        description=_l("Required when a vendor developed it."),
    )
    data_used = TextAreaField(_l("Data used"), validators=[Optional(), Length(max=3000)])
    personal_data = SelectField(_l("Processes personal data?"))
    sensitive_data = SelectField(_l("Processes sensitive data?"))
    affected_groups = TextAreaField(
        _l("Affected groups"), validators=[Optional(), Length(max=2000)]
    )
    vulnerable_groups = MultiCheckboxField(_l("Vulnerable groups affected"))
    human_oversight = TextAreaField(
        _l("Human oversight"), validators=[Optional(), Length(max=3000)]
    )
    appeal_mechanism = TextAreaField(
        _l("How people can appeal or complain"), validators=[Optional(), Length(max=3000)]
    )
    documentation_url = URLField(
        _l("Public documentation (link)"), validators=[Optional(), Length(max=1000)]
    )
    source_code_url = URLField(_l("Source code (link)"), validators=[Optional(), Length(max=1000)])
    impact_assessment_url = URLField(
        _l("Impact assessment (link)"), validators=[Optional(), Length(max=1000)]
    )
    legal_basis = TextAreaField(_l("Legal basis"), validators=[Optional(), Length(max=2000)])
    known_concerns = TextAreaField(_l("Known concerns"), validators=[Optional(), Length(max=5000)])
    record_language = SelectField(_l("Language of this record"))
    confidence = SelectField(_l("Confidence in these facts"))
    sources = FieldList(FormField(SourceForm), _l("Sources"), min_entries=3, max_entries=20)
    comment = StringField(
        _l("What changed (comment for the history)"), validators=[Optional(), Length(max=2000)]
    )
    not_a_duplicate = BooleanField(
        _l("I checked the similar cases above: this is a different system.")
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        lang = current_language()
        lists = {
            "level": "level",
            "branch": "branch",
            "sector": "sector",
            "decision_role": "decision_role",
            "lifecycle_status": "lifecycle_status",
            "developer_type": "developer_type",
            "personal_data": "data_flag",
            "sensitive_data": "data_flag",
            "record_language": "record_language",
            "confidence": "confidence",
            "techniques": "technique",
            "vulnerable_groups": "vulnerable_group",
        }
        for field_name, vocabulary in lists.items():
            getattr(self, field_name).choices = select_choices(vocab.choices(vocabulary, lang))
        blank = [("", str(_l("Choose…")))]
        for field_name in ("level", "branch", "sector"):
            getattr(self, field_name).choices = select_choices(
                blank + vocab.choices(VOCAB_OF[field_name], lang)
            )
        self.country.choices = select_choices(blank + vocab.country_choices(lang))
        for entry in self.sources:
            entry.form.type.choices = select_choices(vocab.choices("source_type", lang))

    def record(self) -> dict:
        """The submitted values as a plain record for the workflow services."""
        data = {name: getattr(self, name).data for name in RECORD_FORM_FIELDS}
        data["sources"] = [
            {
                "url": entry.form.url.data or "",
                "title": entry.form.title.data or "",
                "type": entry.form.type.data or "other",
                "accessed": entry.form.accessed.data,
            }
            for entry in self.sources
        ]
        return data


VOCAB_OF = {"level": "level", "branch": "branch", "sector": "sector"}
RECORD_FORM_FIELDS = (
    "name",
    "acronym",
    "institution",
    "country",
    "subnational_region",
    "level",
    "branch",
    "sector",
    "purpose",
    "techniques",
    "decision_role",
    "lifecycle_status",
    "year_started",
    "year_ended",
    "developer_type",
    "developer_name",
    "data_used",
    "personal_data",
    "sensitive_data",
    "affected_groups",
    "vulnerable_groups",
    "human_oversight",
    "appeal_mechanism",
    "documentation_url",
    "source_code_url",
    "impact_assessment_url",
    "legal_basis",
    "known_concerns",
    "record_language",
    "confidence",
)


class TransitionForm(BaseForm):
    """A workflow button, with the reason an editor gives."""

    action = HiddenField()
    reason = TextAreaField(
        _l("Reason (shown to the submitter)"), validators=[Optional(), Length(max=4000)]
    )


class QueueFilterForm(FilterForm):
    """Filters of the moderation queue (GET)."""

    country = SelectMultipleField(_l("Country"), validators=[Optional()])
    branch = SelectMultipleField(_l("Branch of government"), validators=[Optional()])
    state = SelectMultipleField(_l("State"), validators=[Optional()])
    sort = SelectField(_l("Sort by"), validators=[Optional()])


# Messages for the validation codes of cases.workflow.validate_record.
ERROR_MESSAGES = {
    "required": _l("This field is required."),
    "too-long": _l("This text is too long."),
    "unknown-country": _l("Choose a country from the list."),
    "unknown-value": _l("Choose a value from the list."),
    "not-a-year": _l("Enter a year such as 2021."),
    "implausible-year": _l("Enter a year between 1950 and five years from now."),
    "before-start": _l("The end year cannot be before the start year."),
    "vendor-name-required": _l("Name the vendor when a vendor developed the system."),
    "end-year-required": _l("Give the end year of a discontinued system."),
    "bad-url": _l("Links must start with http:// or https://."),
    "source-required": _l("Give at least one source with a link before submitting."),
}
