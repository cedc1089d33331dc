"""`observatory synth`: fill the configured database with a synthetic library for load tests."""

from __future__ import annotations

import time

import click

from dashboards.synth import DEFAULT_FRAMEWORK, SynthError, generate
from observatory.app import create_app
from observatory.db import get_engine, session_scope


@click.command("synth")
@click.option("--cases", "n_cases", required=True, type=click.IntRange(min=0), help="Cases to add.")
@click.option(
    "--reviews-per-case",
    default=3,
    show_default=True,
    type=click.IntRange(min=0),
    help="Submitted reviews per case (0: no reviews and no assessments).",
)
@click.option("--seed", default=0, show_default=True, type=int, help="Random seed.")
@click.option(
    "--framework",
    default=DEFAULT_FRAMEWORK,
    show_default=True,
    help="Framework version (key@version) the reviews and assessments use.",
)
def synth_command(n_cases: int, reviews_per_case: int, seed: int, framework: str) -> None:
    """Add synthetic published cases, reviews and assessments (for load tests only).

    Sampled from the starter library's distributions and marked as synthetic everywhere
    (names "Synthetic case …", provenance register "synthetic"); the reviewer accounts it
    creates can never sign in. All or nothing: one transaction.
    """
    try:
        app = create_app()
    except Exception as error:  # a configuration problem is the user's to fix: no traceback
        raise click.ClickException(str(error)) from error
    started = time.perf_counter()
    database = get_engine(app).url.render_as_string(hide_password=True)
    click.echo(
        f"Synthetic library: {n_cases} cases × {reviews_per_case} reviews on {framework} "
        f"(seed {seed}) into {database}",
        err=True,
    )

    def progress(_stage: str, done: int, total: int) -> None:
        elapsed = time.perf_counter() - started
        click.echo(f"  {done}/{total} cases written ({elapsed:.1f} s)", err=True)

    try:
        with app.app_context(), session_scope(app) as session:
            report = generate(
                session,
                cases=n_cases,
                reviews_per_case=reviews_per_case,
                seed=seed,
                framework=framework,
                progress=progress,
            )
    except SynthError as error:
        raise click.ClickException(str(error)) from error
    finally:
        get_engine(app).dispose()
    elapsed = time.perf_counter() - started
    ids = f" (ids {report.first_case_id}-{report.last_case_id})" if report.first_case_id else ""
    click.echo(
        f"Added {report.cases} synthetic cases{ids}, {report.reviews} reviews, "
        f"{report.answers} answers, {report.assessments} published assessments with "
        f"{report.scores} scores; {report.reviewers_created} new synthetic reviewers "
        f"({report.reviewers_used} used) in {elapsed:.1f} s."
    )
