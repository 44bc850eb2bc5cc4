"""Farewell: every lost customer becomes a lesson, and the door stays open."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask
from jinja2 import ChoiceLoader, FileSystemLoader, PrefixLoader

ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Builds an app from the environment; `config` overrides it (tests pass their own)."""
    from feedback import config as settings

    app = Flask(__name__, instance_relative_config=True, template_folder=str(ROOT / "templates"))
    app.config.update(settings.from_environment(app.instance_path))
    if config:
        app.config.update(config)
    settings.finalize(app.config)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)

    app.jinja_loader = ChoiceLoader(
        [FileSystemLoader(str(ROOT / "templates")), PrefixLoader({"emails": FileSystemLoader(str(ROOT / "emails"))})]
    )
    register_extensions(app)
    register_url_converters(app)
    register_logging(app)
    register_hooks(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_commands(app)
    register_jobs(app)
    register_template_helpers(app)
    register_security(app)
    return app


def register_extensions(app: Flask) -> None:
    from feedback.auth.views import load_user
    from feedback.db import enable_postgresql_liveness_check, enable_sqlite_tuning
    from feedback.extensions import babel, csrf, db, login_manager, mail, migrate
    from feedback.i18n import TRANSLATIONS, select_locale

    enable_sqlite_tuning()
    enable_postgresql_liveness_check()
    db.init_app(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS), render_as_batch=True)  # SQLite alters by copy
    mail.init_app(app)
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please log in to see that page."
    login_manager.login_message_category = "info"
    login_manager.user_loader(load_user)
    babel.init_app(app, locale_selector=select_locale, default_translation_directories=str(TRANSLATIONS))


def register_url_converters(app: Flask) -> None:
    from feedback import urls

    urls.init_app(app)


def register_logging(app: Flask) -> None:
    from feedback import requestlog

    requestlog.init_app(app)


def register_hooks(app: Flask) -> None:
    """What the postmortem and mail must have features do, handed down at start-up instead of imported."""
    from feedback.inbound.addresses import bounce_address_for, reply_address_for
    from feedback.mail import hooks as mail_hooks
    from feedback.postmortem.workflow import when_summary_due
    from feedback.settings.operations import current_settings, sender_name
    from feedback.summaries.operations import compose_summary
    from feedback.surveys.consent import footer_links
    from feedback.surveys.operations import reminder_obsolete

    when_summary_due(app, compose_summary)
    mail_hooks.check_before_sending(app, "survey_reminder", reminder_obsolete)
    mail_hooks.sender_name_from(app, sender_name)
    mail_hooks.company_name_from(app, lambda: current_settings().company_name)
    mail_hooks.customer_footer_from(app, footer_links)
    mail_hooks.customer_reply_address_from(app, reply_address_for)
    mail_hooks.envelope_sender_from(app, bounce_address_for)
    register_follow_through(app)
    register_events(app)


def register_events(app: Flask) -> None:
    """Outbound events tell the admins of an endpoint they disabled; the admins are auth's to know."""
    from feedback.auth.operations import admin_addresses
    from feedback.events import hooks as event_hooks

    event_hooks.admins_from(app, admin_addresses)


def register_follow_through(app: Flask) -> None:
    """Action items answer the review's "What must change?", appear in the summary, and are reminded of by mail;
    win-back adds its questions to the owner's digest."""
    from feedback.actions import jobs as action_jobs
    from feedback.actions.operations import items_of
    from feedback.actions.review_part import part
    from feedback.helpdesk.history import history_for
    from feedback.mail import hooks as mail_hooks
    from feedback.reviews.parts import add_review_part
    from feedback.summaries.operations import summary_context_from
    from feedback.winback.operations import asks_for, may_be_told

    add_review_part(app, part())
    summary_context_from(app, lambda cancellation: {"action_items": items_of(cancellation)})
    summary_context_from(app, lambda cancellation: {"helpdesk": history_for(cancellation)})
    # The summary says what the win-back page knows: the customer agreed to hear about changes for their reason.
    summary_context_from(app, lambda cancellation: {"hears_about_changes": may_be_told(cancellation) is not None})
    mail_hooks.check_before_sending(app, "action_reminder", action_jobs.reminder_obsolete)
    action_jobs.digest_extra_from(app, asks_for)


