"""The question editor: drafts, validation, preview, publishing; answers keep the questions they answered."""

from __future__ import annotations

import json
import re

import pytest
from conftest import csrf_token, deliver, link_in, log, submit_form, text_part
from sqlalchemy import func, select

from feedback.extensions import db
from feedback.questions.editing import InvalidQuestions, publish_checked
from feedback.questions.models import QuestionnaireVersion
from feedback.questions.operations import live_version, question_spec
from feedback.questions.translations import TRANSLATED
from feedback.questions.validation import derive_key, questionnaire_problems
from feedback.surveys.models import SurveyResponse

EDITOR = "/admin/questions/exit-survey/"


@pytest.fixture
def logged_in_admin(auth, admin):
    assert auth.login(admin["email"]).status_code == 302
    return admin


def post(client, path, data=None, page=EDITOR):
    """A button on the editor page: post with that page's CSRF token."""
    return client.post(path, data={"csrf_token": csrf_token(client.get(page).text), **(data or {})})


def add_question(client, **fields):
    data = {"type": "short_text", "prompt": "", "help": "", "choices": "", "key": "", "show_if": ""}
    data.update(fields)
    return submit_form(client, EDITOR + "new", data)


def live_keys(app, questionnaire="exit-survey"):
    with app.app_context():
        return [q.key for q in live_version(questionnaire).questions]


def version_count(app):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(QuestionnaireVersion))


# --- Rules -------------------------------------------------------------------------------------------


def q(key, **fields):
    return {"key": key, "type": "short_text", "prompt": f"About {key}?", **fields}


def test_every_validation_rule_has_a_clear_message():
    assert questionnaire_problems([]) == ["A questionnaire needs at least one question before it can be published."]
    cases = {
        "needs at least two different choices": [q("a", type="single_choice", choices=["Yes"])],
        "Each choice must be different": [q("a", type="multiple_choice", choices=["Yes", "yes"])],
        "already has the key 'a'": [q("a"), q("a")],
        "no question 'later' before this one": [q("a", show_if={"key": "later", "equals": "x"}), q("later")],
        "must point to a single-choice question": [q("a"), q("b", show_if={"key": "a", "equals": "x"})],
        "'maybe' is not among them": [
            q("a", type="single_choice", choices=["Yes", "No"]),
            q("b", show_if={"key": "a", "equals": "maybe"}),
        ],
        "one level deep only": [
            q("a", type="single_choice", choices=["Yes", "No"]),
            q("b", type="single_choice", choices=["Red", "Blue"], show_if={"key": "a", "equals": "Yes"}),
            q("c", show_if={"key": "b", "equals": "Red"}),
        ],
        "prompt must be at most 500 characters": [q("a", prompt="x" * 501)],
        "help text must be at most 1000": [q("a", help="x" * 1001)],
        "key may use only lower-case": [q("Bad Key")],
        "key must be at most 64": [q("k" * 65)],
        "Every question needs a prompt": [q("a", prompt="  ")],
        "Only single- and multiple-choice questions have choices": [q("a", choices=["x", "y"])],
        "type must be one of": [q("a", type="essay")],
        "unknown field(s) colour": [q("a", colour="red")],
    }
    for expected, questions in cases.items():
        problems = questionnaire_problems(questions)
        assert any(expected in p for p in problems), (expected, problems)
    fine = [
        q("a", type="single_choice", choices=["Yes", "No"], required=True),
        q("b", show_if={"key": "a", "equals": "Yes"}),
    ]
    assert questionnaire_problems(fine) == []


def test_keys_come_from_the_first_prompt_and_stay_unique():
    assert derive_key("What was the main reason you cancelled?") == "what_was_the_main_reason_you_cancelled"
    assert derive_key("Café: how's the crème?", taken=["cafe_how_s_the_creme"]) == "cafe_how_s_the_creme_2"
    assert derive_key("42?") == "q_42"


# --- Editor ------------------------------------------------------------------------------------------


def test_owners_cannot_open_the_editor(client, logged_in_owner):
    assert client.get(EDITOR).status_code == 403


