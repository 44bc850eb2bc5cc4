"""The departing customer's pages: no account, only the signed link."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from feedback.extensions import csrf
from feedback.questions.forms import answers_from, questionnaire_form
from feedback.surveys.operations import (
    AlreadyAnswered,
    LinkStatus,
    check_link,
    stripe_initial_answers,
    submit_survey,
)

blueprint = Blueprint("surveys", __name__, url_prefix="/s")

#: The page, and its status code, for each way a link can be unusable.
UNUSABLE = {
    "invalid": ("surveys/invalid.html", 404),
    "expired": ("surveys/expired.html", 410),
}


def _unusable(link: LinkStatus) -> tuple[str, int]:
    template, status = UNUSABLE[link.state]
    return render_template(template, invitation=link.invitation), status


@blueprint.route("/<token>", methods=["GET", "POST"])
@csrf.exempt  # the form checks its own token, so that a stale one re-renders the answers instead of losing them
def survey(token: str) -> str | Response | tuple[str, int]:
    link = check_link(token)
    if link.state in UNUSABLE:
        return _unusable(link)
    invitation = link.invitation
    assert invitation is not None
    if link.state == "answered":
        if request.method == "POST":
            return render_template("surveys/answered.html", invitation=invitation, repeated=True), 409
        return render_template("surveys/answered.html", invitation=invitation, repeated=False)

    questions = invitation.version.questions
    form = questionnaire_form(questions, data=stripe_initial_answers(invitation.cancellation))
    if form.validate_on_submit():
        try:
            submit_survey(invitation, answers_from(form, questions), request.headers.get("User-Agent", ""))
        except AlreadyAnswered:
            return render_template("surveys/answered.html", invitation=invitation, repeated=True), 409
        return redirect(url_for("surveys.thanks", token=token), 303)
    status = 422 if form.errors else 200
    return render_template("surveys/survey.html", form=form, questions=questions, invitation=invitation), status


@blueprint.get("/<token>/thanks")
def thanks(token: str) -> str | tuple[str, int] | Response:
    link = check_link(token)
    if link.state in UNUSABLE:
        return _unusable(link)
    if link.state != "answered":
        return redirect(url_for("surveys.survey", token=token))
    return render_template("surveys/thanks.html", invitation=link.invitation)
