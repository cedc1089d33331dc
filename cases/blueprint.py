"""The `cases` blueprint object, shared by the route modules of the package."""

from flask import Blueprint

bp = Blueprint("cases", __name__, template_folder="templates")