def test_editing_changes_only_the_draft_until_publish(app, client, logged_in_admin):
    before = live_keys(app)
    response = add_question(
        client, type="single_choice", prompt="Which plan were you on?", choices="Starter\nTeam\n", required="y"
    )
    assert response.status_code == 302
    editor = client.get(EDITOR).text
    assert "Which plan were you on?" in editor and "which_plan_were_you_on" in editor
    assert live_keys(app) == before  # nothing published yet

    # Edit the prompt: the key stays, as reports follow it.
    position = len(before) + 1
    page = client.get(f"{EDITOR}{position}/edit")
    assert "Which plan were you on?" in page.text
    assert (
        submit_form(
            client,
            f"{EDITOR}{position}/edit",
            {
                "type": "single_choice",
                "prompt": "Which plan did you have?",
                "choices": "Starter\nTeam",
                "key": "which_plan_were_you_on",
                "show_if": "",
                "help": "",
            },  # fmt: skip
        ).status_code
        == 302
    )

    # Move it to the top, one step at a time; remove another question.
    for step in range(position, 1, -1):
        assert post(client, f"{EDITOR}{step}/move", {"direction": "up"}).status_code == 302
    stuck = client.post(f"{EDITOR}1/move", data={"csrf_token": csrf_token(client.get(EDITOR).text),
                                                  "direction": "up"}, follow_redirects=True)  # fmt: skip
    assert "move further that way" in stuck.text and "Moved." not in stuck.text
    assert post(client, f"{EDITOR}{position}/remove").status_code == 302

    # The new question has no German or French: refused, unless both languages are switched off.
    refused = client.get(post(client, EDITOR + "publish").location).text
    assert "Question 1 (which_plan_were_you_on): has no Deutsch (de) translation." in refused
    assert live_keys(app) == before
    assert post(client, EDITOR + "publish", {"switch_off": ["de", "fr"]}).status_code == 302
    published = live_keys(app)
    assert published[0] == "which_plan_were_you_on"
    assert published[1:] == before[:-1]
    with app.app_context():
        assert live_version("exit-survey").questions[0].prompt == "Which plan did you have?"
        assert live_version("exit-survey").number == 2
    assert "Published version 2" in client.get(EDITOR).text
    old = client.get(EDITOR + "versions/1").text
    assert "replaced by version 2" in old and "Which plan did you have?" not in old
    assert "Which plan did you have?" in client.get(EDITOR + "versions/2").text
    assert client.get(EDITOR + "versions/9").status_code == 404


def test_question_form_keeps_what_was_typed_and_explains(app, client, logged_in_admin):
    response = add_question(client, type="single_choice", prompt="Pick one <please>", choices="Only one")
    assert response.status_code == 422
    assert "A choice question needs at least two different choices." in response.text
    assert "Pick one &lt;please&gt;" in response.text
    clash = add_question(client, prompt="Anything else?", key="main_reason")
    assert clash.status_code == 422
    assert "already has the key &#39;main_reason&#39;" in clash.text


def test_publishing_an_empty_draft_is_refused(app, client, logged_in_admin):
    with app.app_context():
        count = len(live_version("exit-survey").questions)
    for _ in range(count):
        post(client, f"{EDITOR}1/remove")
    removal = post(client, f"{EDITOR}1/remove")  # the first question has dependants? none: list is empty now
    assert removal.status_code == 404
    page = client.get(EDITOR).text
    assert "No questions in the draft" in page
    post(client, EDITOR + "publish")
    assert "A questionnaire needs at least one question before it can be published." in client.get(EDITOR).text
    assert version_count(app) == 1


def test_a_question_others_depend_on_cannot_be_removed(app, client, logged_in_admin):
    add_question(client, prompt="Which price felt wrong?", show_if=json.dumps({"key": "main_reason",
                 "equals": "It was too expensive for us"}))  # fmt: skip
    post(client, f"{EDITOR}1/remove")
    assert "can&#39;t be removed: which_price_felt_wrong" in client.get(EDITOR).text
    for position in range(8, 1, -1):  # up to the top: the last step would put it before its condition
        post(client, f"{EDITOR}{position}/move", {"direction": "up"})
    editor = client.get(EDITOR).text
    assert "That would break the draft" in editor and "there is no question &#39;main_reason&#39; before" in editor
    with app.app_context():
        from feedback.questions.editing import draft_questions

        assert [x["key"] for x in draft_questions("exit-survey")][:2] == ["main_reason", "which_price_felt_wrong"]


