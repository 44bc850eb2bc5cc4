"""Entry point for gunicorn (`gunicorn wsgi:app`) and the `flask` command."""

from dotenv import load_dotenv

from feedback import create_app

load_dotenv()  # settings may live in a .env file beside this one; real environment variables win
app = create_app()
