"""Routes of the public case page: the page, its JSON, history and corrections."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask import current_app, flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import format_date
from sqlalchemy import Row
from sqlmodel import Session

from cases import case_facts, citation, corrections, history, services
from cases import vocabularies as vocab
from cases.blueprint import bp
from cases.correction_forms import AnswerForm, CorrectionForm
from cases.models import Case
from observatory.auth import role_required
from observatory.db import get_session
from observatory.i18n import _, _l, current_language, translated_labels
from observatory.models import Role
from observatory.pagecache import anonymous_page

# Labels of the record fields (case page and history).
FIELD_LABELS = {
    "name": _l("Name"),
    "acronym": _l("Acronym"),
    "institution": _l("Institution"),
    "country": _l("Country"),
    "subnational_region": _l("Subnational region"),
    "level": _l("Government level"),
    "branch": _l("Branch of government"),
    "sector": _l("Sector"),
    "purpose": _l("Purpose"),
    "techniques": _l("AI techniques"),
    "decision_role": _l("Role in decisions"),
    "lifecycle_status": _l("Lifecycle status"),
    "year_started": _l("Year started"),
    "year_ended": _l("Year ended"),
    "developer_type": _l("Developer"),
    "developer_name": _l("Developer name"),
    "data_used": _l("Data used"),
    "personal_data": _l("Uses personal data"),
    "sensitive_data": _l("Uses sensitive data"),
    "affected_groups": _l("Affected groups"),
    "vulnerable_groups": _l("Vulnerable groups concerned"),
    "human_oversight": _l("Human oversight"),
    "appeal_mechanism": _l("How to appeal"),
    "documentation_url": _l("Documentation"),
    "source_code_url": _l("Source code"),
    "impact_assessment_url": _l("Impact assessment"),
    "legal_basis": _l("Legal basis"),
    "known_concerns": _l("Known concerns"),
    "sources": _l("Sources"),
    "record_language": _l("Language of the record"),
    "confidence": _l("Confidence"),
    "last_verified": _l("Last verified"),
}
# The vocabulary whose labels show a field's stored keys.
FIELD_VOCABULARIES = {
    "level": "level",
    "branch": "branch",
    "sector": "sector",
    "techniques": "technique",
    "decision_role": "decision_role",
    "lifecycle_status": "lifecycle_status",
    "developer_type": "developer_type",
    "personal_data": "data_flag",
    "sensitive_data": "data_flag",
    "vulnerable_groups": "vulnerable_group",
    "record_language": "record_language",
    "confidence": "confidence",
}
URL_FIELDS = ("documentation_url", "source_code_url", "impact_assessment_url")
# Titles of the case page's groups of fields (cases.case_facts.LAYOUT).
FACT_GROUP_TITLES = {
    "where": _l("What it does, who uses it and where"),
    "system": _l("The system"),
    "data": _l("Data"),
    "people": _l("People affected and safeguards"),
    "transparency": _l("Transparency"),
}
CORRECTION_STATUS = {
    "open": _l("Open"),
    "accepted": _l("Accepted"),
    "declined": _l("Declined"),
}
CORRECTION_ERRORS = {
    "text-too-short": _l("Please write at least %(n)s characters.", n=corrections.TEXT_MIN),
    "text-too-long": _l("Please keep it under %(n)s characters.", n=corrections.TEXT_MAX),
    "invalid-source-url": _l("Enter a web address starting with http:// or https://."),
    "invalid-email": _l("That is not a valid e-mail address."),
    "invalid-status": _l("Choose to accept or decline."),
    "reply-required": _l("Write a reply: it is published with your decision."),
    "reply-too-long": _l("Please keep it under %(n)s characters.", n=corrections.REPLY_MAX),
    "already-answered": _l("That correction was already answered."),
}


@dataclass(frozen=True)
class CaseDetailPage:
    """Everything the case page shows, computed before rendering."""

    case: Case
    techniques: list[str]
    version: int | None
    verified_on: date | None
    stale: bool
    corrections: list[corrections.PublicCorrection]
    cite_text: str
    cite_bibtex: str
    facts: list[case_facts.FactGroup]


@bp.app_template_test("web_url")
def _is_web_url(value: object) -> bool:
    """Jinja test: only http(s) addresses become links (never `javascript:` and the like)."""
    return isinstance(value, str) and corrections.is_web_url(value)


@bp.app_template_filter("iso_day")
def _iso_day(value: object) -> str:
    """Format an ISO date string (as stored in JSON, e.g. a source's access date) for display."""
    if isinstance(value, date):
        return format_date(value, "medium")
    try:
        return format_date(date.fromisoformat(str(value)), "medium")
    except ValueError:
        return str(value or "")


def _detail_page(session: Session, case: Case | Row) -> CaseDetailPage:
    """Gather what the case page shows (no queries from the template)."""
    today = date.today()
    verified = history.verified_on(case)
    url = url_for("cases.detail", ref=case.ref, _external=True)
    techniques = services.case_techniques(session, case.id)
    lang = current_language()
    values = {name: getattr(case, name, None) for name in FIELD_LABELS}
    values["techniques"] = techniques
    return CaseDetailPage(
        case=case,
        techniques=techniques,
        version=history.published_version_number(session, case.id),
        verified_on=verified,
        stale=history.is_stale(
            verified, today=today, after_days=current_app.config["STALE_AFTER_DAYS"]
        ),
        corrections=corrections.public_corrections(session, case.id),
        cite_text=citation.cite_text(case, url=url, accessed=today, lang=current_language()),
        cite_bibtex=citation.cite_bibtex(case, url=url, accessed=today),
        facts=case_facts.fact_groups(
            values,
            titles=translated_labels(FACT_GROUP_TITLES),
            field_labels=translated_labels(FIELD_LABELS),
            label=lambda vocabulary, key: vocab.label(vocabulary, key, lang),
            country_name=lambda iso3: vocab.country_name(iso3, lang),
        ),
    )


def _render_detail(session: Session, case: Case | Row, form: CorrectionForm | None):
    """Render the case page with the given suggestion form (blank, or with errors), or with
    a link to the form (None: the page then uses no session and can be cached)."""
    return render_template(
        "cases/detail.html",
        page=_detail_page(session, case),
        case=case,
        form=form,
        field_labels=FIELD_LABELS,
        url_fields=URL_FIELDS,
        correction_status=CORRECTION_STATUS,
    )


@bp.route("/cases/<ref>")
def detail(ref: str):
    """A public case: every field, sources, citation, corrections (its permalink).

    The suggestion form is on its own page (`suggest_correction`), so this page is the same for
    every anonymous visitor: it is served from the page cache, keyed by the data version.
    """

    def render() -> str:
        session = get_session()
        return _render_detail(session, services.published_case_record(session, ref), None)

    return anonymous_page("cases.detail", render, extra=(current_app.config["STALE_AFTER_DAYS"],))


@bp.route("/cases/<ref>.json")
def detail_json(ref: str):
    """The public record of a case as JSON (the published version only)."""
    session = get_session()
    case = services.get_published_case(session, ref)
    record = services.record_data(case, services.case_techniques(session, case.id))
    record.update(
        ref=case.ref,
        url=url_for("cases.detail", ref=case.ref, _external=True),
        history_url=url_for("cases.history", ref=case.ref, _external=True),
        version=history.published_version_number(session, case.id),
        published_at=case.published_at.isoformat() if case.published_at else None,
        provenance=case.provenance,
        licence="CC BY 4.0",
    )
    return jsonify(record)


@bp.route("/cases/<ref>/history", endpoint="history")
def history_page(ref: str):
    """The public history of a case: each published version and what changed."""
    session = get_session()
    case = services.get_published_case(session, ref)
    return render_template(
        "cases/history.html",
        case=case,
        versions=history.public_history(session, case),
        field_labels=FIELD_LABELS,
        field_vocabularies=FIELD_VOCABULARIES,
        editorial=history.EDITORIAL,
    )


def _put_error(form, error: corrections.CorrectionError) -> bool:
    """Put a service error on its form field; False when it belongs to no field."""
    message = str(CORRECTION_ERRORS.get(error.code, error.code))
    if error.field and error.field in form:
        form[error.field].errors = [*form[error.field].errors, message]
        return True
    flash(message, "error")
    return False


@bp.route("/cases/<ref>/corrections", methods=["GET", "POST"], endpoint="suggest_correction")
def suggest(ref: str):
    """Suggest a correction on a public case (anyone): the case page with the form; errors
    come back next to the fields."""
    session = get_session()
    case = services.get_published_case(session, ref)
    if request.method == "GET":
        return _render_detail(session, case, CorrectionForm(formdata=None))
    form = CorrectionForm()
    if form.validate_on_submit():
        try:
            corrections.suggest_correction(
                session,
                case_ref=case.ref,
                text=form.text.data,
                source_url=form.source_url.data or "",
                contact_email=form.contact_email.data or "",
                actor=g.user,
            )
        except corrections.CorrectionError as error:
            _put_error(form, error)
        else:
            flash(
                _("Thank you. Your suggestion is listed below until an editor answers it."),
                "success",
            )
            return redirect(url_for("cases.detail", ref=case.ref, _anchor="corrections"))
    return _render_detail(session, case, form), 400


def _render_queue(session: Session, form: AnswerForm, failed_id: int | None = None):
    """Render the editors' queue; `failed_id` marks the correction whose answer had errors."""
    return render_template(
        "cases/corrections_queue.html",
        items=corrections.open_corrections(session, actor=g.user),
        form=form,
        failed_id=failed_id,
    )


@bp.route("/corrections", endpoint="corrections_queue")
@role_required(Role.EDITOR)
def queue():
    """The editors' queue of open corrections."""
    return _render_queue(get_session(), AnswerForm(formdata=None))


@bp.route("/corrections/<int:correction_id>", methods=["POST"], endpoint="answer_correction")
@role_required(Role.EDITOR)
def answer(correction_id: int):
    """Accept or decline a correction with a public reply (editors)."""
    session = get_session()
    form = AnswerForm()
    if form.validate_on_submit():
        try:
            corrections.answer_correction(
                session,
                correction_id=correction_id,
                status=form.status.data,
                reply=form.reply.data,
                actor=g.user,
            )
        except corrections.CorrectionError as error:
            if not _put_error(form, error):
                return redirect(url_for("cases.corrections_queue"))
        else:
            flash(_("Your answer is published on the case page."), "success")
            return redirect(url_for("cases.corrections_queue"))
    return _render_queue(session, form, correction_id), 400
