"""Routes of the submission workflow: new case, edit, workflow actions, queues, notifications."""

from __future__ import annotations

from flask import current_app, flash, g, redirect, render_template, request, url_for

from cases import notifications, workflow
from cases.blueprint import bp
from cases.forms import ERROR_MESSAGES, CaseForm, QueueFilterForm, TransitionForm
from cases.history import diff_versions
from observatory.auth import login_required, role_required
from observatory.db import get_session
from observatory.forms import ButtonForm
from observatory.i18n import _
from observatory.models import Role

WORKFLOW_ERRORS = {
    "no-such-transition": lambda: _("That step is not possible in the case's current state."),
    "reason-required": lambda: _("Please give a reason: the submitter will see it."),
    "case-changed": lambda: _(
        "Someone else changed this case at the same moment, so nothing was done. "
        "Check its current state and try again."
    ),
}


def action_labels() -> dict[str, str]:
    """Button text of each workflow action, in the UI language."""
    return {
        "submit": _("Submit for moderation"),
        "resubmit": _("Resubmit"),
        "return": _("Return to the submitter"),
        "publish": _("Publish"),
        "reject": _("Reject"),
        "withdraw": _("Withdraw from the library"),
        "propose_update": _("Propose update"),
    }


def _put_errors_on_form(form: CaseForm, error: workflow.CaseValidationError) -> None:
    for name, codes in error.errors.items():
        field = getattr(form, name, None)
        messages = [str(ERROR_MESSAGES.get(code, code)) for code in codes]
        if field is not None:
            field.errors = list(field.errors) + messages
        else:
            form.form_errors.extend(messages)


def _form_page(form: CaseForm, *, case=None, duplicates=(), conflict=None, status: int = 200):
    session = get_session()
    context = {
        "form": form,
        "case": case,
        "duplicates": duplicates,
        "conflict": conflict,
        "action_labels": action_labels(),
    }
    if case is not None:
        context["events"] = workflow.case_events(session, case.id)
        context["actions"] = workflow.allowed_actions(g.user, case)
        context["transition_form"] = TransitionForm()
    return render_template("cases/form.html", **context), status


@bp.route("/cases/new", methods=["GET", "POST"])
@role_required(Role.SUBMITTER, Role.EDITOR)
def new():
    """Create a case: save a draft, or submit it for moderation."""
    form = CaseForm()
    if request.method == "GET":
        if g.user.country:
            form.country.data = g.user.country
        form.institution.data = g.user.institution
        return _form_page(form)
    if not form.validate():
        return _form_page(form, status=400)
    session = get_session()
    submitting = request.form.get("save") == "submit"
    record = form.record()
    try:
        if submitting:
            workflow.validate_record(record, for_submission=True)
            duplicates = workflow.possible_duplicates(session, data=record)
            if duplicates and not form.not_a_duplicate.data:
                return _form_page(form, duplicates=duplicates)
        case = workflow.create_case(
            session, actor=g.user, raw=record, comment=form.comment.data or ""
        )
        if submitting:
            workflow.transition_case(session, actor=g.user, ref=case.ref, action="submit")
    except workflow.CaseValidationError as error:
        _put_errors_on_form(form, error)
        return _form_page(form, status=400)
    flash(
        _("Case %(ref)s submitted for moderation.", ref=case.ref)
        if submitting
        else _("Draft %(ref)s saved.", ref=case.ref),
        "success",
    )
    return redirect(url_for("cases.edit", ref=case.ref))


@bp.route("/cases/<ref>/edit", methods=["GET", "POST"])
@login_required
def edit(ref: str):
    """Edit a case you may change (a published case gets a pending update)."""
    session = get_session()
    case = workflow.get_case_for(session, ref=ref, actor=g.user)
    data, number = workflow.working_data(session, case)
    if request.method == "GET":
        form = CaseForm(data=_form_data(data, number))
        return _form_page(form, case=case)
    form = CaseForm()
    if not workflow.may_edit(g.user, case):
        flash(_("This case cannot be edited in its current state."), "error")
        return _form_page(form, case=case, status=409)
    if not form.validate():
        return _form_page(form, case=case, status=400)
    action = request.form.get("save")
    record = form.record()
    try:
        base = int(form.base_version.data or 0)
    except ValueError:
        base = 0
    try:
        if action == "submit":
            duplicates = workflow.possible_duplicates(session, data=record, exclude_id=case.id)
            if duplicates and not form.not_a_duplicate.data:
                return _form_page(form, case=case, duplicates=duplicates)
        workflow.update_case(
            session,
            actor=g.user,
            ref=ref,
            raw=record,
            base_version=base,
            comment=form.comment.data or "",
        )
        step = {"draft": "submit", "returned": "resubmit"}.get(case.state)
        if action == "submit" and step:
            workflow.transition_case(session, actor=g.user, ref=ref, action=step)
    except workflow.EditConflict as conflict:
        form.base_version.data = str(conflict.theirs.number)
        flash(
            _(
                "Someone else saved this case while you were editing. Compare both versions "
                "below; your changes are still in the form and were not saved."
            ),
            "error",
        )
        changes = diff_versions(conflict.theirs.data, conflict.mine)
        return _form_page(
            form, case=case, conflict={"theirs": conflict.theirs, "changes": changes}, status=409
        )
    except workflow.CaseValidationError as error:
        _put_errors_on_form(form, error)
        return _form_page(form, case=case, status=400)
    except workflow.WorkflowError as error:
        message = WORKFLOW_ERRORS.get(error.code)
        flash(message() if message else error.code, "error")
        return _form_page(form, case=case, status=409)
    flash(_("Your changes to %(ref)s were saved.", ref=ref), "success")
    return redirect(url_for("cases.edit", ref=ref))


