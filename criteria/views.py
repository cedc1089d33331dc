"""Routes of criteria and review: public framework and regulation pages, the editors'
assignment and consolidation pages, the reviewers' queue and scoring form."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Flask,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)

from cases import services as case_services
from cases import vocabularies as vocab
from cases import workflow
from cases.models import Case
from criteria import forms, services
from criteria.schema import ChoiceItem, RubricItem
from observatory.auth import role_required
from observatory.db import get_session, session_scope
from observatory.forms import ButtonForm, select_choices
from observatory.hooks import register_case_section, register_init_hook
from observatory.i18n import _, _l, current_language
from observatory.models import Role
from observatory.security import has_role

bp = Blueprint("criteria", __name__, template_folder="templates")

REVIEW_ERRORS = {
    "case-not-public": _l("Only published cases can be reviewed."),
    "framework-not-open": _l("This framework version is not open for new reviews."),
    "due-date-required": _l("Choose a due date."),
    "due-date-past": _l("The due date is in the past."),
    "no-reviewers": _l("Choose at least one reviewer."),
    "not-a-reviewer": _l("That account is not an active reviewer."),
    "already-assigned": _l("That reviewer is already assigned to this case."),
    "too-few-reviewers": _l("A case needs at least %(n)s reviewers.", n=services.MIN_REVIEWERS),
    "already-published": _l("The assessment is already published."),
    "already-submitted": _l("That reviewer has already submitted."),
    "already-withdrawn": _l("That assignment was already withdrawn."),
    "assignment-withdrawn": _l("This assignment was withdrawn."),
    "review-submitted": _l(
        "This review was already submitted; it cannot be changed. Start an amendment instead."
    ),
    "review-changed": _l("Your review changed in another window. Reload the page."),
    "assessment-published": _l("The assessment is published; reviews are closed."),
    "reason-required": _l("Give a reason for the amendment."),
    "reason-too-long": _l("The reason is too long."),
    "not-submitted": _l("Only a submitted review can be amended."),
    "amendment-in-progress": _l("An amendment is already in progress."),
    "reviewer-cannot-consolidate": _l("You reviewed this case; another editor must consolidate."),
    "too-few-reviews": _l(
        "At least %(n)s submitted reviews are needed to consolidate.", n=services.MIN_REVIEWERS
    ),
    "assessment-changed": _l("Another editor changed this assessment. Reload the page."),
    "not-consolidated": _l("Draft the consolidation first."),
    "reviews-pending": _l("Some reviewers have not submitted (or are amending) their review."),
    "consolidation-stale": _l(
        "A review changed after the consolidation was drafted. Draft it again."
    ),
    "invalid-answers": _l("Some answers need attention."),
    "invalid-input": _l("Some fields need attention."),
}


def review_error_message(error: services.ReviewError) -> str:
    """The translated message of a service error."""
    if isinstance(error, services.ConflictOfInterest):
        reasons = ", ".join(str(forms.CONFLICT_LABELS.get(r, r)) for r in error.reasons)
        return _("Conflict of interest: this reviewer %(reasons)s.", reasons=reasons)
    message = REVIEW_ERRORS.get(error.code)
    return str(message) if message is not None else error.code


# --------------------------------------------------------------------------------------------
# Wiring into the app: init hooks and the case page section
# --------------------------------------------------------------------------------------------


def _init_frameworks(app: Flask) -> list[str]:
    """Init hook: load the shipped framework files."""
    with app.app_context(), session_scope(app) as session:
        return services.sync_frameworks(session)


def _init_regulations(app: Flask) -> list[str]:
    """Init hook: load the shipped regulatory instruments."""
    with app.app_context(), session_scope(app) as session:
        return services.load_regulations(session)


def _case_section(case: Case) -> dict | None:
    """The published assessments of a case, for its public page (None when there are none)."""
    assessments = services.published_assessments(get_session(), case.id)
    is_editor = has_role(g.get("user"), Role.EDITOR)
    if not assessments and not is_editor:
        return None
    return {"assessments": assessments, "case": case, "is_editor": is_editor, **helpers()}


def _wire(app: Flask) -> None:
    """Register the init hooks and the case page section on the app."""
    register_init_hook(app, _init_frameworks)
    register_init_hook(app, _init_regulations)
    register_case_section(app, "criteria/_case_assessments.html", _case_section)


bp.record_once(lambda state: _wire(state.app))


# --------------------------------------------------------------------------------------------
# Template helpers (formatting only)
# --------------------------------------------------------------------------------------------


def text(value: Any) -> str:
    """A framework text in the UI language: a LocalizedText or a {lang: text} dict."""
    if value is None:
        return ""
    lang = current_language()
    if isinstance(value, dict):
        return value.get(lang) or value.get("es") or next(iter(value.values()), "")
    return value.get(lang)


def answer_text(framework: Any, key: str, answer: Any) -> str:
    """A reviewer's or consolidated answer as readers see it, in the UI language."""
    if isinstance(answer, services.AnswerIn):
        answer = answer.answer
    if answer is None or answer == []:
        return "—"
    if isinstance(answer, str) and answer in forms.SPECIAL_LABELS:
        return str(forms.SPECIAL_LABELS[answer])
    item = framework.item(key)
    lang = current_language()
    if isinstance(item, RubricItem):
        levels = framework.rubric_levels or {}
        number = float(answer)
        if number.is_integer() and int(number) in levels:
            return f"{int(number)} — {levels[int(number)].get(lang)}"
        return str(answer)
    if isinstance(item, ChoiceItem):
        chosen = answer if isinstance(answer, list) else [answer]
        return ", ".join(o.label.get(lang) for o in item.options if o.key in chosen) or "—"
    return str(forms.ANSWER_LABELS.get(answer, answer))


