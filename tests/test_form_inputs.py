"""Every web form takes its fields through the same input rules: one base class, no form outside it."""

from __future__ import annotations

import importlib
import pkgutil

from wtforms import Form

import feedback
from feedback.inputs.forms import InputForm, InputSubform


def every_form_class() -> list[type[Form]]:
    """Imports every module of Farewell (but its migrations), then gathers each Form subclass defined in it."""
    for module in pkgutil.walk_packages(feedback.__path__, "feedback."):
        if not module.name.startswith("feedback.migrations"):
            importlib.import_module(module.name)
    found, pending = [], [Form]
    while pending:
        for subclass in pending.pop().__subclasses__():
            pending.append(subclass)
            if subclass.__module__.startswith("feedback."):
                found.append(subclass)
    return found


def test_every_form_takes_the_input_filter():
    forms = every_form_class()
    names = {f"{form.__module__}.{form.__qualname__}" for form in forms}
    assert {"feedback.auth.reset_views.RequestForm", "feedback.privacy.views.EraseForm"} <= names
    assert len(forms) > 15
    outside = sorted(f"{form.__module__}.{form.__qualname__}" for form in forms if not issubclass(
        form, InputForm | InputSubform))  # fmt: skip
    assert outside == []