def _form_data(data: dict, number: int) -> dict:
    values = dict(data)
    values["base_version"] = str(number)
    sources = list(values.get("sources") or [])
    values["sources"] = sources + [{} for _ in range(max(0, 3 - len(sources)))]
    for source in values["sources"]:
        accessed = source.get("accessed")
        if isinstance(accessed, str) and accessed:
            from datetime import date

            try:
                source["accessed"] = date.fromisoformat(accessed)
            except ValueError:
                source["accessed"] = None
    return values


@bp.route("/cases/<ref>/action", methods=["POST"])
@login_required
def act(ref: str):
    """Make a workflow move (submit, return with a reason, publish, reject, withdraw…)."""
    form = TransitionForm()
    if not form.validate():
        flash(_("The form had expired. Please try again."), "error")
        return redirect(url_for("cases.edit", ref=ref))
    session = get_session()
    try:
        case = workflow.transition_case(
            session, actor=g.user, ref=ref, action=form.action.data, reason=form.reason.data or ""
        )
    except workflow.CaseValidationError:
        flash(_("The record is not complete enough for this step: edit it first."), "error")
        return redirect(url_for("cases.edit", ref=ref))
    except workflow.WorkflowError as error:
        message = WORKFLOW_ERRORS.get(error.code)
        flash(message() if message else error.code, "error")
        return redirect(url_for("cases.edit", ref=ref))
    flash(
        _(
            "Case %(ref)s is now: %(state)s.",
            ref=case.ref,
            state=current_app.jinja_env.globals["label"]("case_state", case.state),
        ),
        "success",
    )
    return redirect(
        url_for("cases.moderation")
        if workflow.has_role(g.user, Role.EDITOR)
        else url_for("cases.mine")
    )


@bp.route("/cases/mine")
@role_required(Role.SUBMITTER, Role.EDITOR)
def mine():
    """The signed-in account's own cases, their states and every reason an editor gave."""
    return render_template("cases/mine.html", items=workflow.my_cases(get_session(), actor=g.user))


@bp.route("/moderation")
@role_required(Role.EDITOR)
def moderation():
    """Cases waiting for an editor, filterable by country, branch and state."""
    from cases import vocabularies as vocab
    from observatory.forms import select_choices
    from observatory.i18n import current_language

    form = QueueFilterForm(request.args)
    lang = current_language()
    form.country.choices = select_choices(vocab.country_choices(lang))
    form.branch.choices = select_choices(vocab.choices("branch", lang))
    form.state.choices = select_choices(
        [(s, vocab.label("case_state", s, lang)) for s in workflow.QUEUE_STATES]
    )
    form.sort.choices = select_choices(
        [
            ("oldest", _("Oldest first")),
            ("newest", _("Newest first")),
            ("country", _("Country")),
            ("branch", _("Branch")),
        ]
    )
    items = workflow.moderation_queue(
        get_session(),
        actor=g.user,
        countries=request.args.getlist("country"),
        branches=request.args.getlist("branch"),
        states=request.args.getlist("state"),
        sort=request.args.get("sort", "oldest"),
    )
    return render_template("cases/moderation.html", form=form, items=items)


@bp.route("/moderation/stale")
@role_required(Role.EDITOR)
def stale():
    """Published cases not verified for longer than the configured limit."""
    items = workflow.stale_cases(
        get_session(), actor=g.user, older_than_days=current_app.config["STALE_AFTER_DAYS"]
    )
    return render_template("cases/stale.html", items=items, form=ButtonForm())


@bp.route("/cases/<ref>/verify", methods=["POST"])
@role_required(Role.EDITOR)
def verify(ref: str):
    """Record that an editor checked a published case today."""
    if ButtonForm().validate():
        workflow.mark_verified(get_session(), actor=g.user, ref=ref)
        flash(_("Case %(ref)s marked as verified today.", ref=ref), "success")
    return redirect(url_for("cases.stale"))


@bp.route("/notifications", methods=["GET", "POST"])
@login_required
def notifications_page():
    """Your notifications; POST marks them all read."""
    session = get_session()
    form = ButtonForm()
    if request.method == "POST" and form.validate():
        notifications.mark_all_read(session, user=g.user)
        return redirect(url_for("cases.notifications_page"))
    items = notifications.notifications_for(session, user=g.user)
    return render_template(
        "cases/notifications.html", items=items, form=form, render_notification=notifications.render
    )
