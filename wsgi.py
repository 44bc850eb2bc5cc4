"""Entry point for gunicorn (`gunicorn wsgi:app`) and the `flask` command."""

import sys

import click
from dotenv import load_dotenv

from feedback import create_app
from feedback.config import ConfigError

load_dotenv()  # settings may live in a .env file beside this one; real environment variables win
try:
    app = create_app()
except ConfigError as error:
    # Under gunicorn the error stays an exception, so that a worker that cannot boot stops the server. The flask
    # command loads this module inside its click context: there a person reads one line, not a traceback.
    if click.get_current_context(silent=True) is None:
        raise
    sys.exit(f"Error: {error}")