def test_preview_shows_the_draft_as_the_customer_sees_it(app, client, logged_in_admin):
    add_question(client, type="rating", prompt="How was onboarding?", required="y")
    preview = client.get(EDITOR + "preview")
    assert preview.status_code == 200
    assert "Preview of the draft exit survey" in preview.text
    assert "How was onboarding?" in preview.text and "Send my answers" in preview.text
    assert "Thank you, Sam." in preview.text  # a sample name, never "Thank you, ."
    assert 'class="customer"' in preview.text  # the customer's page, not a staff page
    checked = client.post(EDITOR + "preview", data={"csrf_token": csrf_token(preview.text)})
    assert checked.status_code == 422 and "Please answer “How was onboarding?”" in checked.text
    review = client.get("/admin/questions/internal-review/preview")
    assert review.status_code == 200 and "Submit review" in review.text
    assert version_count(app) == 2  # previews publish nothing (the two defaults only)


def test_discarding_returns_to_the_live_version(app, client, logged_in_admin):
    add_question(client, prompt="Throwaway question?")
    post(client, EDITOR + "discard")
    assert "Throwaway question?" not in client.get(EDITOR).text


# --- Versions -----------------------------------------------------------------------------------------


def test_an_invitation_keeps_its_questions_across_publishes(app, client, smtp, owner, auth, admin):
    log(app, owner["email"], customer_email="before@client.test")
    deliver(app)
    old_link = link_in(smtp.one("before@client.test")).removeprefix("http://localhost")
    with app.app_context():
        questions = [question_spec(x) for x in live_version("exit-survey").questions]
        questions[0]["prompt"] = "What made you leave, in one choice?"
        questions[0]["translations"] = None  # reworded, the old ones would be stale
        questions.append(q("new_question", prompt="A question added later?"))
        publish_checked("exit-survey", questions, languages_off=TRANSLATED)  # English only, for everyone
        db.session.commit()

    log(app, owner["email"], customer_email="after@client.test")
    deliver(app)
    new_page = client.get(link_in(smtp.one("after@client.test")).removeprefix("http://localhost")).text
    assert "A question added later?" in new_page and "What made you leave, in one choice?" in new_page

    old_page = client.get(old_link).text
    assert "A question added later?" not in old_page
    assert "What was the main reason you cancelled?" in old_page
    assert client.post(old_link, data={"main_reason": "Something else",
                                       "final_straw": "Old question answered"}).status_code == 303  # fmt: skip
    with app.app_context():
        response = db.session.scalars(select(SurveyResponse)).one()
        assert response.version.number == 1

    auth.login(admin["email"])
    summary_id = 1
    submit_form(client, f"/cancellations/{summary_id}/review", {"this_week": "x", "relationship_history": "y",
         "action_items": "z", "icp_fit": "Partly", "avoidable": "No"})  # fmt: skip
    with app.app_context():  # the review's questions change after it was written
        review_questions = [question_spec(x) for x in live_version("internal-review").questions]
        review_questions[0]["prompt"] = "A reworded first review question?"
        publish_checked("internal-review", review_questions)
        db.session.commit()
    summary = client.get(f"/cancellations/{summary_id}/summary").text
    assert "What was the main reason you cancelled?" in summary  # the question as it was asked
    assert "Old question answered" in summary
    assert "A question added later?" not in summary
    assert "What happened this week? What was the final straw?" in summary
    assert "A reworded first review question?" not in summary
    detail = client.get(f"/cancellations/{summary_id}").text
    assert "What happened this week? What was the final straw?" in detail


# --- "Show if" -----------------------------------------------------------------------------------------


def conditional_survey(app):
    with app.app_context():
        publish_checked(
            "exit-survey",
            [
                {
                    "key": "reason",
                    "type": "single_choice",
                    "prompt": "Why?",
                    "required": True,
                    "choices": ["Price", "Features"],
                },  # fmt: skip
                {
                    "key": "price_detail",
                    "type": "short_text",
                    "prompt": "Which price felt wrong?",
                    "required": True,
                    "show_if": {"key": "reason", "equals": "Price"},
                },  # fmt: skip
            ],
            languages_off=TRANSLATED,
        )
        db.session.commit()


