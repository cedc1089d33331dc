"""The public case search: URL state, facets, full-text matching, sorting, pages and the page."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import replace

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import MultiDict

from cases import vocabularies as vocab
from cases.models import Case, CaseTechnique
from cases.search import FACETS, MAX_PAGE, CaseQuery, SearchResult, search_cases
from cases.services import PUBLIC_STATES, build_search_text, load_starter_library

BRANCH_COUNTS = {"executive": 174, "judicial": 37, "autonomous": 30, "legislative": 19}


def _args(**params) -> MultiDict:
    """Request-like arguments; a list value repeats the parameter."""
    pairs = []
    for name, value in params.items():
        for item in value if isinstance(value, list | tuple) else [value]:
            pairs.append((name, str(item)))
    return MultiDict(pairs)


def _search(session, per_page: int | None = None, **params) -> SearchResult:
    query = CaseQuery.from_args(_args(**params))
    if per_page is not None:
        query = replace(query, per_page=per_page)
    return search_cases(session, query, lang="en")


def _refs(result: SearchResult) -> set[str]:
    return {case.ref for case in result.items}


def _all_refs(session, **params) -> set[str]:
    return _refs(_search(session, per_page=1000, **params))


def _public_count(session, *conditions) -> int:
    statement = (
        sa.select(sa.func.count())
        .select_from(Case)
        .where(Case.state.in_(PUBLIC_STATES), *conditions)
    )
    return int(session.execute(statement).scalar_one())


def _add_case(session, *, ref: str, name: str, state: str = "published", **fields) -> Case:
    case = Case(
        ref=ref,
        state=state,
        name=name,
        institution=fields.pop("institution", "Ministerio de Pruebas"),
        country=fields.pop("country", "URY"),
        level=fields.pop("level", "national"),
        branch=fields.pop("branch", "executive"),
        sector=fields.pop("sector", "justice"),
        purpose=fields.pop("purpose", ""),
        **fields,
    )
    case.search_text = build_search_text(case)
    session.add(case)
    session.flush()
    return case


@pytest.fixture
def library(db_session):
    """A session on a database holding the 260 published cases of the starter library."""
    added, _present = load_starter_library(db_session)
    assert added == 260
    return db_session


class TestCaseQuery:
    def test_from_args_drops_unknown_values_quietly(self):
        query = CaseQuery.from_args(
            _args(
                country=["bra", "ZZZ", "BRA", "12"],
                branch=["judicial", "evil"],
                technique="NLP",
                status="in_production",
                decision_role=["decides", "<b>"],
                year_from="x",
                year_to="2021",
                sort="evil",
                page="abc",
            )
        )
        assert query.countries == ("BRA",)
        assert query.branches == ("judicial",)
        assert query.techniques == ("nlp",)
        assert query.statuses == ("in_production",)
        assert query.decision_roles == ("decides",)
        assert (query.year_from, query.year_to) == (None, 2021)
        assert query.sort == "" and query.effective_sort == "newest"
        assert query.page == 1

    def test_from_args_clamps_pages_and_orders_years(self):
        assert CaseQuery.from_args(_args(page="-3")).page == 1
        assert CaseQuery.from_args(_args(page="0")).page == 1
        assert CaseQuery.from_args(_args(page=str(MAX_PAGE + 5))).page == MAX_PAGE
        query = CaseQuery.from_args(_args(year_from="2022", year_to="2015"))
        assert (query.year_from, query.year_to) == (2015, 2022)
        assert CaseQuery.from_args(_args(year_from="99999")).year_from is None

    def test_relevance_applies_only_with_search_words(self):
        assert CaseQuery.from_args(_args(sort="relevance")).effective_sort == "newest"
        with_text = CaseQuery.from_args(_args(q="tribunal"))
        assert with_text.effective_sort == "relevance" and with_text.sort == ""
        assert CaseQuery.from_args(_args(q="tribunal", sort="name")).effective_sort == "name"
        # Punctuation only is no search text.
        assert CaseQuery.from_args(_args(q="¿¡!?", sort="relevance")).effective_sort == "newest"

    def test_search_words_are_folded_letters_and_digits(self):
        query = CaseQuery.from_args(_args(q='Decisión_IA NEAR(x) "São" 2024*'))
        assert query.terms == ["decision", "ia", "near", "x", "sao", "2024"]
        assert CaseQuery.from_args(_args(q="x" * 500)).q == "x" * 200

    def test_to_args_round_trips(self):
        query = CaseQuery.from_args(
            _args(
                q="  sistema   de justicia ",
                country=["BRA", "ARG"],
                technique=["nlp", "chatbot"],
                status="pilot",
                year_from="2015",
                sort="oldest",
                page="3",
            )
        )
        assert query.q == "sistema de justicia"
        args = query.to_args()
        assert args["country"] == ["BRA", "ARG"]
        assert args["page"] == "3"
        assert CaseQuery.from_args(_args(**args)) == query
        assert CaseQuery().to_args() == {}

    def test_toggling_a_value_adds_or_removes_it_and_returns_to_page_one(self):
        query = CaseQuery.from_args(_args(country="BRA", page="4"))
        added = query.toggled("country", "ARG")
        assert added.countries == ("BRA", "ARG") and added.page == 1
        assert added.toggled("country", "BRA").countries == ("ARG",)
        assert query.at_page(5).page == 5
        assert query.cleared().to_args() == {}
        assert query.without_text() == query.at_page(1)


class TestFacets:
    def test_counts_over_the_whole_library(self, library):
        result = _search(library)
        assert result.total == 260
        assert dict(result.facets["branch"]) == BRANCH_COUNTS
        assert dict(result.facets["level"]) == {"national": 174, "subnational": 46, "municipal": 40}
        assert len(result.facets["country"]) == 33
        assert sum(number for _key, number in result.facets["country"]) == 260
        # Largest first.
        counts = [number for _key, number in result.facets["branch"]]
        assert counts == sorted(counts, reverse=True)
        assert set(result.facets) == {facet.param for facet in FACETS}

    def test_counts_respect_the_other_filters_but_not_their_own(self, library):
        brazil = _public_count(library, Case.country == "BRA")
        assert brazil > 0
        result = _search(library, country="BRA")
        assert result.total == brazil
        assert sum(number for _key, number in result.facets["branch"]) == brazil
        assert sum(number for _key, number in result.facets["status"]) == brazil
        # The country facet ignores the country filter: every country stays listed.
        assert sum(number for _key, number in result.facets["country"]) == 260
        assert dict(result.facets["country"])["BRA"] == brazil

    def test_values_of_one_facet_are_ored(self, library):
        brazil = _public_count(library, Case.country == "BRA")
        argentina = _public_count(library, Case.country == "ARG")
        result = _search(library, country=["BRA", "ARG"])
        assert result.total == brazil + argentina
        both = _search(library, branch=["judicial", "legislative"])
        assert both.total == BRANCH_COUNTS["judicial"] + BRANCH_COUNTS["legislative"]

    def test_different_facets_are_anded(self, library):
        expected = _public_count(library, Case.country == "BRA", Case.branch == "judicial")
        result = _search(library, per_page=1000, country="BRA", branch="judicial")
        assert result.total == expected > 0
        assert all(c.country == "BRA" and c.branch == "judicial" for c in result.items)
        assert dict(_search(library, country="BRA").facets["branch"])["judicial"] == expected

    def test_technique_facet_counts_and_filters(self, library):
        rows = library.execute(sa.select(CaseTechnique.case_id, CaseTechnique.technique)).all()
        by_technique = Counter(technique for _case, technique in rows)
        result = _search(library)
        assert dict(result.facets["technique"]) == dict(by_technique)

        nlp = {case for case, technique in rows if technique == "nlp"}
        chatbot = {case for case, technique in rows if technique == "chatbot"}
        assert _search(library, technique="nlp").total == len(nlp)
        either = _search(library, per_page=1000, technique=["nlp", "chatbot"])
        assert either.total == len(nlp | chatbot)
        assert {case.id for case in either.items} == nlp | chatbot
        # A case counts once per technique it uses, under the other filters.
        judicial = _search(library, branch="judicial").facets["technique"]
        judicial_ids = set(
            library.execute(sa.select(Case.id).where(Case.branch == "judicial")).scalars()
        )
        expected = Counter(technique for case, technique in rows if case in judicial_ids)
        assert dict(judicial) == dict(expected)

    def test_selected_value_without_matches_is_still_listed(self, library):
        result = _search(library, q="qqqzzzxxy", sector="customs")
        assert result.total == 0
        assert result.facets["sector"] == [("customs", 0)]
        assert result.facets["branch"] == []

    def test_year_range(self, library):
        expected = _public_count(library, Case.year_started.between(2020, 2022))
        result = _search(library, per_page=1000, year_from=2020, year_to=2022)
        assert result.total == expected > 0
        assert all(2020 <= case.year_started <= 2022 for case in result.items)
        # The year counts ignore the year filter itself, so the whole range stays visible.
        whole = _search(library)
        assert result.year_counts == whole.year_counts
        assert sum(number for _year, number in whole.year_counts) == 260 - 51
        assert whole.year_min == whole.year_counts[0][0] < whole.year_max
        since = _search(library, year_from=2022)
        assert since.total == _public_count(library, Case.year_started >= 2022)
        # Years reversed by mistake are put in order.
        assert _search(library, year_from=2022, year_to=2020).total == expected

    @pytest.mark.parametrize(
        "params",
        [
            {"country": ["BRA", "ARG", "MEX"], "branch": ["executive", "judicial"]},
            {
                "q": "data",
                "technique": ["nlp", "predictive_model"],
                "year_from": 2016,
                "year_to": 2023,
                "level": "national",
            },
            {
                "status": ["in_production", "pilot"],
                "sector": ["justice", "health"],
                "decision_role": "unknown",
                "q": "cour",
            },
        ],
    )
    def test_every_count_matches_a_brute_force_count(self, library, params):
        rows = library.execute(
            sa.select(
                Case.id,
                Case.country,
                Case.branch,
                Case.level,
                Case.sector,
                Case.lifecycle_status,
                Case.decision_role,
                Case.year_started,
                Case.search_text,
            )
        ).all()
        techniques: dict[int, set[str]] = {}
        for case_id, technique in library.execute(
            sa.select(CaseTechnique.case_id, CaseTechnique.technique)
        ):
            techniques.setdefault(case_id, set()).add(technique)
        query = CaseQuery.from_args(_args(**params))
        words = [w for term in query.terms for w in re.findall(r"[^\W_]+", term)]

        def value(row, facet):
            if facet == "technique":
                return techniques.get(row.id, set())
            column = "lifecycle_status" if facet == "status" else facet
            return {getattr(row, column)}

        def passes(row, skip=None):
            for facet in FACETS:
                selected = set(query.values(facet.param))
                if facet.param != skip and selected and not selected & value(row, facet.param):
                    return False
            if skip != "year" and (query.year_from or query.year_to):
                year = row.year_started
                if year is None or not (query.year_from or 0) <= year <= (query.year_to or 9999):
                    return False
            tokens = re.findall(r"[^\W_]+", row.search_text)
            return all(any(token.startswith(word) for token in tokens) for word in words)

        result = search_cases(library, replace(query, per_page=1000), lang="en")
        assert result.total == sum(passes(row) for row in rows)
        assert {case.id for case in result.items} == {row.id for row in rows if passes(row)}
        for facet in FACETS:
            expected = Counter(
                key for row in rows if passes(row, facet.param) for key in value(row, facet.param)
            )
            counted = {key: number for key, number in result.facets[facet.param] if number}
            assert counted == dict(expected), facet.param
        years = Counter(
            row.year_started for row in rows if passes(row, "year") and row.year_started
        )
        assert dict(result.year_counts) == dict(years)


class TestTextSearch:
    def test_accents_and_capitals_do_not_matter(self, library):
        decision = _all_refs(library, q="decision")
        assert decision
        assert _all_refs(library, q="decisión") == decision
        assert _all_refs(library, q="DECISIÓN") == decision
        fiscalia = _all_refs(library, q="fiscalía")
        assert fiscalia and _all_refs(library, q="fiscalia") == fiscalia
        assert _all_refs(library, q="sao paulo") == _all_refs(library, q="São Paulo") != set()

    def test_new_cases_are_indexed_and_found_without_accents(self, library):
        case = _add_case(library, ref="URY-9001", name="Asistente jurídico virtual")
        library.commit()
        assert _all_refs(library, q="juridico") == {"URY-9001"}
        assert _all_refs(library, q="jurídico") == {"URY-9001"}
        # Edits and deletions reach the index too.
        case.name = "Asistente tributario"
        case.search_text = build_search_text(case)
        library.commit()
        assert _all_refs(library, q="juridico") == set()
        assert _all_refs(library, q="tributario") >= {"URY-9001"}
        library.delete(case)
        library.commit()
        assert "URY-9001" not in _all_refs(library, q="tributario")

    def test_words_match_as_prefixes(self, library):
        decision = _all_refs(library, q="decision")
        assert decision <= _all_refs(library, q="decis")
        tribunal = _all_refs(library, q="tribunal")
        assert tribunal and tribunal <= _all_refs(library, q="tribun")

    def test_every_word_must_match(self, library):
        tribunal = _all_refs(library, q="tribunal")
        both = _all_refs(library, q="tribunal justicia")
        assert both <= tribunal
        assert both <= _all_refs(library, q="justicia")
        assert _all_refs(library, q="tribunal qqqzzzxxy") == set()

    def test_search_syntax_is_inert(self, library):
        for text in ('"', "a*", "NOT OR AND", "x:* | !y", "(", "'", "\\", "NEAR(a b)", "-"):
            result = _search(library, q=text)
            assert isinstance(result.total, int)

    def test_text_combines_with_facets(self, library):
        text_only = _search(library, q="tribunal")
        with_branch = _search(library, q="tribunal", branch="judicial")
        assert with_branch.total == dict(text_only.facets["branch"]).get("judicial", 0) > 0
        assert sum(number for _key, number in text_only.facets["country"]) == text_only.total


class TestPublicOnly:
    def test_drafts_are_never_found_nor_counted(self, library):
        before = _search(library)
        draft = _add_case(
            library,
            ref="URY-9002",
            name="Zyxwvut confidential draft",
            state="draft",
            country="URY",
            branch="legislative",
            year_started=1999,
        )
        library.add(CaseTechnique(case_id=draft.id, technique="biometrics"))
        for state in ("submitted", "in_review", "returned", "withdrawn"):
            _add_case(
                library, ref=f"URY-9{state[:3].upper()}", name=f"Zyxwvut {state}", state=state
            )
        library.commit()

        assert _search(library, q="zyxwvut").total == 0
        after = _search(library)
        assert after.total == 260
        assert after.facets == before.facets
        assert after.year_counts == before.year_counts
        assert _search(library, year_from=1999, year_to=1999).total == 0

    def test_cases_with_a_proposed_update_stay_public(self, library):
        case = library.execute(sa.select(Case).where(Case.country == "CHL")).scalars().first()
        case.state = "update_proposed"
        library.commit()
        assert _search(library).total == 260
        assert case.ref in _all_refs(library, country="CHL")

    def test_draft_does_not_appear_on_the_page(self, library, client):
        _add_case(library, ref="URY-9003", name="Zyxwvut hidden draft", state="draft")
        library.commit()
        html = client.get("/cases?q=zyxwvut&lang=en").get_data(as_text=True)
        assert "Zyxwvut hidden draft" not in html
        assert "0 cases" in html


class TestSorting:
    def test_newest_and_oldest_put_unknown_years_last(self, library):
        newest = _search(library, per_page=1000).items
        years = [case.year_started for case in newest]
        known = [year for year in years if year is not None]
        assert known == sorted(known, reverse=True)
        assert years[len(known) :] == [None] * (len(years) - len(known))
        oldest = [
            case.year_started for case in _search(library, per_page=1000, sort="oldest").items
        ]
        assert [y for y in oldest if y is not None] == sorted(known)
        assert oldest[-1] is None

    def test_by_name_ignores_accents_and_capitals(self, library):
        _add_case(library, ref="URY-9006", name="Álgebra pública")
        library.commit()
        items = _search(library, per_page=1000, sort="name").items
        # Ordered on the folded text, which starts with the folded name: "Á" sorts as "a".
        keys = [case.search_text[:80] for case in items]
        assert keys == sorted(keys)
        position = [case.ref for case in items].index("URY-9006")
        first_b = next(i for i, case in enumerate(items) if case.search_text.startswith("b"))
        assert 0 < position < first_b

    def test_by_country_uses_the_country_names_of_the_language(self, library):
        for lang in ("en", "es"):
            query = replace(CaseQuery.from_args(_args(sort="country")), per_page=1000)
            items = search_cases(library, query, lang=lang).items
            names = [vocab.country_name(case.country, lang) for case in items]
            order = [name for _code, name in vocab.country_choices(lang, vocab.LAC_COUNTRIES)]
            positions = [order.index(name) for name in names]
            assert positions == sorted(positions)

    def test_relevance_puts_better_matches_first(self, library):
        _add_case(
            library,
            ref="URY-9004",
            name="Quokka quokka quokka",
            purpose="Quokka quokka quokka quokka.",
        )
        _add_case(
            library,
            ref="URY-9005",
            name="Archivo general",
            purpose="Una mención de quokka entre muchas otras palabras " + "relleno " * 60,
        )
        library.commit()
        result = _search(library, q="quokka")
        assert [case.ref for case in result.items] == ["URY-9004", "URY-9005"]
        by_name = _search(library, q="quokka", sort="name")
        assert [case.ref for case in by_name.items] == ["URY-9005", "URY-9004"]


class TestPages:
    def test_pages_cover_every_case_once(self, library):
        first = _search(library)
        assert first.per_page == 20 and first.pages == 13
        seen: list[str] = []
        for page in range(1, first.pages + 1):
            result = _search(library, page=page)
            assert result.page == page
            seen.extend(case.ref for case in result.items)
        assert len(seen) == len(set(seen)) == 260

    def test_a_page_past_the_end_gives_the_last_page(self, library):
        result = _search(library, page=999)
        assert result.page == 13 and len(result.items) == 260 - 12 * 20


class TestPage:
    def test_lists_cases_with_facets_and_a_get_form(self, library, client):
        response = client.get("/cases?lang=en")
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        assert "260 cases" in html
        assert 'method="get"' in html and 'type="search" name="q"' in html
        assert 'name="branch" value="judicial"' in html
        assert "(174)" in html
        assert "<legend>Branch of government</legend>" in html
        assert 'aria-label="Pages"' in html and 'rel="next"' in html
        assert "Apply filters" in html

    def test_links_keep_the_whole_state(self, library, client):
        html = client.get("/cases?q=sistema&country=BRA&country=ARG&sort=name&lang=en").get_data(
            as_text=True
        )
        assert 'value="BRA" id="f-country-' in html
        # Checked boxes for both countries, and removable filter links.
        assert html.count("checked") >= 2
        assert "Remove filter: Country: Brazil" in html
        assert 'href="/cases?country=BRA&amp;country=ARG&amp;sort=name"' in html  # drop the text
        year_link = "/cases?q=sistema&amp;country=BRA&amp;country=ARG&amp;year_from="
        assert year_link in html

    def test_next_page_link_preserves_filters(self, library, client):
        html = client.get("/cases?branch=executive&lang=en").get_data(as_text=True)
        assert 'rel="next" href="/cases?branch=executive&amp;page=2"' in html

    @pytest.mark.parametrize(
        ("lang", "title", "count"),
        [
            ("es", "Biblioteca de casos", "260 casos"),
            ("pt", "Biblioteca de casos", "260 casos"),
            ("en", "Case library", "260 cases"),
        ],
    )
    def test_renders_in_each_language(self, library, client, lang, title, count):
        html = client.get(f"/cases?lang={lang}").get_data(as_text=True)
        assert title in html and count in html
        assert vocab.label("branch", "judicial", lang) in html
        assert vocab.country_name("BRA", lang) in html

    @pytest.mark.parametrize(
        "query",
        [
            "page=abc",
            "year_from=x&year_to=",
            "country=ZZZ",
            "sort=evil",
            "page=-5",
            "page=99999999999999999999999",
            "year_to=1e9",
            "q=" + "x" * 5000,
            "technique=&status=%00",
            "q=%22&sort=relevance",
        ],
    )
    def test_bad_parameters_are_ignored(self, library, client, query):
        assert client.get(f"/cases?{query}").status_code == 200

    def test_search_text_is_escaped(self, client):
        html = client.get("/cases?q=<script>alert(1)</script>").get_data(as_text=True)
        assert "<script>alert(1)</script>" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html

    def test_works_on_an_empty_library(self, client):
        html = client.get("/cases?lang=en").get_data(as_text=True)
        assert "0 cases" in html and "No published case matches this search." in html
