"""Input rules declared once: every way in (web forms, CLI, API, webhooks, CSV) checks fields with these."""