def test_show_if_on_the_page_and_on_the_server(app, client, smtp, owner):
    conditional_survey(app)
    log(app, owner["email"], customer_email="cond@client.test")
    deliver(app)
    link = link_in(smtp.one("cond@client.test")).removeprefix("http://localhost")
    page = client.get(link).text
    assert 'data-show-if-key="reason"' in page and 'data-show-if-equals="Price"' in page
    assert "Only if you answered “Price” above." in page

    missing = client.post(link, data={"reason": "Price"})
    assert missing.status_code == 422 and "Please answer “Which price felt wrong?”" in missing.text
    # Shown only for "Price": with "Features" it is neither required nor kept.
    done = client.post(link, data={"reason": "Features", "price_detail": "stale text"})
    assert done.status_code == 303
    with app.app_context():
        assert db.session.scalars(select(SurveyResponse)).one().answers == {"reason": "Features"}


# --- Command line -------------------------------------------------------------------------------------


def test_export_import_round_trip(app, runner, tmp_path):
    path = tmp_path / "survey.json"
    result = runner.invoke(args=["questions", "export", "exit-survey", str(path)])
    assert result.exit_code == 0, result.output
    assert f"Wrote {path} (version 1, " in result.output  # a file written says so, as `customers export` does
    data = json.loads(path.read_text())
    assert data["questionnaire"] == "exit-survey" and data["version"] == 1
    assert list(data["questions"][0]) == ["key", "prompt", "help", "type", "required", "choices", "show_if"]
    data["questions"].append(q("imported", help="", required=False, choices=[], show_if=None))
    path.write_text(json.dumps(data))

    untranslated = runner.invoke(args=["questions", "import", str(path)])  # the editor's rule: one language
    assert untranslated.exit_code != 0 and "nothing was published" in untranslated.output
    assert "Question 8 (imported): has no Deutsch (de) translation." in untranslated.output
    assert "Question 8 (imported): has no Français (fr) translation." in untranslated.output
    switch_off = ["--switch-off", "de", "--switch-off", "fr"]
    imported = runner.invoke(args=["questions", "import", str(path), *switch_off])
    assert imported.exit_code == 0, imported.output
    assert imported.output.strip() == "2"
    again = runner.invoke(args=["questions", "export", "exit-survey"])
    exported = json.loads(again.output)
    assert exported["version"] == 2 and exported["questions"] == data["questions"]
    with app.app_context():  # the file had no translations: the live ones stay where the wording is the same
        main_reason = next(q for q in live_version("exit-survey").questions if q.key == "main_reason")
        assert main_reason.translations["de"]["prompt"] == "Was war der Hauptgrund für Ihre Kündigung?"

    data["questions"][0]["prompt"] = "What made you leave?"
    path.write_text(json.dumps(data))
    reworded = runner.invoke(args=["questions", "import", str(path), *switch_off])
    assert reworded.exit_code == 0 and reworded.stdout.strip() == "3"
    assert "'main_reason' is worded anew, so its translations (de, fr) are left out" in reworded.stderr
    with app.app_context():
        assert live_version("exit-survey").questions[0].translations is None
        assert live_version("exit-survey").languages_off == ["de", "fr"]


def test_a_bad_file_lists_every_problem_and_publishes_nothing(app, runner, tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"questionnaire": "internal-review", "questions": [
        {"key": "a", "type": "single_choice", "prompt": "Pick", "choices": ["One"]},
        {"key": "a", "type": "short_text", "prompt": ""},
        {"key": "b", "type": "short_text", "prompt": "B?", "show_if": {"key": "zzz", "equals": "x"}},
    ]}))  # fmt: skip
    result = runner.invoke(args=["questions", "import", str(path)])
    assert result.exit_code != 0
    assert "nothing was published" in result.output
    for expected in ("Question 1 (a): A choice question needs at least two", "Question 2 (a): Another question",
                     "Question 2 (a): Every question needs a prompt", "Question 3 (b): \"Show if\""):  # fmt: skip
        assert expected in result.output, result.output
    assert version_count(app) == 0
    path.write_text("{not json")
    assert "is not valid JSON" in runner.invoke(args=["questions", "import", str(path)]).output
    path.write_text(json.dumps({"questionnaire": "nope", "questions": []}))
    output = runner.invoke(args=["questions", "import", str(path)]).output
    assert "'questionnaire' must be one of" in output and "at least one question" in output


def test_publish_checked_refuses_without_writing(app):
    with app.app_context():
        with pytest.raises(InvalidQuestions) as refused:
            publish_checked("exit-survey", [])
        assert refused.value.problems
        assert db.session.scalar(select(func.count()).select_from(QuestionnaireVersion)) == 0


