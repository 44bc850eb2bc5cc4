"""The question editor: admins change a draft, preview it as it will be seen, and publish it."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from feedback.auth.access import admin_required
from feedback.extensions import db
from feedback.i18n import DEFAULT_LOCALE, LANGUAGES
from feedback.questions.editing import (
    InvalidQuestions,
    dependants,
    discard_draft,
    draft_questions,
    get_draft,
    move,
    publish_draft,
    publish_problems,
    put_question,
    save_draft,
)
from feedback.questions.editor_forms import QuestionForm
from feedback.questions.forms import questionnaire_form
from feedback.questions.models import TRANSLATED_QUESTIONNAIRES, Question, QuestionnaireVersion
from feedback.questions.operations import live_version
from feedback.questions.translations import TRANSLATED, stale_languages
from feedback.questions.validation import TYPE_LABELS

blueprint = Blueprint("questions", __name__, url_prefix="/admin/questions")

QUESTIONNAIRE = '<any("exit-survey", "internal-review"):questionnaire>'
TITLES = {"exit-survey": "Exit survey", "internal-review": "Internal review"}
AUDIENCE = {"exit-survey": "departing customers", "internal-review": "account owners"}


@blueprint.context_processor
def editor_globals() -> dict[str, Any]:
    return {
        "titles": TITLES,
        "audience": AUDIENCE,
        "type_labels": TYPE_LABELS,
        "stale_languages": stale_languages,
        "language_names": LANGUAGES,
    }


@blueprint.get("/")
@admin_required
def index() -> str:
    questionnaires = [{"name": name, "live": live_version(name), "draft": get_draft(name)} for name in TITLES]
    return render_template("questions/index.html", questionnaires=questionnaires)


@blueprint.get(f"/{QUESTIONNAIRE}/")
@admin_required
def editor(questionnaire: str) -> str:
    questions = draft_questions(questionnaire)
    live = live_version(questionnaire)
    versions = db.session.scalars(
        select(QuestionnaireVersion)
        .where(QuestionnaireVersion.questionnaire == questionnaire)
        .order_by(QuestionnaireVersion.number.desc())
    ).all()
    return render_template(
        "questions/editor.html",
        questionnaire=questionnaire,
        questions=questions,
        draft=get_draft(questionnaire),
        live=live,
        versions=versions,
        problems=publish_problems(questionnaire, questions, live.languages_off),
        translated=questionnaire in TRANSLATED_QUESTIONNAIRES,
        switchable={code: LANGUAGES[code] for code in TRANSLATED},
        default_language=LANGUAGES[DEFAULT_LOCALE],
    )


def _question_page(questionnaire: str, index: int | None) -> str | Response | tuple[str, int]:
    questions = draft_questions(questionnaire)
    if index is not None and not 0 <= index < len(questions):
        abort(404, "That question is not in the draft any more.")
    form = QuestionForm()
    form.offer_conditions(questions[:index] if index is not None else questions)
    if request.method == "GET" and index is not None:
        form.fill(questions[index])
    if form.validate_on_submit():
        problems = put_question(questionnaire, index, form.spec(), current_user.id, confirmed=form.confirmed())
        for name, message in problems.items():
            field = form.field_for(name)
            field.errors = [*field.errors, message]
        if not problems:
            db.session.commit()
            flash("Saved in the draft. Nothing changes for anyone until you publish.", "success")
            return redirect(url_for("questions.editor", questionnaire=questionnaire))
    status = 422 if form.errors else 200
    return render_template(
        "questions/question.html",
        form=form,
        questionnaire=questionnaire,
        index=index,
        questions=questions,
        languages={code: LANGUAGES[code] for code in TRANSLATED},
        stale=stale_languages(questions[index]) if index is not None else [],
    ), status


@blueprint.route(f"/{QUESTIONNAIRE}/new", methods=["GET", "POST"])
@admin_required
def add(questionnaire: str) -> str | Response | tuple[str, int]:
    return _question_page(questionnaire, None)


@blueprint.route(f"/{QUESTIONNAIRE}/<int:position>/edit", methods=["GET", "POST"])
@admin_required
def edit(questionnaire: str, position: int) -> str | Response | tuple[str, int]:
    return _question_page(questionnaire, position - 1)


@blueprint.post(f"/{QUESTIONNAIRE}/<int:position>/move")
@admin_required
def reorder(questionnaire: str, position: int) -> Response:
    questions = draft_questions(questionnaire)
    offset = -1 if request.form.get("direction") == "up" else 1
    moved = move(questions, position - 1, offset)
    if moved is questions:  # the first can't go up, the last can't go down, a stale page may name neither
        flash("That question can't move further that way.", "info")
        return redirect(url_for("questions.editor", questionnaire=questionnaire))
    _save_or_flash(questionnaire, moved, "Moved.")
    return redirect(url_for("questions.editor", questionnaire=questionnaire, _anchor=f"q{position + offset}"))


@blueprint.post(f"/{QUESTIONNAIRE}/<int:position>/remove")
@admin_required
def remove(questionnaire: str, position: int) -> Response:
    questions = draft_questions(questionnaire)
    if not 0 < position <= len(questions):
        abort(404, "That question is not in the draft any more.")
    removed = questions.pop(position - 1)
    blocking = dependants(questions, removed["key"])
    if blocking:
        flash(f"“{removed['prompt']}” can't be removed: {', '.join(blocking)} are shown depending on it.", "error")
    else:
        _save_or_flash(questionnaire, questions, f"Removed “{removed['prompt']}” from the draft.")
    return redirect(url_for("questions.editor", questionnaire=questionnaire))


def _save_or_flash(questionnaire: str, questions: list[dict[str, Any]], done: str) -> None:
    try:
        save_draft(questionnaire, questions, current_user.id)
    except InvalidQuestions as invalid:
        db.session.rollback()
        flash("That would break the draft: " + " ".join(invalid.problems), "error")
    else:
        db.session.commit()
        flash(done, "success")


@blueprint.post(f"/{QUESTIONNAIRE}/publish")
@admin_required
def publish(questionnaire: str) -> Response | tuple[str, int]:
    try:
        version = publish_draft(questionnaire, current_user.id, request.form.getlist("switch_off"))
    except InvalidQuestions as invalid:
        for problem in invalid.problems:
            flash(problem, "error")
        return redirect(url_for("questions.editor", questionnaire=questionnaire))
    db.session.commit()
    flash(
        f"Published version {version.number}. New {'invitations' if questionnaire == 'exit-survey' else 'reviews'} "
        "use it; everything already sent keeps the questions it was asked."
        + "".join(
            f" {LANGUAGES[code]} is switched off: those customers read it in {LANGUAGES[DEFAULT_LOCALE]}, whole."
            for code in version.languages_off
        ),
        "success",
    )
    return redirect(url_for("questions.editor", questionnaire=questionnaire))


@blueprint.post(f"/{QUESTIONNAIRE}/discard")
@admin_required
def discard(questionnaire: str) -> Response:
    discard_draft(questionnaire)
    db.session.commit()
    flash("Draft discarded; the editor shows the live version again.", "success")
    return redirect(url_for("questions.editor", questionnaire=questionnaire))


@blueprint.route(f"/{QUESTIONNAIRE}/preview", methods=["GET", "POST"])
@admin_required
def preview(questionnaire: str) -> str | tuple[str, int]:
    """The draft on the very page customers or owners will see; answers sent here are checked, never kept."""
    questions = [Question(position=i, **spec) for i, spec in enumerate(draft_questions(questionnaire), start=1)]
    form = questionnaire_form(questions)
    accepted = form.validate_on_submit()
    cancellation = SimpleNamespace(
        id=0,
        customer_name="Sam Sample",
        display_name="Sam Sample (Sample Co)",
        company="Sample Co",
        plan="Team",
        mrr=None,
        customer_since=None,
        reason="",
        complaint="",
        invitation=None,
        owner=current_user,
    )
    context = {
        "form": form,
        "questions": questions,
        "questionnaire": questionnaire,
        "accepted": accepted,
        "cancellation": cancellation,
        "invitation": SimpleNamespace(cancellation=cancellation),
        "first_name": "Sam",  # the survey greets by first name: "Thank you, Sam."
    }
    template = "questions/preview_survey.html" if questionnaire == "exit-survey" else "questions/preview_review.html"
    return render_template(template, **context), 422 if form.errors else 200


@blueprint.get(f"/{QUESTIONNAIRE}/versions/<int:number>")
@admin_required
def version(questionnaire: str, number: int) -> str:
    """A published version, read-only: what everyone who answered it was asked."""
    found = db.session.scalars(
        select(QuestionnaireVersion).where(
            QuestionnaireVersion.questionnaire == questionnaire, QuestionnaireVersion.number == number
        )
    ).first()
    if found is None:
        abort(404, f"There is no version {number} of the {TITLES[questionnaire].lower()}.")
    return render_template(
        "questions/version.html", questionnaire=questionnaire, version=found, live=live_version(questionnaire)
    )
