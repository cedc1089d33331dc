"""WSGI entry point for gunicorn: `observatory.wsgi:app`."""

from observatory.app import create_app

app = create_app()