def test_a_file_of_the_wrong_shapes_is_explained_not_crashed_on():
    weird = [
        {"key": ["a"], "type": 3, "prompt": None, "help": 5, "required": "yes", "choices": "Yes,No", "show_if": "a"},
        "not an object",
        {"key": "b", "type": "single_choice", "prompt": "B?", "choices": 7},
        {"key": "c", "type": "short_text", "prompt": "C?", "show_if": {"key": "b", "equals": "x"}},
    ]
    problems = questionnaire_problems(weird)
    assert any("Question 2: must be an object" in p for p in problems)
    assert any("'required' must be true or false" in p for p in problems)
    assert any("The choices must be a list of texts" in p for p in problems)
    assert any("Question 4 (c)" in p for p in problems)
    assert questionnaire_problems({"questions": []}) == ["'questions' must be a list of questions."]


def test_translations_travel_with_the_flag_and_are_checked_on_import(app, runner, tmp_path):
    path = tmp_path / "survey.json"
    result = runner.invoke(args=["questions", "export", "exit-survey", "--with-translations", str(path)])
    assert result.exit_code == 0, result.output
    data = json.loads(path.read_text())
    main_reason = next(spec for spec in data["questions"] if spec["key"] == "main_reason")
    assert set(main_reason["translations"]) == {"de", "fr"}
    assert len(main_reason["translations"]["de"]["choices"]) == len(main_reason["choices"])

    main_reason["translations"]["de"]["prompt"] = "Was war der Hauptgrund?"
    path.write_text(json.dumps(data))
    assert runner.invoke(args=["questions", "import", str(path)]).output.strip() == "2"
    with app.app_context():
        published = live_version("exit-survey")
        question = next(q for q in published.questions if q.key == "main_reason")
        assert published.number == 2 and question.translations["de"]["prompt"] == "Was war der Hauptgrund?"

    main_reason["translations"]["de"]["prompt"] = "x" * 501
    path.write_text(json.dumps(data))
    too_long = runner.invoke(args=["questions", "import", str(path)])
    assert too_long.exit_code != 0 and "de: the prompt must be at most 500 characters." in too_long.output
    main_reason["translations"]["de"]["prompt"] = "Was war der Hauptgrund?"
    main_reason["translations"]["de"]["choices"] = ["Nur eine"]
    main_reason["translations"]["xx"] = {"prompt": "?"}
    path.write_text(json.dumps(data))
    refused = runner.invoke(args=["questions", "import", str(path)])
    assert refused.exit_code != 0
    assert "one label per choice" in refused.output and "'xx' is not a language" in refused.output
    with app.app_context():
        assert live_version("exit-survey").number == 2


def test_an_admin_translates_a_question_in_the_editor(app, client, smtp, owner, logged_in_admin):
    fields = {"type": "single_choice", "prompt": "Which plan were you on?", "choices": "Starter\nTeam",
              "prompt_de": "Welchen Tarif hatten Sie?", "choices_de": "Einsteiger"}  # fmt: skip
    refused = add_question(client, **fields)
    assert refused.status_code == 422
    assert "give one label per choice, 2 in all" in refused.text
    assert "Welchen Tarif hatten Sie?" in refused.text  # what was typed stays

    assert add_question(client, **{**fields, "choices_de": "Einsteiger\nTeam"}).status_code == 302
    edit_page = client.get(f"{EDITOR}1/edit").text  # the default main reason: its shipped German wording
    assert "Was war der Hauptgrund für Ihre Kündigung?" in edit_page
    refused = client.get(post(client, EDITOR + "publish").location).text
    assert "has no Français (fr) translation. Translate it, or publish with Français switched off." in refused
    assert "Deutsch (de)" not in refused
    assert post(client, EDITOR + "publish", {"switch_off": "fr"}).status_code == 302

    log(app, owner["email"], customer_email="tarif@client.test", locale="de")
    deliver(app)
    link = link_in(smtp.one("tarif@client.test")).removeprefix("http://localhost")
    page = client.get(link).text
    assert "Welchen Tarif hatten Sie?" in page and "Einsteiger" in page
    key = live_keys(app)[-1]
    answered = client.post(link, data={"main_reason": "Something else", key: "Starter"})
    assert answered.status_code == 303
    with app.app_context():
        assert db.session.scalars(select(SurveyResponse)).one().answers[key] == "Starter"  # stored as the English value


