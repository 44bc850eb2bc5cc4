"""The admin's form for one question of a draft."""

from __future__ import annotations

import json
from typing import Any

from wtforms import BooleanField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired

from feedback.i18n import LANGUAGES
from feedback.inputs.forms import InputForm
from feedback.questions.translations import TRANSLATED
from feedback.questions.validation import CHOICE_TYPES, TYPE_LABELS


class QuestionForm(InputForm):
    prompt = TextAreaField("Prompt", validators=[InputRequired("Every question needs a prompt.")])
    help = TextAreaField("Help text")
    type = SelectField("Type", choices=[SelectChoice(value, label) for value, label in TYPE_LABELS.items()])
    required = BooleanField("An answer is required")
    choices = TextAreaField("Choices, one per line")
    key = StringField("Key")
    show_if = SelectField("Show this question", choices=[])

    def offer_conditions(self, earlier: list[dict[str, Any]]) -> None:
        """The "show if" options: any answer of an earlier single-choice question that is always shown."""
        options = [SelectChoice("", "Always")]
        for question in earlier:
            if question["type"] == "single_choice" and not question.get("show_if"):
                for choice in question["choices"]:
                    value = json.dumps({"key": question["key"], "equals": choice})
                    options.append(SelectChoice(value, f"Only if “{question['prompt']}” is “{choice}”"))
        self.show_if.choices = options

    def fill(self, spec: dict[str, Any]) -> None:
        self.prompt.data = spec["prompt"]
        self.help.data = spec["help"]
        self.type.data = spec["type"]
        self.required.data = spec["required"]
        self.choices.data = "\n".join(spec["choices"])
        self.key.data = spec["key"]
        self.show_if.data = json.dumps(spec["show_if"]) if spec["show_if"] else ""
        for code in TRANSLATED:
            wording = (spec.get("translations") or {}).get(code) or {}
            self[f"prompt_{code}"].data = wording.get("prompt", "")
            self[f"help_{code}"].data = wording.get("help", "")
            self[f"choices_{code}"].data = "\n".join(wording.get("choices") or [])

    def translation_fields(self, code: str) -> list[Any]:
        return [self[f"{part}_{code}"] for part in ("prompt", "help", "choices")]

    def confirmed(self) -> list[str]:
        """Languages whose translation the admin says still fits the English, as it stands."""
        return [code for code in TRANSLATED if self[f"current_{code}"].data]

    def translation_errors(self) -> bool:
        return any(field.errors for code in TRANSLATED for field in self.translation_fields(code))

    def field_for(self, name: str) -> Any:
        """Where a problem with `name` is shown: translation problems go beside the first translation."""
        return self[name] if name in self else self[f"prompt_{TRANSLATED[0]}"]

    def translations(self, kind: str) -> dict[str, dict[str, Any]] | None:
        """Only what the admin filled in; a language left blank reads in the default language."""
        found: dict[str, dict[str, Any]] = {}
        for code in TRANSLATED:
            wording: dict[str, Any] = {}
            prompt = " ".join((self[f"prompt_{code}"].data or "").split())
            help_text = (self[f"help_{code}"].data or "").strip()
            labels = [line.strip() for line in (self[f"choices_{code}"].data or "").splitlines() if line.strip()]
            if prompt:
                wording["prompt"] = prompt
            if help_text:
                wording["help"] = help_text
            if labels and kind in CHOICE_TYPES:
                wording["choices"] = labels
            if wording:
                found[code] = wording
        return found or None

    def spec(self) -> dict[str, Any]:
        """What the admin typed, as a question; the key stays empty when left so (the caller derives it)."""
        kind = self.type.data or "short_text"
        lines = [line.strip() for line in (self.choices.data or "").splitlines() if line.strip()]
        return {
            "key": (self.key.data or "").strip(),
            "type": kind,
            "prompt": " ".join((self.prompt.data or "").split()),
            "help": (self.help.data or "").strip(),
            "required": bool(self.required.data),
            "choices": lines if kind in CHOICE_TYPES else [],
            "show_if": json.loads(self.show_if.data) if self.show_if.data else None,
            "translations": self.translations(kind),
        }


for _code in TRANSLATED:
    _language = LANGUAGES[_code]
    setattr(QuestionForm, f"prompt_{_code}", TextAreaField(f"Prompt in {_language}"))
    setattr(QuestionForm, f"help_{_code}", TextAreaField(f"Help text in {_language}"))
    setattr(QuestionForm, f"choices_{_code}", TextAreaField(f"Choices in {_language}, one per line, in the same order"))
    setattr(QuestionForm, f"current_{_code}", BooleanField(f"The {_language} wording still fits the English above"))
