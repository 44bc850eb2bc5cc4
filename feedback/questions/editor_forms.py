"""The admin's form for one question of a draft."""

from __future__ import annotations

import json
from typing import Any

from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired

from feedback.questions.validation import CHOICE_TYPES, TYPE_LABELS


class QuestionForm(FlaskForm):
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
        }
