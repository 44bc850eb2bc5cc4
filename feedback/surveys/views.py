"""The departing customer's pages: no account, only the signed link."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_babel import force_locale, get_locale
from markupsafe import Markup
from werkzeug.wrappers import Response

from feedback.extensions import csrf, db
from feedback.i18n import DEFAULT_LOCALE, use_customer_locale
from feedback.questions.forms import answers_from
from feedback.questions.published import published_form_class, published_questions
from feedback.surveys.consent import CURRENT_WORDING, WORDINGS
from feedback.surveys.operations import (
    AlreadyAnswered,
    LinkStatus,
    check_link,
    first_name,
    initial_answers,
    mark_fetched,
    mark_opened,
    renew_link,
    reply_address,
    stripe_initial_answers,
    submit_survey,
)

blueprint = Blueprint("surveys", __name__, url_prefix="/s")


@blueprint.context_processor
def reply_helpers() -> dict[str, Any]:
    return {"reply_address": reply_address}


#: The page, and its status code, for each way a link can be unusable.
UNUSABLE = {
    "invalid": ("surveys/invalid.html", 404),
    "expired": ("surveys/expired.html", 410),
}


def _check(token: str) -> LinkStatus:
    """Checks the link and, when it names an invitation, speaks the customer's language from then on.

    Unless the version they are asked has that language switched off: then the page is in the default language
    whole, never translated words beside English questions.
    """
    link = check_link(token)
    if link.invitation is not None:
        use_customer_locale(link.invitation.cancellation.locale)
        if str(get_locale() or DEFAULT_LOCALE) in link.invitation.version.languages_off:
            use_customer_locale(DEFAULT_LOCALE)
    return link


def _without_a_transaction() -> None:
    """A survey GET reads one row set and writes at most one conditional UPDATE (`mark_fetched`): it runs on an
    autocommit connection, which spares PostgreSQL the BEGIN and ROLLBACK round trips around that one query, two of
    the page's three. Called before the request's first query; the pool resets the connection when it returns."""
    db.session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})


def _unusable(link: LinkStatus, token: str) -> tuple[str, int]:
    template, status = UNUSABLE[link.state]
    return render_template(template, invitation=link.invitation, token=token), status


@blueprint.route("/<token>", methods=["GET", "POST"])
@csrf.exempt  # the signed, single-use link is the credential: no cookie is needed to answer
def survey(token: str) -> str | Response | tuple[str, int]:
    if request.method == "GET":
        _without_a_transaction()
    link = _check(token)
    if link.state in UNUSABLE:
        return _unusable(link, token)
    invitation = link.invitation
    assert invitation is not None
    if link.state != "answered" and invitation.cancellation.replies:
        # Their email reply is their answer: thank them for it rather than ask again.
        return render_template("surveys/replied.html", invitation=invitation)
    if link.state == "answered":
        if request.method == "POST":
            return render_template("surveys/answered.html", invitation=invitation, repeated=True), 409
        return render_template("surveys/answered.html", invitation=invitation, repeated=False)

    first_fetch = request.method == "GET" and invitation.fetched_at is None
    first_submit = request.method == "POST" and invitation.opened_at is None
    if first_submit:
        mark_opened(invitation)  # a submit is a person, with the page's script or without it
    locale = str(get_locale() or DEFAULT_LOCALE)
    questions = published_questions(invitation.version_id, locale)
    # What Stripe told us is a starting point; the reason the customer clicked in the email wins over it.
    initial = {
        **stripe_initial_answers(invitation.cancellation, questions),
        **initial_answers(invitation, request.args, questions),
    }
    form = published_form_class(invitation.version_id, locale)(meta={"csrf": False}, data=initial)
    if form.validate_on_submit():
        try:
            shown_in = str(get_locale() or DEFAULT_LOCALE)  # the language the consent's wording was read in
            # What the answer sets off (the owner's summary, when the review is in) is for staff: in English.
            with force_locale(DEFAULT_LOCALE):
                submit_survey(
                    invitation,
                    answers_from(form, questions),
                    request.headers.get("User-Agent", ""),
                    winback_consent=shown_in if request.form.get("winback_consent") == "yes" else None,
                )
                db.session.commit()
        except AlreadyAnswered:
            return render_template("surveys/answered.html", invitation=invitation, repeated=True), 409
        return redirect(url_for("surveys.thanks", token=token), 303)
    status = 422 if form.errors else 200
    page = render_template(
        "surveys/survey.html",
        form=form,
        questions=questions,
        questions_html=_questions_html(form, questions, invitation.version_id, initial),
        invitation=invitation,
        first_name=first_name(invitation.cancellation.customer_name),
        consent_wording=WORDINGS[CURRENT_WORDING],
        consent_ticked=request.form.get("winback_consent") == "yes",
        seen_url=url_for("surveys.seen", token=token),
    )
    if first_fetch:
        # After rendering: a commit expires what the page reads, which would cost a query per object to reload.
        # Only "fetched": mail scanners GET every link they deliver; a person is counted by the beacon below.
        mark_fetched(invitation)
    if first_fetch or first_submit:
        db.session.commit()
    return page, status


@blueprint.post("/<token>/seen")
@csrf.exempt  # sent by the survey page's own script; the signed link is the credential, and it spends nothing
def seen(token: str) -> tuple[str, int]:
    """The page's beacon, sent once a browser shows the survey: the invitation counts as opened by a person.

    Only from this site's own page (Sec-Fetch-Site, else Origin, names this origin): a scanner that posts to links
    it finds, or another site, is refused, and nothing else about the link changes.
    """
    if not _same_origin():
        return "", 403
    link = check_link(token)
    if link.state == "ok" and link.invitation is not None and link.invitation.opened_at is None:
        mark_opened(link.invitation)
        db.session.commit()
    return "", 204


def _same_origin() -> bool:
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        return site == "same-origin"
    return request.headers.get("Origin") == request.host_url.rstrip("/")


#: Rendered question blocks remembered per app; a bound, since the starting answers come from the query string.
_FRAGMENTS = 256


def _questions_html(form: Any, questions: list[Any], version_id: int, initial: dict[str, Any]) -> Markup:
    """The questions' HTML. A GET's depends only on the version, the language and the starting answers, all
    immutable, so it is rendered once per process for each; a POST's carries the customer's answers and errors."""
    if request.method != "GET":
        return Markup(render_template("surveys/_questions.html", form=form, questions=questions))  # noqa: S704 (escaped by Jinja)
    key = (version_id, str(get_locale() or DEFAULT_LOCALE), tuple(sorted(initial.items())))
    remembered = current_app.extensions.setdefault("farewell_survey_questions_html", {})
    html = remembered.get(key)
    if html is None:
        html = Markup(render_template("surveys/_questions.html", form=form, questions=questions))  # noqa: S704 (escaped by Jinja)
        if len(remembered) >= _FRAGMENTS:
            remembered.clear()
        remembered[key] = html
    return html


@blueprint.get("/<token>/thanks")
def thanks(token: str) -> str | tuple[str, int] | Response:
    link = _check(token)
    if link.state in UNUSABLE:
        return _unusable(link, token)
    if link.state != "answered":
        return redirect(url_for("surveys.survey", token=token))
    return render_template("surveys/thanks.html", invitation=link.invitation)


@blueprint.route("/<token>/new-link", methods=["GET", "POST"])
# No CSRF token: the button sends nothing, can only mail the address on file, and is rate-limited; a stale page
# must not turn into an error for a customer who left the expired page open.
@csrf.exempt
def new_link(token: str) -> str | tuple[str, int] | Response:
    """Asks for a fresh link. Whatever happened, the page says the same thing and nothing about the customer."""
    link = _check(token)
    if link.state == "invalid":
        return _unusable(link, token)
    if request.method == "POST":
        assert link.invitation is not None
        if link.state == "expired":
            renew_link(link.invitation)
            db.session.commit()
        return redirect(url_for("surveys.new_link", token=token), 303)
    return render_template("surveys/new_link.html")