def format_alpha(value: float | None) -> str:
    """Krippendorff's alpha with three decimals, or a dash when undefined."""
    return "—" if value is None else f"{value:.3f}"


def helpers() -> dict[str, Any]:
    """Formatting helpers and label tables every criteria template receives."""
    return {
        "t": text,
        "answer_text": answer_text,
        "format_alpha": format_alpha,
        "special_labels": forms.SPECIAL_LABELS,
        "tier_labels": forms.COMMON_TIER_LABELS,
        "method_labels": forms.METHOD_LABELS,
        "kind_labels": forms.KIND_LABELS,
        "status_labels": forms.FRAMEWORK_STATUS_LABELS,
        "overall_labels": forms.OVERALL_LABELS,
        "review_status_labels": forms.REVIEW_STATUS_LABELS,
        "assessment_status_labels": forms.ASSESSMENT_STATUS_LABELS,
        "conflict_labels": forms.CONFLICT_LABELS,
        "type_labels": forms.INSTRUMENT_TYPE_LABELS,
        "instrument_status_labels": forms.INSTRUMENT_STATUS_LABELS,
        "confidence_labels": forms.CONFIDENCE_LABELS,
        "legal_nature_labels": forms.LEGAL_NATURE_LABELS,
        "jurisdiction_labels": forms.JURISDICTION_LABELS,
        "alpha_level_labels": forms.ALPHA_LEVEL_LABELS,
        "answer_labels": forms.ANSWER_LABELS,
        "regional": services.REGIONAL,
    }


def _render(template: str, status: int = 200, **context: Any):
    """Render a criteria template with the formatting helpers."""
    return render_template(template, **helpers(), **context), status


def _country_label(code: str) -> str:
    """The name of a country (or of the regional group) in the UI language."""
    if code == services.REGIONAL:
        return _("Latin America and the Caribbean (regional)")
    return vocab.country_name(code, current_language())


def _sorted_countries(codes) -> list[tuple[str, str]]:
    """(code, name) pairs: the regional group first, then countries by name."""
    named = sorted(
        ((code, _country_label(code)) for code in codes if code != services.REGIONAL),
        key=lambda pair: pair[1].casefold(),
    )
    return (
        [(services.REGIONAL, _country_label(services.REGIONAL))]
        if services.REGIONAL in codes
        else []
    ) + named


# --------------------------------------------------------------------------------------------
# Public pages: frameworks and regulations
# --------------------------------------------------------------------------------------------


@bp.route("/frameworks")
def frameworks():
    """Every framework version with its method, and the regulatory context by country."""
    session = get_session()
    versions = services.list_frameworks(session, actor=g.get("user"))
    counts = services.instrument_counts(session)
    return _render(
        "criteria/frameworks.html",
        versions=[(row, services.framework_of(row)) for row in versions],
        countries=_sorted_countries(counts),
        counts=counts,
    )


@bp.route("/frameworks/<key>/<version>")
def framework(key: str, version: str):
    """One framework version: source, method, criteria with level guidance, regulations."""
    session = get_session()
    row = services.get_framework_version(session, key, version, actor=g.get("user"))
    framework_model = services.framework_of(row)
    countries = list(framework_model.source.jurisdiction.countries)
    instruments = services.instruments_by_country(session, countries=countries) if countries else {}
    others = [
        other
        for other in services.list_frameworks(session, actor=g.get("user"))
        if other.key == row.key and other.id != row.id
    ]
    groups = {group.key: group for group in framework_model.groups}
    sections: list[tuple[Any, list]] = []
    for item in framework_model.items:
        group = groups.get(item.group) if item.group else None
        if not sections or sections[-1][0] is not group:
            sections.append((group, []))
        sections[-1][1].append(item)
    return _render(
        "criteria/framework.html",
        row=row,
        fw=framework_model,
        sections=sections,
        instruments=instruments,
        instrument_countries=_sorted_countries(instruments),
        others=others,
        agreement=services.framework_agreement(session, framework_id=row.id, actor=None),
    )