def register_blueprints(app: Flask) -> None:
    from feedback.auth.views import blueprint as auth
    from feedback.cancellations.views import blueprint as cancellations
    from feedback.email_log.mailbox import blueprint as mailbox
    from feedback.email_log.views import blueprint as email_log
    from feedback.health import blueprint as health
    from feedback.inbound.review import blueprint as held_replies
    from feedback.inbound.views import blueprint as inbound
    from feedback.insights.views import blueprint as insights
    from feedback.reviews.views import blueprint as reviews
    from feedback.summaries.views import blueprint as summaries
    from feedback.surveys.views import blueprint as surveys
    from feedback.unsubscribe.views import blueprint as unsubscribe

    for blueprint in (
        auth,
        cancellations,
        health,
        held_replies,
        inbound,
        insights,
        mailbox,
        reviews,
        summaries,
        surveys,
        email_log,
        unsubscribe,
    ):
        app.register_blueprint(blueprint)

    from feedback.actions.views import blueprint as actions
    from feedback.event_log.views import blueprint as event_log
    from feedback.helpdesk.admin import blueprint as integrations
    from feedback.helpdesk.views import blueprint as helpdesk
    from feedback.questions.views import blueprint as questions
    from feedback.settings.views import blueprint as site_settings
    from feedback.staff.views import blueprint as staff
    from feedback.winback.views import blueprint as winback

    for blueprint in (questions, site_settings, staff, actions, winback, event_log, helpdesk, integrations):
        app.register_blueprint(blueprint)
    register_ways_in(app)
    register_privacy(app)


def register_privacy(app: Flask) -> None:
    """GDPR export and erasure (page, API), the audit trail's page, and password reset."""
    from feedback.audit_log.views import blueprint as audit_log
    from feedback.auth.reset_views import blueprint as password_reset
    from feedback.auth.second_step import blueprint as second_factor
    from feedback.auth.sso_views import blueprint as sso
    from feedback.privacy.api import blueprint as privacy_api
    from feedback.privacy.views import blueprint as privacy

    for blueprint in (privacy, privacy_api, audit_log, password_reset, second_factor, sso):
        app.register_blueprint(blueprint)


def register_ways_in(app: Flask) -> None:
    """The JSON API, its tokens, the webhooks and CSV imports: how cancellations arrive from other systems."""
    from feedback.api.admin import blueprint as tokens
    from feedback.api.views import blueprint as api
    from feedback.customers.views import blueprint as customers
    from feedback.imports.views import blueprint as imports
    from feedback.webhooks.views import blueprint as webhooks

    for blueprint in (api, tokens, webhooks, imports, customers):
        app.register_blueprint(blueprint)


def register_errorhandlers(app: Flask) -> None:
    from feedback.errors import register

    register(app)


def register_commands(app: Flask) -> None:
    from feedback.api.cli import tokens
    from feedback.auth.cli import users
    from feedback.cancellations.cli import cancellations
    from feedback.demo import demo
    from feedback.event_log.cli import webhooks
    from feedback.imports.cli import import_
    from feedback.inbound.cli import inbound
    from feedback.insights.cli import insights
    from feedback.jobs.cli import jobs
    from feedback.mail.cli import outbox
    from feedback.privacy.cli import customers
    from feedback.staff.cli import deactivate
    from feedback.worker import worker

    cancellations.add_command(import_)
    users.add_command(deactivate)  # the staff feature's command, in the group people look for it in
    for group in (users, cancellations, outbox, demo, tokens, jobs, worker, insights, inbound, customers, webhooks):
        app.cli.add_command(group)

    from feedback.questions.cli import questions

    app.cli.add_command(questions)


def register_jobs(app: Flask) -> None:
    """Periodic work lives in its feature: importing a feature's jobs module registers them (see feedback.jobs)."""
    from feedback.actions import jobs as action_jobs  # noqa: F401
    from feedback.api import jobs as api_jobs  # noqa: F401
    from feedback.helpdesk import jobs as helpdesk_jobs  # noqa: F401
    from feedback.imports import jobs as import_jobs  # noqa: F401
    from feedback.inbound import jobs as inbound_jobs  # noqa: F401
    from feedback.insights import jobs as insights_jobs  # noqa: F401
    from feedback.privacy import jobs as privacy_jobs  # noqa: F401
    from feedback.surveys import jobs as survey_jobs  # noqa: F401
    from feedback.webhooks import jobs as webhook_jobs  # noqa: F401


def register_security(app: Flask) -> None:
    """Headers on every response and rate limits on the ways in; after the blueprints, whose views it limits."""
    from feedback import security

    security.init_app(app)


def register_template_helpers(app: Flask) -> None:
    from feedback.templating import register

    register(app)
