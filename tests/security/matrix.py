"""The expected authorization matrix: for every endpoint of the URL map, who gets through.

One or more `Entry` per endpoint. An entry names the URL parameters by the world objects that
fill them (see `_world.py`) and, for GET and (where the route accepts it) POST, an `Access`:
the roles that get through, and how the others are refused. The default refusal is a redirect
to the sign-in page for the anonymous visitor and 403 for a signed-in role; hidden objects are
404 (`hidden=` names the roles that get a 404). A deactivated account (signed in, then
deactivated by an admin) is always expected to get what the anonymous visitor gets.

URL parameter tokens: `ref:<case>`, `assignment:<name>`, `user:<name>`, `instrument:<name>`,
`framework:<name>` (fills `key`/`version` or `framework_key`/`version`), `correction`, or a
literal value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

ANONYMOUS, SUBMITTER, REVIEWER, EDITOR, ADMIN = (
    "anonymous",
    "submitter",
    "reviewer",
    "editor",
    "admin",
)
DEACTIVATED = "deactivated"
ROLES = (ANONYMOUS, SUBMITTER, REVIEWER, EDITOR, ADMIN)

OK, LOGIN, FORBIDDEN, NOT_FOUND = "ok", "sign-in", "403", "404"


@dataclass(frozen=True)
class Access:
    """Who gets through; everyone else is refused (sign-in, 403, or 404 when hidden)."""

    allowed: frozenset[str]
    hidden: frozenset[str] = frozenset()

    def expected(self, role: str) -> str:
        if role == DEACTIVATED:
            return self.expected(ANONYMOUS)
        if role in self.allowed:
            return OK
        if role in self.hidden:
            return NOT_FOUND
        return LOGIN if role == ANONYMOUS else FORBIDDEN


def allow(*roles: str, hidden: tuple[str, ...] = ()) -> Access:
    return Access(frozenset(roles), frozenset(hidden))


PUBLIC = allow(*ROLES)
SIGNED_IN = allow(SUBMITTER, REVIEWER, EDITOR, ADMIN)
EDITORS = allow(EDITOR, ADMIN)
ADMINS = allow(ADMIN)
AUTHORS = allow(SUBMITTER, EDITOR, ADMIN)  # submitters and editors (admins hold every role)
REVIEWERS = allow(REVIEWER, ADMIN)
NOBODY = allow(hidden=ROLES)  # a hidden object: 404 for everyone


@dataclass(frozen=True)
class Entry:
    endpoint: str
    get: Access | None = None
    post: Access | None = None
    url: Mapping[str, str] = field(default_factory=dict)
    data: Mapping[str, str] = field(default_factory=dict)
    query: str = ""
    note: str = ""


def public_get(endpoint: str, **url: str) -> Entry:
    return Entry(endpoint, get=PUBLIC, url=url)


MATRIX: tuple[Entry, ...] = (
    # --- static files and obviously public pages (grouped, but each listed) -----------------
    public_get("static", filename="observatory.css"),
    public_get("dashboards.static", filename="charts.js"),
    public_get("dashboards.home"),
    public_get("dashboards.region"),
    public_get("dashboards.compare"),
    public_get("dashboards.branches"),
    public_get("dashboards.criteria"),
    public_get("dashboards.countries"),
    public_get("dashboards.country", iso3="PER"),
    public_get("dashboards.chart_csv", page="region", chart="map"),
    public_get("dashboards.country_chart_csv", iso3="PER", chart="branch"),
    public_get("dashboards.embed", page="branches", chart="counts"),
    public_get("dashboards.country_embed", iso3="PER", chart="sector"),
    public_get("opendata.data_page"),
    public_get("opendata.api_docs"),
    public_get("opendata.crosswalk_csv"),
    public_get("opendata.dump"),
    public_get("opendata.cases_feed"),
    public_get("opendata.country_feed", iso3="PER"),
    public_get("opendata.export_cases", fmt="csv"),
    public_get("api.index"),
    public_get("api.cases"),
    public_get("api.openapi"),
    Entry("api.stats", get=PUBLIC, query="group_by=country"),
    public_get("api.vocabularies"),
    public_get("api.vocabulary", name="branch"),
    public_get("api.frameworks"),
    public_get("api.framework", key="framework:unesco", version="framework:unesco"),
    public_get("criteria.frameworks"),
    public_get("criteria.framework", key="framework:unesco", version="framework:unesco"),
    public_get("criteria.regulations"),
    public_get("cases.index"),
    # --- public case pages: the published case, and 404 for every hidden one ----------------
    public_get("cases.detail", ref="ref:published"),
    Entry("cases.detail", get=NOBODY, url={"ref": "ref:draft"}),
    Entry("cases.detail", get=NOBODY, url={"ref": "ref:withdrawn"}),
    public_get("cases.detail_json", ref="ref:published"),
    Entry("cases.detail_json", get=NOBODY, url={"ref": "ref:submitted"}),
    public_get("cases.history", ref="ref:published"),
    Entry("cases.history", get=NOBODY, url={"ref": "ref:rejected"}),
    public_get("api.case", ref="ref:published"),
    Entry("api.case", get=NOBODY, url={"ref": "ref:returned"}),
    public_get("api.case_assessments", ref="ref:assessed"),
    Entry("api.case_assessments", get=NOBODY, url={"ref": "ref:draft"}),
    public_get("api.case_history", ref="ref:published"),
    Entry("api.case_history", get=NOBODY, url={"ref": "ref:withdrawn"}),
    # Anyone may suggest a correction on a public case (an empty form is answered 400).
    Entry("cases.suggest_correction", get=PUBLIC, post=PUBLIC, url={"ref": "ref:published"}),
    Entry("cases.suggest_correction", get=NOBODY, post=NOBODY, url={"ref": "ref:draft"}),
    # --- accounts -----------------------------------------------------------------------------
    Entry("auth.login", get=PUBLIC, post=PUBLIC),
    Entry("auth.logout", post=PUBLIC),
    Entry("auth.account", get=SIGNED_IN),
    Entry("auth.change_password", get=SIGNED_IN, post=SIGNED_IN),
    Entry("cases.notifications_page", get=SIGNED_IN, post=SIGNED_IN),
    Entry("admin.users", get=ADMINS, post=ADMINS),
    Entry("admin.change_role", post=ADMINS, url={"user_id": "user:spare"}),
    Entry("admin.change_active", post=ADMINS, url={"user_id": "user:spare"}),
    Entry("admin.audit_log", get=ADMINS),
    # --- submitting and moderating cases --------------------------------------------------------
    Entry("cases.new", get=AUTHORS, post=AUTHORS),
    Entry("cases.mine", get=AUTHORS),
    # The submitter owns "published" (with a pending update) and may edit it; a reviewer may
    # not even see that it has a working copy.
    Entry(
        "cases.edit",
        get=allow(SUBMITTER, EDITOR, ADMIN, hidden=(REVIEWER,)),
        post=allow(SUBMITTER, EDITOR, ADMIN, hidden=(REVIEWER,)),
        url={"ref": "ref:published"},
    ),
    # Another institution's draft: 404 for the submitter too.
    Entry(
        "cases.edit",
        get=allow(EDITOR, ADMIN, hidden=(SUBMITTER, REVIEWER)),
        post=allow(EDITOR, ADMIN, hidden=(SUBMITTER, REVIEWER)),
        url={"ref": "ref:other_draft"},
    ),
    # Withdrawing is for editors: the owner is refused (403), a stranger does not see the case.
    Entry(
        "cases.act",
        post=allow(EDITOR, ADMIN, hidden=(REVIEWER,)),
        url={"ref": "ref:published"},
        data={"action": "withdraw"},
        note="no reason given, so an editor gets 'reason required' and nothing changes",
    ),
    Entry(
        "cases.act",
        post=allow(EDITOR, ADMIN, hidden=(SUBMITTER, REVIEWER)),
        url={"ref": "ref:other_draft"},
        data={"action": "publish"},
        note="no such transition from a draft: nothing changes",
    ),
    Entry("cases.verify", post=EDITORS, url={"ref": "ref:published"}),
    Entry("cases.moderation", get=EDITORS),
    Entry("cases.stale", get=EDITORS),
    Entry("cases.corrections_queue", get=EDITORS),
    Entry("cases.answer_correction", post=EDITORS, url={"correction_id": "correction"}),
    Entry("cases.imports", get=EDITORS, post=EDITORS),
    Entry("cases.import_confirm", post=EDITORS),
    Entry("cases.import_history_page", get=EDITORS),
    # --- criteria, reviews and assessments ----------------------------------------------------
    Entry("criteria.new_instrument", get=EDITORS, post=EDITORS),
    Entry(
        "criteria.edit_instrument",
        get=EDITORS,
        post=EDITORS,
        url={"instrument_id": "instrument:public"},
    ),
    Entry("criteria.assign", get=EDITORS, post=EDITORS, url={"ref": "ref:published"}),
    Entry(
        "criteria.assign",
        get=allow(hidden=(EDITOR, ADMIN)),
        post=allow(hidden=(EDITOR, ADMIN)),
        url={"ref": "ref:draft"},
    ),
    Entry("criteria.withdraw", post=EDITORS, url={"assignment_id": "assignment:withdrawable"}),
    Entry("criteria.assessments", get=EDITORS),
    Entry(
        "criteria.consolidate",
        get=EDITORS,
        post=EDITORS,
        url={
            "case_ref": "ref:published",
            "framework_key": "framework:euaia",
            "version": "framework:euaia",
        },
    ),
    Entry("criteria.reviews", get=REVIEWERS),
    Entry("criteria.conflicts", get=REVIEWERS, post=REVIEWERS),
    # The signed-in reviewer's own assignment; an admin passes the role check but it is not
    # theirs, so it is reported missing.
    Entry(
        "criteria.review",
        get=allow(REVIEWER, hidden=(ADMIN,)),
        post=allow(REVIEWER, hidden=(ADMIN,)),
        url={"assignment_id": "assignment:in_progress"},
    ),
    # Another reviewer's assignment (with a draft): 404, blind reviewing.
    Entry(
        "criteria.review",
        get=allow(hidden=(REVIEWER, ADMIN)),
        post=allow(hidden=(REVIEWER, ADMIN)),
        url={"assignment_id": "assignment:draft_review"},
    ),
    Entry(
        "criteria.amend",
        post=allow(REVIEWER, hidden=(ADMIN,)),
        url={"assignment_id": "assignment:in_progress"},
    ),
)