@bp.route("/regulations")
def regulations():
    """Regulatory instruments that govern public-sector AI, by country (editors may edit)."""
    session = get_session()
    wanted = request.args.get("country", "").upper()
    grouped = services.instruments_by_country(
        session, countries=[wanted] if wanted else None, actor=g.get("user")
    )
    all_codes = services.instrument_counts(session)
    return _render(
        "criteria/regulations.html",
        grouped=grouped,
        countries=_sorted_countries(grouped),
        filter_countries=_sorted_countries(all_codes),
        wanted=wanted,
        is_editor=has_role(g.get("user"), Role.EDITOR),
    )


def _instrument_page(form: forms.InstrumentForm, instrument=None, status: int = 200):
    """The instrument form page."""
    return _render("criteria/instrument_form.html", status, form=form, instrument=instrument)


@bp.route("/regulations/new", methods=["GET", "POST"])
@role_required(Role.EDITOR)
def new_instrument():
    """Add a regulatory instrument."""
    form = forms.InstrumentForm()
    form.set_choices(current_language())
    if request.method == "GET":
        form.confidence.data = "medium"
        return _instrument_page(form)
    if not form.validate():
        return _instrument_page(form, status=400)
    try:
        instrument = services.create_instrument(get_session(), actor=g.user, raw=form.record())
    except services.FieldErrors as error:
        form.put_errors(error.errors)
        return _instrument_page(form, status=400)
    flash(_("Instrument added."), "success")
    return redirect(url_for("criteria.regulations", country=instrument.country))


@bp.route("/regulations/<int:instrument_id>/edit", methods=["GET", "POST"])
@role_required(Role.EDITOR)
def edit_instrument(instrument_id: int):
    """Change a regulatory instrument (archive it rather than delete it)."""
    session = get_session()
    instrument = services.get_instrument(session, actor=g.user, instrument_id=instrument_id)
    if request.method == "GET":
        form = forms.InstrumentForm(formdata=None, obj=instrument)
        form.set_choices(current_language())
        return _instrument_page(form, instrument)
    form = forms.InstrumentForm()
    form.set_choices(current_language())
    if not form.validate():
        return _instrument_page(form, instrument, status=400)
    try:
        services.update_instrument(
            session, actor=g.user, instrument_id=instrument_id, raw=form.record()
        )
    except services.FieldErrors as error:
        form.put_errors(error.errors)
        return _instrument_page(form, instrument, status=400)
    flash(_("Instrument updated."), "success")
    return redirect(url_for("criteria.regulations", country=instrument.country))


# --------------------------------------------------------------------------------------------
# Editors: assignment, overview, consolidation
# --------------------------------------------------------------------------------------------


def _assign_page(case: Case, form: forms.AssignForm, status: int = 200):
    """The assignment page of a case."""
    session = get_session()
    return _render(
        "criteria/assign.html",
        status,
        case=case,
        form=form,
        options=services.reviewer_options(session, actor=g.user, case_id=case.id),
        assignments=services.case_assignments(session, actor=g.user, case_id=case.id),
        button_form=ButtonForm(),
    )


@bp.route("/cases/<ref>/assign", methods=["GET", "POST"])
@role_required(Role.EDITOR)
def assign(ref: str):
    """Assign reviewers to a published case for a framework version, with a due date."""
    session = get_session()
    case = case_services.get_published_case(session, ref)
    form = forms.AssignForm()
    form.framework.choices = select_choices(
        [
            (row.id, f"{text(row.title)} ({row.version})")
            for row in services.open_frameworks(session)
        ]
    )
    options = services.reviewer_options(session, actor=g.user, case_id=case.id)
    form.reviewers.choices = select_choices(
        [(option.user.id, option.user.name or option.user.email) for option in options]
    )
    if request.method == "GET":
        return _assign_page(case, form)
    if not form.validate():
        return _assign_page(case, form, status=400)
    try:
        services.assign_reviewers(
            session,
            actor=g.user,
            case_id=case.id,
            framework_id=form.framework.data,
            reviewer_ids=form.reviewers.data or [],
            due_date=form.due_date.data,
        )
    except services.ReviewError as error:
        form.reviewers.errors = [*form.reviewers.errors, review_error_message(error)]
        form._errors = None
        return _assign_page(case, form, status=400)
    flash(_("Reviewers assigned. They were notified."), "success")
    return redirect(url_for("criteria.assign", ref=case.ref))


