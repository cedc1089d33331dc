"""The authorization matrix: every endpoint of the URL map × every role, GET and POST.

The expected answers are data (`tests/security/matrix.py`); an endpoint without an entry fails.
Each role signs in once through the real form; every request starts again from that signed-in
session (so a POST that signs out or changes something does not leak into the next request).
The deactivated account signs in, is deactivated by an admin through the admin page, and from
its very next request on must be treated as signed out.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
from flask import Flask, url_for
from flask.testing import FlaskClient

from observatory.db import session_scope
from observatory.models import User
from tests.conftest import csrf_token, login
from tests.security import matrix
from tests.security._world import World, world_app
from tests.security.matrix import (
    ANONYMOUS,
    DEACTIVATED,
    FORBIDDEN,
    LOGIN,
    MATRIX,
    NOT_FOUND,
    OK,
    ROLES,
    Entry,
)

ALL_ROLES = (*ROLES, DEACTIVATED)
COOKIE = "observatory_session"
EMAILS = {
    "submitter": "submitter@example.org",
    "reviewer": "zqxprivatemail.r1@example.org",
    "editor": "editor@example.org",
    "admin": "admin@example.org",
    DEACTIVATED: "gone@example.org",
}


@dataclass
class Identity:
    """A role's saved session cookie and a CSRF token valid for it."""

    cookie: str | None
    token: str


@pytest.fixture(scope="module")
def world(database_template, tmp_path_factory):
    yield from world_app(database_template, tmp_path_factory.mktemp("matrix"))


def _cookie(client: FlaskClient) -> str | None:
    cookie = client.get_cookie(COOKIE)
    return cookie.value if cookie else None


def _sign_in(app: Flask, role: str) -> Identity:
    client = app.test_client()
    if role != ANONYMOUS:
        response = login(client, EMAILS[role])
        assert response.status_code == 302, (role, response.status_code)
    # The token's secret lives in the session cookie: save the cookie after reading it.
    token = csrf_token(client, "/account/password" if role != ANONYMOUS else "/account/login")
    return Identity(_cookie(client), token)


@pytest.fixture(scope="module")
def identities(world) -> dict[str, Identity]:
    app, people = world
    result = {role: _sign_in(app, role) for role in (ANONYMOUS, *EMAILS)}
    # An admin deactivates the account through the admin page, after it signed in.
    admin = app.test_client()
    admin.set_cookie(COOKIE, result["admin"].cookie)
    response = admin.post(
        f"/admin/users/{people.users['deactivated']}/active",
        data={"csrf_token": result["admin"].token},
    )
    assert response.status_code == 302
    with session_scope(app) as session:
        assert not session.get(User, people.users["deactivated"]).is_active
    return result


def _resolve(token: str, world: World, param: str) -> str | int:
    kind, _, name = token.partition(":")
    if kind == "ref":
        return world.refs[name]
    if kind == "assignment":
        return world.assignments[name]
    if kind == "user":
        return world.users[name]
    if kind == "instrument":
        return world.instruments[name]
    if kind == "framework":
        _id, key, version = world.frameworks[name]
        return version if param == "version" else key
    if kind == "correction":
        return world.correction_id
    return token


def _path(app: Flask, world: World, entry: Entry) -> str:
    params = {name: _resolve(token, world, name) for name, token in entry.url.items()}
    with app.test_request_context():
        path = url_for(entry.endpoint, **params)
    return path + (f"?{entry.query}" if entry.query else "")


def outcome(response) -> str:
    """The shape of an answer: through, sign-in redirect, 403, 404 (or the raw status)."""
    status = response.status_code
    if status in (301, 302, 303):
        if urlsplit(response.headers["Location"]).path == "/account/login":
            return LOGIN
        return OK
    if status == 403:
        return FORBIDDEN
    if status == 404:
        return NOT_FOUND
    if status >= 500:
        return f"server error {status}"
    return OK


def _request(app: Flask, identity: Identity, method: str, path: str, data: dict):
    client = app.test_client()
    if identity.cookie:
        client.set_cookie(COOKIE, identity.cookie)
    if method == "GET":
        response = client.get(path)
    else:
        response = client.post(path, data={"csrf_token": identity.token, **data})
    response.get_data()
    response.close()  # static files are streamed from an open file
    return response


def _entry_id(entry: Entry) -> str:
    return entry.endpoint + "-" + "-".join(f"{v}" for v in entry.url.values())


def test_every_endpoint_has_an_entry(world):
    app, _ = world
    listed = {entry.endpoint for entry in MATRIX}
    missing = sorted(
        rule.endpoint for rule in app.url_map.iter_rules() if rule.endpoint not in listed
    )
    assert not missing, f"endpoints missing from tests/security/matrix.py: {', '.join(missing)}"
    unknown = sorted(listed - {rule.endpoint for rule in app.url_map.iter_rules()})
    assert not unknown, f"entries for endpoints the app no longer has: {', '.join(unknown)}"


def test_every_entry_covers_exactly_the_methods_of_its_route(world):
    app, _ = world
    methods = {}
    for rule in app.url_map.iter_rules():
        methods.setdefault(rule.endpoint, set()).update(rule.methods & {"GET", "POST"})
    problems = []
    for entry in MATRIX:
        declared = {m for m, access in (("GET", entry.get), ("POST", entry.post)) if access}
        if declared != methods[entry.endpoint]:
            problems.append(
                f"{entry.endpoint}: route has {sorted(methods[entry.endpoint])}, "
                f"entry has {sorted(declared)}"
            )
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("entry", MATRIX, ids=_entry_id)
def test_matrix(world, identities, entry: Entry):
    app, people = world
    path = _path(app, people, entry)
    if entry.endpoint == "auth.logout":
        # Signing out ends the session on the server too: sign in afresh for this one.
        identities = {**identities, **{role: _sign_in(app, role) for role in ROLES}}
    wrong = []
    for method, access in (("GET", entry.get), ("POST", entry.post)):
        if access is None:
            continue
        for role in ALL_ROLES:
            response = _request(app, identities[role], method, path, dict(entry.data))
            got, expected = outcome(response), access.expected(role)
            if got == OK and method == "GET" and response.status_code != 200:
                got = f"status {response.status_code}"
            if got != expected:
                wrong.append(
                    f"{method} {path} as {role}: expected {expected}, got {got} "
                    f"({response.status_code})"
                )
    assert not wrong, "\n".join(wrong)


def test_deactivated_session_is_ended_on_the_next_request(world, identities):
    app, _ = world
    client = app.test_client()
    client.set_cookie(COOKIE, identities[DEACTIVATED].cookie)
    response = client.get("/account/")
    assert outcome(response) == LOGIN
    with client.session_transaction() as session:
        assert "user_id" not in session


def test_matrix_module_lists_each_role_once():
    assert len(set(matrix.ROLES)) == len(matrix.ROLES) == 5
