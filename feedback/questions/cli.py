"""`flask questions export|import`: questionnaires as JSON files, checked before anything is published."""

from __future__ import annotations

import json
from typing import Any

import click
from flask.cli import AppGroup

from feedback.extensions import db
from feedback.formatting import plural
from feedback.questions.editing import InvalidQuestions, publish_checked
from feedback.questions.models import QUESTIONNAIRES
from feedback.questions.operations import live_version, question_spec
from feedback.questions.translations import TRANSLATED
from feedback.questions.validation import OPTIONAL_FIELDS, QUESTION_FIELDS, questionnaire_problems

questions = AppGroup("questions", help="Export and import questionnaires as JSON.")


@questions.command("export")
@click.argument("questionnaire", type=click.Choice(QUESTIONNAIRES))
@click.argument("file", type=click.File("w", encoding="utf-8"), default="-")
@click.option("--with-translations", is_flag=True, help="Also write each question's translations, where it has any.")
def export(questionnaire: str, file: Any, with_translations: bool) -> None:
    """Write the live version of QUESTIONNAIRE as JSON to FILE (standard output when left out)."""
    fields = QUESTION_FIELDS + (OPTIONAL_FIELDS if with_translations else ())
    version = live_version(questionnaire)
    data = {
        "questionnaire": questionnaire,
        "version": version.number,
        "questions": [
            {
                name: value
                for name, value in question_spec(q).items()
                if name in QUESTION_FIELDS or (name in fields and value)
            }
            for q in version.questions
        ],
    }
    file.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    if getattr(file, "name", "-") not in ("-", "<stdout>"):  # as `customers export` does: a file says it was written
        click.echo(
            f"Wrote {file.name} (version {version.number}, {plural(len(version.questions), 'question', 'questions')}).",
            err=True,
        )


@questions.command("import")
@click.argument("file", type=click.File("r", encoding="utf-8"))
@click.option(
    "--switch-off",
    "switch_off",
    multiple=True,
    type=click.Choice(TRANSLATED),
    help="Publish with this language switched off: its customers read the survey in English, whole. Repeatable.",
)
def import_(file: Any, switch_off: tuple[str, ...]) -> None:
    """Check FILE (the format `export` writes) and publish it as a new version; print the version number.

    As in the editor, every question needs each live language's wording, or that language switched off.
    """
    try:
        data = json.load(file)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise click.ClickException(f"{file.name} is not valid JSON: {error}") from None
    problems = file_problems(data)
    if not problems:
        for note in carry_translations(data["questionnaire"], data["questions"]):
            click.echo(note, err=True)
        try:
            version = publish_checked(data["questionnaire"], data["questions"], languages_off=switch_off)
        except InvalidQuestions as invalid:
            problems = invalid.problems
        else:
            db.session.commit()
            click.echo(version.number)
            return
    listing = "\n".join(f"  - {problem}" for problem in problems)
    raise click.ClickException(f"{file.name} was not imported; nothing was published:\n{listing}")


def carry_translations(questionnaire: str, specs: list[dict[str, Any]]) -> list[str]:
    """A file without translations keeps the live ones wherever the English wording is unchanged.

    A plain export leaves translations out (the format names seven fields); importing it back must not silently
    turn German and French customers' surveys into English. Where the wording changed, the old translation no
    longer says the same thing: it is dropped, and the returned notes say so.
    """
    live = {q.key: question_spec(q) for q in live_version(questionnaire).questions}
    notes = []
    for spec in specs:
        before = live.get(spec.get("key"))
        if "translations" in spec or before is None or not before["translations"]:
            continue
        if all(spec.get(name, before[name]) == before[name] for name in ("prompt", "help", "choices")):
            spec["translations"] = before["translations"]
        else:
            notes.append(
                f"Note: {spec['key']!r} is worded anew, so its translations ({', '.join(before['translations'])}) "
                "are left out; add them in the editor, or import a file made with --with-translations."
            )
    return notes


def file_problems(data: Any) -> list[str]:
    """The envelope's problems; the questions' own are found by the same rules the editor uses."""
    if not isinstance(data, dict):
        return ['The file must hold one JSON object: {"questionnaire": ..., "version": ..., "questions": [...]}.']
    problems = []
    if data.get("questionnaire") not in QUESTIONNAIRES:
        problems.append(f"'questionnaire' must be one of: {', '.join(QUESTIONNAIRES)}.")
    if "version" in data and not (isinstance(data["version"], int) or data["version"] is None):
        problems.append("'version' must be a whole number (it is ignored: the import becomes the next version).")
    unknown = sorted(set(data) - {"questionnaire", "version", "questions"})
    if unknown:
        problems.append(f"Unknown top-level field(s): {', '.join(unknown)}.")
    if "questions" not in data:
        problems.append("'questions' is missing.")
    else:
        problems.extend(questionnaire_problems(data["questions"]))
    return problems