@bp.route("/assignments/<int:assignment_id>/withdraw", methods=["POST"])
@role_required(Role.EDITOR)
def withdraw(assignment_id: int):
    """Withdraw a reviewer who has not submitted."""
    session = get_session()
    if not ButtonForm().validate():
        abort(400)
    try:
        assignment = services.withdraw_assignment(
            session, actor=g.user, assignment_id=assignment_id
        )
    except services.ReviewError as error:
        flash(review_error_message(error), "error")
        return redirect(request.referrer or url_for("criteria.assessments"))
    case = session.get(Case, assignment.case_id)
    flash(_("The reviewer was withdrawn."), "success")
    return redirect(url_for("criteria.assign", ref=case.ref))


@bp.route("/assessments")
@role_required(Role.EDITOR)
def assessments():
    """Cases in review or assessed, by framework version; jump to a case to assign reviewers."""
    ref = request.args.get("case", "").strip().upper()
    if ref:
        return redirect(url_for("criteria.assign", ref=ref))
    rows = services.assessment_overview(get_session(), actor=g.user)
    return _render("criteria/assessments.html", rows=rows)


def _consolidation_target(case_ref: str, framework_key: str, version: str):
    """The case (visible to the editor) and the framework version named in the URL."""
    session = get_session()
    case = workflow.get_case_for(session, ref=case_ref, actor=g.user)
    row = services.get_framework_version(session, framework_key, version, actor=g.user)
    return case, row


def _consolidation_page(view: services.ConsolidationView, form=None, status: int = 200):
    """The consolidation page, with a form filled from the draft (or the proposals)."""
    assessment = view.assessment
    if form is None:
        values = (
            {k: e.get("value") for k, e in assessment.result["items"].items()}
            if assessment
            else {k: p.value for k, p in view.proposals.items()}
        )
        form = forms.consolidation_form(
            view.framework,
            current_language(),
            values=values,
            recommendations=list(assessment.recommendations) if assessment else [],
            method_note=assessment.method_note if assessment else "",
        )
    return _render(
        "criteria/consolidate.html",
        status,
        view=view,
        fw=view.framework,
        form=form,
        button_form=ButtonForm(),
        value_name=forms.value_name,
        is_multi=forms.is_multi,
    )


@bp.route("/assessments/<case_ref>/<framework_key>/<version>", methods=["GET", "POST"])
@role_required(Role.EDITOR)
def consolidate(case_ref: str, framework_key: str, version: str):
    """Consolidation: reviews side by side, flags, alpha, consolidated values, publication."""
    session = get_session()
    case, row = _consolidation_target(case_ref, framework_key, version)
    try:
        view = services.consolidation_view(
            session, actor=g.user, case_id=case.id, framework_id=row.id
        )
    except services.ReviewError as error:
        flash(review_error_message(error), "error")
        return redirect(url_for("criteria.assessments"))
    if request.method == "GET":
        return _consolidation_page(view)
    action = request.form.get("action", "")
    here = url_for(
        "criteria.consolidate", case_ref=case.ref, framework_key=row.key, version=row.version
    )
    if action == "consolidate":
        if not ButtonForm().validate():
            abort(400)
        try:
            services.consolidate(
                session,
                actor=g.user,
                case_id=case.id,
                framework_id=row.id,
                lang=current_language(),
            )
        except services.ReviewError as error:
            flash(review_error_message(error), "error")
            return redirect(here)
        flash(_("Consolidation drafted from the submitted reviews."), "success")
        return redirect(here)
    form = forms.consolidation_form(view.framework, current_language(), formdata=request.form)
    if action not in ("save", "publish") or not form.validate():
        return _consolidation_page(view, form, status=400)
    try:
        services.update_consolidation(
            session,
            actor=g.user,
            case_id=case.id,
            framework_id=row.id,
            values=form.values(),
            recommendations=form.recommendation_lines(),
            method_note=form.method_note.data or "",
        )
        if action == "publish":
            services.publish_assessment(session, actor=g.user, case_id=case.id, framework_id=row.id)
    except services.FieldErrors as error:
        form.put_errors(error.errors)
        return _consolidation_page(view, form, status=400)
    except services.ReviewError as error:
        flash(review_error_message(error), "error")
        return redirect(here)
    if action == "publish":
        flash(_("The assessment is published on the case page."), "success")
        return redirect(url_for("cases.detail", ref=case.ref))
    flash(_("Consolidation saved."), "success")
    return redirect(here)