def test_the_invitation_says_only_the_first_is_needed_only_when_that_is_so(app, smtp, owner):
    log(app, owner["email"], customer_email="default@client.test")
    with app.app_context():
        questions = [q("first", required=True), q("second", required=True)]
        publish_checked("exit-survey", questions, languages_off=TRANSLATED)
        db.session.commit()
    log(app, owner["email"], customer_email="two@client.test")
    deliver(app)
    assert "only the first needs an answer" in text_part(smtp.one("default@client.test"))
    two = text_part(smtp.one("two@client.test"))
    assert "only the first needs an answer" not in two and "There are a few short questions, and" in two


# --- Stale translations ---------------------------------------------------------------------------------


def edit_fields(app, position, **changes):
    """The edit form as it arrives filled in for the live question at `position`, with `changes` typed over it."""
    with app.app_context():
        spec = question_spec(live_version("exit-survey").questions[position - 1])
    data = {"type": spec["type"], "prompt": spec["prompt"], "help": spec["help"], "key": spec["key"], "show_if": "",
            "choices": "\n".join(spec["choices"]), "required": "y" if spec["required"] else ""}  # fmt: skip
    for code, wording in spec["translations"].items():
        data.update({f"prompt_{code}": wording.get("prompt", ""), f"help_{code}": wording.get("help", ""),
                     f"choices_{code}": "\n".join(wording.get("choices") or [])})  # fmt: skip
    data.update(changes)
    return data


def test_rewording_the_english_marks_its_translations_stale_until_they_are_updated(app, client, logged_in_admin):
    path = f"{EDITOR}1/edit"
    reworded = edit_fields(app, 1, prompt="What made you decide to leave?", help="One answer is plenty.")
    response = submit_form(client, path, reworded)
    assert response.status_code == 302, re.findall(r"field-error[^>]*>([^<]+)", response.text)

    editor = client.get(EDITOR).text
    assert "Deutsch translation stale" in editor and "Français translation stale" in editor
    assert "the Deutsch (de) translation was written for earlier English wording" in editor
    refused = post(client, EDITOR + "publish")
    assert "the Français (fr) translation was written for earlier English wording" in client.get(refused.location).text
    assert version_count(app) == 1  # only the defaults: German customers keep a survey that agrees with itself

    page = client.get(path).text
    assert "The Deutsch wording still fits the English above" in page and 'badge-stale">stale' in page
    confirmed = {**reworded, "current_de": "y", "prompt_fr": "Qu’est-ce qui vous a décidé à partir ?"}
    assert submit_form(client, path, confirmed).status_code == 302
    assert "translation stale" not in client.get(EDITOR).text
    post(client, EDITOR + "publish")
    assert version_count(app) == 2
    with app.app_context():
        published = question_spec(live_version("exit-survey").questions[0])
    assert published["translations"]["fr"]["prompt"] == "Qu’est-ce qui vous a décidé à partir ?"


def test_an_untouched_translation_stays_current_when_only_another_question_changes(app, client, logged_in_admin):
    assert submit_form(client, f"{EDITOR}2/edit", edit_fields(app, 2, prompt="What could we have done better?"))
    assert "translation stale" not in client.get(f"{EDITOR}").text.split('id="q2"')[0]


def test_import_refuses_a_file_whose_translations_were_written_for_other_english(app, runner, tmp_path):
    path = tmp_path / "survey.json"
    runner.invoke(args=["questions", "export", "exit-survey", "--with-translations", str(path)])
    data = json.loads(path.read_text())
    data["questions"][0]["help"] = "New help that the German and French never saw."
    path.write_text(json.dumps(data))
    refused = runner.invoke(args=["questions", "import", str(path)])
    assert refused.exit_code != 0 and "nothing was published" in refused.output
    assert "Question 1 (main_reason): the Deutsch (de) translation was written for earlier" in refused.output
    assert version_count(app) == 1

    for wording in data["questions"][0]["translations"].values():
        del wording["source"]  # a hand-made file: its translations are taken to match its English
    path.write_text(json.dumps(data))
    assert runner.invoke(args=["questions", "import", str(path)]).output.strip() == "2"
