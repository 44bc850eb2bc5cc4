"""The customer's pages and emails in their language; answers stored the same in every language."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from conftest import deliver, link_in, log, submit_form, text_part
from sqlalchemy import select

from feedback.extensions import db
from feedback.i18n import LANGUAGES, TRANSLATIONS, catalogues
from feedback.questions.defaults import EXIT_SURVEY
from feedback.questions.models import Question
from feedback.questions.translations import localize
from feedback.surveys.models import SurveyResponse

ROOT = Path(__file__).resolve().parent.parent
TRANSLATED = [code for code in LANGUAGES if code != "en"]


def survey_path(app, smtp, owner, **fields) -> str:
    fields.setdefault("customer_email", "kim@client.test")
    log(app, owner["email"], customer_name="Kim Weber", **fields)
    deliver(app)
    return link_in(smtp.one(fields["customer_email"])).removeprefix("http://localhost")


@pytest.mark.parametrize("po", catalogues(), ids=lambda po: po.parent.parent.name)
def test_every_catalogue_is_complete_and_compiles(po, tmp_path):
    with po.open("rb") as source:
        catalog = read_po(source)
    untranslated = [m.id for m in catalog if m.id and not (all(m.string) if m.pluralizable else m.string)]
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    assert untranslated == [], f"{po}: untranslated {untranslated}"
    assert fuzzy == [], f"{po}: fuzzy {fuzzy}"
    errors = [(m.id, e) for m, e in ((m, list(m.check(catalog))) for m in catalog if m.id) if e]
    assert errors == [], f"{po}: placeholders that don't match: {errors}"
    with (tmp_path / "messages.mo").open("wb") as target:
        write_mo(target, catalog)


def test_every_language_ships_a_catalogue():
    assert sorted(po.parent.parent.name for po in catalogues()) == sorted(TRANSLATED)


def test_catalogues_hold_every_message_in_the_code(tmp_path):
    """Run `make messages` when this fails: a string was added or changed without updating the catalogues."""
    pot = tmp_path / "messages.pot"
    subprocess.run(  # noqa: S603
        [sys.executable, "-m", "babel.messages.frontend", "extract", "-F", str(TRANSLATIONS / "babel.cfg"),
         "-k", "_l", "--no-location", "-o", str(pot), "."],
        cwd=ROOT, check=True, capture_output=True,
    )  # fmt: skip
    with pot.open("rb") as source:
        wanted = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(source) if m.id}
    for po in catalogues():
        with po.open("rb") as source:
            have = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(source) if m.id}
        assert wanted - have == set(), f"{po} lacks {sorted(wanted - have)}"


def test_default_exit_survey_is_translated_whole():
    for spec in EXIT_SURVEY:
        for code in TRANSLATED:
            translation = spec["translations"][code]
            assert translation["prompt"] and translation["prompt"] != spec["prompt"], (spec["key"], code)
            if spec.get("help"):
                assert translation["help"] and translation["help"] != spec["help"], (spec["key"], code)
            if spec.get("choices"):
                assert len(translation["choices"]) == len(spec["choices"]), (spec["key"], code)
                assert all(translation["choices"]), (spec["key"], code)


def test_survey_and_invitation_in_the_cancellations_locale(app, client, smtp, owner):
    path = survey_path(app, smtp, owner, locale="de")
    message = smtp.one("kim@client.test")
    assert str(message["Subject"]) == "Danke für Ihre Zeit mit Acme Analytics, Kim"
    assert "Hallo Kim," in text_part(message)
    assert "Olivia Owner liest jede Antwort" in text_part(message)
    page = client.get(path, headers={"Accept-Language": "fr"})  # the cancellation's locale wins
    assert '<html lang="de">' in page.text
    assert "Vielen Dank, Kim." in page.text
    assert "Was war der Hauptgrund für Ihre Kündigung?" in page.text
    assert "Es war uns zu teuer" in page.text
    assert "7 Fragen, etwa zwei Minuten." in page.text


def test_answers_are_stored_in_the_default_language_whatever_the_customer_read(app, client, smtp, owner):
    path = survey_path(app, smtp, owner, locale="fr")
    errors = submit_form(client, path, {"final_straw": "La panne"})
    assert errors.status_code == 422
    assert "Merci de vérifier cette réponse" in errors.text
    assert "Merci de répondre à «\u00a0Quelle est la principale raison de votre résiliation ?\u00a0»" in errors.text
    response = submit_form(
        client, path, {"main_reason": "It was too expensive for us", "may_follow_up": "yes", "final_straw": "La panne"}
    )
    assert response.status_code == 303
    with app.app_context():
        answers = db.session.scalar(select(SurveyResponse.answers))
    assert answers == {"main_reason": "It was too expensive for us", "may_follow_up": True, "final_straw": "La panne"}
    thanks = client.get(response.headers["Location"])
    assert "Merci. Nous avons bien vos réponses." in thanks.text


def test_without_a_locale_the_browser_chooses(app, client, smtp, owner):
    path = survey_path(app, smtp, owner)
    assert "Hi Kim," in text_part(smtp.one("kim@client.test"))  # no browser to ask: English
    assert "Quelle est la principale raison" in client.get(path, headers={"Accept-Language": "fr-CH, de;q=0.5"}).text
    assert "Thank you, Kim." in client.get(path, headers={"Accept-Language": "ja"}).text
    assert "Thank you, Kim." in client.get(path).text
    assert "Ce lien" not in client.get("/s/made-up", headers={"Accept-Language": "fr"}).text
    assert (
        "Nous n’avons pas trouvé ce questionnaire" in client.get("/s/made-up", headers={"Accept-Language": "fr"}).text
    )


def test_the_owners_summary_stays_in_english_when_a_german_customer_answers_last(app, client, smtp, owner):
    from conftest import html_part

    from feedback.auth.models import User
    from feedback.postmortem.models import Cancellation
    from feedback.reviews.operations import review_version, submit_review

    path = survey_path(app, smtp, owner, locale="de")
    review = {"this_week": "Price", "relationship_history": "Quiet", "action_items": "Call", "icp_fit": "Partly",
              "avoidable": "Yes"}  # fmt: skip
    with app.app_context():
        cancellation = db.session.scalar(select(Cancellation))
        submit_review(cancellation, db.session.get(User, owner["id"]), review, review_version(cancellation).id)
        db.session.commit()
    response = submit_form(client, path, {"main_reason": "Something else"})
    assert response.status_code == 303
    deliver(app)
    summary = smtp.one(owner["email"], "Summary")
    assert '<html lang="en">' in html_part(summary) and "Sent by Farewell" in html_part(summary)


def test_staff_pages_stay_in_english(client, logged_in_owner):
    page = client.get("/cancellations/new", headers={"Accept-Language": "de"})
    assert '<html lang="en">' in page.text and "Zum Inhalt" not in page.text


def test_locale_from_the_staff_form_and_the_cli(app, client, runner, logged_in_owner):
    response = submit_form(
        client,
        "/cancellations/new",
        {"customer_name": "Lea", "customer_email": "lea@client.test", "owner_email": logged_in_owner["email"],
         "locale": "de"},
    )  # fmt: skip
    assert response.status_code == 302
    result = runner.invoke(
        args=["cancellations", "log", "--customer-name", "Luc", "--customer-email", "luc@client.test",
              "--owner-email", logged_in_owner["email"], "--locale", "fr-CA"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    bad = runner.invoke(
        args=["cancellations", "log", "--customer-name", "X", "--customer-email", "x@client.test",
              "--owner-email", logged_in_owner["email"], "--locale", "tlh"],
    )  # fmt: skip
    assert bad.exit_code != 0 and "--locale" in bad.output
    from feedback.postmortem.models import Cancellation

    with app.app_context():
        locales = dict(db.session.execute(select(Cancellation.customer_name, Cancellation.locale)).all())
    assert locales == {"Lea": "de", "Luc": "fr"}
    page = client.get(response.headers["Location"]).text
    assert "Customer's language</dt><dd>Deutsch</dd>" in page


def test_a_question_translation_falls_back_per_field(app):
    question = Question(
        key="tools",
        type="single_choice",
        prompt="Which tool?",
        help="Pick one.",
        choices=["Spreadsheet", "Other"],
        translations={"de": {"prompt": "Welches Werkzeug?", "choices": ["Tabelle"]}},
    )
    german = localize(question, "de")
    assert german.prompt == "Welches Werkzeug?"
    assert german.help == "Pick one."  # no German help: the default language's
    assert german.labels == ["Tabelle", "Other"]
    assert german.choices == ["Spreadsheet", "Other"]  # what gets stored never changes
    assert localize(question, "fr").prompt == "Which tool?"


def test_error_pages_a_customer_reaches_speak_their_language(client):
    page = client.get("/no/such/page", headers={"Accept-Language": "de"})
    assert page.status_code == 404
    assert "Diese Seite haben wir nicht gefunden" in page.text and "Fehler 404" in page.text
    assert "The address may be mistyped" not in page.text  # the English description is left out
    assert "The address may be mistyped" in client.get("/no/such/page").text


def test_translation_problems_are_named_for_the_editor():
    from feedback.questions.translations import translation_problems

    choices = ["Spreadsheet", "Other"]
    assert translation_problems(None, choices) == []
    assert translation_problems({"de": {"prompt": "Welches?", "choices": ["Tabelle", "Andere"]}}, choices) == []
    assert translation_problems({"xx": {"prompt": "?"}}, choices)[0].startswith("'xx' is not a language")
    assert "one label per choice, 2 in all" in translation_problems({"fr": {"choices": ["Tableur"]}}, choices)[0]
    assert "nothing else" in translation_problems({"de": {"title": "x"}}, choices)[0]
    for spec in EXIT_SURVEY:
        assert translation_problems(spec["translations"], spec.get("choices", [])) == [], spec["key"]


def test_german_invitation_links_reminder_and_unsubscribe_page(app, client, smtp, owner):
    from datetime import timedelta
    from urllib.parse import parse_qs, urlsplit

    from feedback.db import utcnow

    log(app, owner["email"], customer_name="Kim Weber", customer_email="kim@client.test", locale="de")
    deliver(app)
    invitation = smtp.one("kim@client.test")
    text = text_part(invitation)
    assert "Was war der Hauptgrund für Ihre Kündigung?" in text
    assert "Melden Sie sich ab, dann schreiben wir Ihnen nicht mehr:" in text

    # Each reason reads in German; its link carries the stored (English) value and pre-selects it.
    line = next(line for line in text.splitlines() if line.startswith("- Es war uns zu teuer: "))
    choice_link = line.split(": ", 1)[1]
    assert parse_qs(urlsplit(choice_link).query)["main_reason"] == ["It was too expensive for us"]
    page = client.get(choice_link.removeprefix("http://localhost")).text
    assert 'value="It was too expensive for us" checked' in page and page.count(" checked") == 1

    from conftest import run_jobs

    jobs = run_jobs(app, now=utcnow() + timedelta(days=4, minutes=1))
    deliver(app, now=utcnow() + timedelta(days=4, minutes=1))
    assert jobs["surveys.queue-reminders"] == "1 reminder queued"
    reminder = smtp.one("kim@client.test", "Eine freundliche Erinnerung")
    assert "Hallo noch einmal, Kim." in text_part(reminder)

    unsubscribe = client.get(urlsplit(reminder["List-Unsubscribe"].strip("<>")).path)
    assert unsubscribe.status_code == 200 and 'lang="de"' in unsubscribe.text
    assert "Keine E-Mails mehr von" in unsubscribe.text


def test_a_conditional_question_names_its_answer_in_the_customers_language(app, client, smtp, owner):
    from feedback.questions.editing import publish_checked

    with app.app_context():
        publish_checked("exit-survey", [
            {"key": "reason", "type": "single_choice", "prompt": "Why?", "choices": ["Price", "Features"],
             "translations": {"de": {"prompt": "Warum?", "choices": ["Preis", "Funktionen"]}}},
            {"key": "price_detail", "type": "short_text", "prompt": "Which price felt wrong?",
             "show_if": {"key": "reason", "equals": "Price"},
             "translations": {"de": {"prompt": "Welcher Preis passte nicht?"}}},
        ], languages_off=["fr"])  # fmt: skip
        db.session.commit()
    page = client.get(survey_path(app, smtp, owner, locale="de")).text
    assert "Nur, wenn Sie oben „Preis“ gewählt haben." in page
    assert 'data-show-if-equals="Price"' in page  # the script compares stored values, the same in every language


# --- A survey speaks one language ---------------------------------------------------------------------


def with_a_question(translations=None, **fields):
    """The shipped exit survey plus one question, translated as given."""
    from feedback.questions.defaults import EXIT_SURVEY

    added = {"key": "new_tool", "type": "single_choice", "prompt": "Which tool did you move to?",
             "help": "Only if you moved.", "choices": ["Ours", "Theirs"], "translations": translations,
             **fields}  # fmt: skip
    return [*EXIT_SURVEY, added]


def test_publishing_refuses_a_question_a_live_language_lacks_naming_each_part(app):
    from feedback.questions.editing import InvalidQuestions, publish_checked
    from feedback.questions.operations import live_version

    partly = {"de": {"prompt": "Zu welchem Werkzeug?", "choices": ["Unseres", ""]},
              "fr": {"prompt": "Vers quel outil ?", "help": "Seulement si oui.",
                     "choices": ["Le nôtre", "Le leur"]}}  # fmt: skip
    with app.app_context():
        with pytest.raises(InvalidQuestions) as refused:
            publish_checked("exit-survey", with_a_question(partly))
        assert refused.value.problems == [
            "Question 8 (new_tool): the Deutsch (de) translation lacks the help text and the choice “Theirs”. "
            "Translate it, or publish with Deutsch switched off."
        ]
        with pytest.raises(InvalidQuestions) as untranslated:
            publish_checked("exit-survey", with_a_question({"fr": partly["fr"]}))
        assert untranslated.value.problems == [
            "Question 8 (new_tool): has no Deutsch (de) translation. "
            "Translate it, or publish with Deutsch switched off."
        ]
        with pytest.raises(InvalidQuestions) as prompt_only:
            publish_checked("exit-survey", with_a_question({**partly, "de": {"prompt": "Zu welchem Werkzeug?"}}))
        assert "the Deutsch (de) translation lacks the help text and every choice." in prompt_only.value.problems[0]
        with pytest.raises(InvalidQuestions) as unknown:
            publish_checked("exit-survey", with_a_question(partly), languages_off=["en", "xx"])
        assert unknown.value.problems == ["Only de, fr can be switched off, not en, xx."]
        assert live_version("exit-survey").number == 1  # nothing published by any refusal

        whole = {**partly, "de": {**partly["de"], "help": "Nur falls ja.", "choices": ["Unseres", "Ihres"]}}
        assert publish_checked("exit-survey", with_a_question(whole)).languages_off == []
        # The owners' review is staff's, in English: nothing to translate there.
        review = publish_checked("internal-review", [{"key": "why", "type": "short_text", "prompt": "Why?"}])
        assert review.number == live_version("internal-review").number


def test_a_language_switched_off_gets_the_default_language_whole(app, client, smtp, owner, runner):
    from feedback.questions.editing import publish_checked

    with app.app_context():
        version = publish_checked("exit-survey", with_a_question({"fr": {
            "prompt": "Vers quel outil ?", "help": "Seulement si oui.", "choices": ["Le nôtre", "Le leur"]}}),
            languages_off=["de"])  # fmt: skip
        db.session.commit()
        assert version.languages_off == ["de"]

    german = survey_path(app, smtp, owner, locale="de")
    invitation = smtp.one("kim@client.test")
    assert str(invitation["Subject"]) == "Thank you for your time with Acme Analytics, Kim"
    assert "Hallo" not in text_part(invitation)
    page = client.get(german).text
    assert '<html lang="en">' in page
    assert "What was the main reason you cancelled?" in page and "Which tool did you move to?" in page
    assert "Hauptgrund" not in page  # its German translation exists, but German is off as a whole
    browser_german = survey_path(app, smtp, owner, customer_email="browser@client.test")
    assert '<html lang="en">' in client.get(browser_german, headers={"Accept-Language": "de"}).text

    french = client.get(survey_path(app, smtp, owner, locale="fr", customer_email="fr@client.test")).text
    assert '<html lang="fr">' in french and "Vers quel outil ?" in french and "Le leur" in french
    assert "Which tool did you move to?" not in french


def test_a_stale_translation_of_a_switched_off_language_does_not_block(app):
    from feedback.questions.editing import InvalidQuestions, publish_checked
    from feedback.questions.operations import live_version, question_spec

    with app.app_context():
        questions = [question_spec(x) for x in live_version("exit-survey").questions]
        questions[0]["prompt"] = "What made you leave?"  # German and French now translate other English
        with pytest.raises(InvalidQuestions) as refused:
            publish_checked("exit-survey", questions, languages_off=["de"])
        assert [p.split(":")[0] for p in refused.value.problems] == ["Question 1 (main_reason)"]
        assert "Français (fr) translation was written for earlier English" in refused.value.problems[0]
        assert publish_checked("exit-survey", questions, languages_off=["de", "fr"]).number == 2


def test_the_editor_names_what_is_missing_and_says_which_languages_are_off(app, client, auth, admin):
    from conftest import csrf_token

    assert auth.login(admin["email"]).status_code == 302
    editor = "/admin/questions/exit-survey/"
    assert "Customers read the whole survey in Deutsch, Français or English." in client.get(editor).text
    added = submit_form(client, editor + "new", {"type": "short_text", "prompt": "Anything else?", "help": "",
                                                  "choices": "", "key": "", "show_if": "",
                                                  "prompt_de": "Sonst?"})  # fmt: skip
    assert added.status_code == 302
    page = client.get(editor).text
    assert "Question 8 (anything_else): has no Français (fr) translation." in page
    assert "Deutsch (de)" not in page
    publish = {"csrf_token": csrf_token(page), "switch_off": "fr"}
    done = client.post(editor + "publish", data=publish, follow_redirects=True).text
    assert "Français is switched off: those customers read it in English, whole." in done
    assert "Français is switched off in version 2: those customers read the whole survey" in done
    assert 'id="switch_off_fr" name="switch_off" value="fr" checked' not in done  # no draft: nothing to publish
    submit_form(client, editor + "new", {"type": "short_text", "prompt": "One more?", "help": "", "choices": "",
                                         "key": "", "show_if": "", "prompt_de": "Noch eine?"})  # fmt: skip
    assert 'id="switch_off_fr" name="switch_off" value="fr" checked' in client.get(editor).text  # kept as it is