# --------------------------------------------------------------------------------------------
# Reviewers: queue, scoring form, amendment, conflicts
# --------------------------------------------------------------------------------------------


@bp.route("/reviews")
@role_required(Role.REVIEWER)
def reviews():
    """The signed-in reviewer's assignments."""
    items = services.reviewer_queue(get_session(), actor=g.user)
    return _render("criteria/queue.html", items=items)


def _review_page(state: services.ReviewState, form, status: int = 200, amend_form=None):
    """The scoring page of an assignment."""
    return _render(
        "criteria/review.html",
        status,
        state=state,
        fw=state.framework,
        form=form,
        amend_form=amend_form or forms.AmendForm(formdata=None),
        answer_name=forms.answer_name,
        justification_name=forms.justification_name,
        evidence_name=forms.evidence_name,
        is_multi=forms.is_multi,
    )


@bp.route("/reviews/<int:assignment_id>", methods=["GET", "POST"])
@role_required(Role.REVIEWER)
def review(assignment_id: int):
    """Score a case criterion by criterion; save a draft or submit (then read-only)."""
    session = get_session()
    try:
        state = services.open_review(session, actor=g.user, assignment_id=assignment_id)
    except services.ReviewError as error:
        flash(review_error_message(error), "error")
        return redirect(url_for("criteria.reviews"))
    lang = current_language()
    if request.method == "GET" or not state.editable:
        form = forms.review_form(state.framework, lang, answers=state.answers)
        return _review_page(state, form, status=200 if request.method == "GET" else 409)
    form = forms.review_form(state.framework, lang, formdata=request.form)
    submitting = request.form.get("action") == "submit"
    if not form.validate_for(submitting=submitting):
        return _review_page(state, form, status=400)
    try:
        if submitting:
            services.submit_review(
                session, actor=g.user, assignment_id=assignment_id, answers=form.answers()
            )
        else:
            services.save_review(
                session, actor=g.user, assignment_id=assignment_id, answers=form.answers()
            )
    except services.FieldErrors as error:
        form.put_errors(error.errors)
        return _review_page(state, form, status=400)
    except services.ReviewError as error:
        flash(review_error_message(error), "error")
        return redirect(url_for("criteria.review", assignment_id=assignment_id))
    flash(
        _("Review submitted. You can now see the other reviewers' submitted scores.")
        if submitting
        else _("Draft saved."),
        "success",
    )
    return redirect(url_for("criteria.review", assignment_id=assignment_id))


@bp.route("/reviews/<int:assignment_id>/amend", methods=["POST"])
@role_required(Role.REVIEWER)
def amend(assignment_id: int):
    """Start an amendment of a submitted review (a new revision, with a reason)."""
    session = get_session()
    form = forms.AmendForm()
    if not form.validate():
        state = services.open_review(session, actor=g.user, assignment_id=assignment_id)
        page = forms.review_form(state.framework, current_language(), answers=state.answers)
        return _review_page(state, page, status=400, amend_form=form)
    try:
        services.amend_review(
            session, actor=g.user, assignment_id=assignment_id, reason=form.reason.data
        )
    except services.ReviewError as error:
        flash(review_error_message(error), "error")
        return redirect(url_for("criteria.review", assignment_id=assignment_id))
    flash(_("Amendment started: change your answers and submit them again."), "success")
    return redirect(url_for("criteria.review", assignment_id=assignment_id))


@bp.route("/reviews/conflicts", methods=["GET", "POST"])
@role_required(Role.REVIEWER)
def conflicts():
    """Declare a conflict of interest with an institution or a case."""
    session = get_session()
    form = forms.ConflictForm()
    status = 200
    if request.method == "POST":
        if form.validate():
            try:
                services.declare_conflict(
                    session,
                    actor=g.user,
                    institution=form.institution.data or "",
                    case_ref=form.case_ref.data or "",
                    note=form.note.data or "",
                )
            except services.FieldErrors as error:
                for name, codes in error.errors.items():
                    form[name].errors = [*form[name].errors, *map(forms.error_message, codes)]
                form._errors = None
                status = 400
            else:
                flash(_("Conflict of interest recorded."), "success")
                return redirect(url_for("criteria.conflicts"))
        else:
            status = 400
    items = services.my_conflicts(session, actor=g.user)
    refs = {}
    for item in items:
        if item.case_id:
            case = session.get(Case, item.case_id)
            refs[item.case_id] = case.ref if case else ""
    return _render("criteria/conflicts.html", status, form=form, items=items, refs=refs)
