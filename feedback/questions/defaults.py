"""The questions Farewell asks until an admin publishes others."""

from typing import Any

MAIN_REASONS = [
    "It was too expensive for us",
    "It was missing something we needed",
    "It was hard to set up or use",
    "We moved to another product",
    "We weren't using it enough",
    "Something kept breaking",
    "Support didn't work out for us",
    "Our business or needs changed",
    "Something else",
]

#: Short and gracious: every question after the first is optional, none asks them to reconsider.
EXIT_SURVEY: list[dict[str, Any]] = [
    {
        "key": "main_reason",
        "type": "single_choice",
        "prompt": "What was the main reason you cancelled?",
        "help": "Pick the one closest to it; there is room for detail below.",
        "required": True,
        "choices": MAIN_REASONS,
    },
    {
        "key": "final_straw",
        "type": "long_text",
        "prompt": "Was there a moment that decided it for you?",
        "help": "The final straw, if there was one.",
    },
    {
        "key": "could_have_done",
        "type": "long_text",
        "prompt": "What do you wish had gone differently?",
    },
    {
        "key": "valued",
        "type": "long_text",
        "prompt": "What, if anything, did you value while you were with us?",
    },
    {
        "key": "return_likelihood",
        "type": "likelihood",
        "prompt": "How likely is it that you would come back one day?",
        "help": "0 is not at all likely, 10 is very likely.",
    },
    {
        "key": "may_follow_up",
        "type": "yes_no",
        "prompt": "May we follow up with you about your answers?",
        "help": "Only the person who looked after your account would write, once.",
    },
    {
        "key": "better_fit_referral",
        "type": "short_text",
        "prompt": "Do you know someone we might suit better?",
        "help": "A name, a company or a kind of team. Entirely optional.",
    },
]

INTERNAL_REVIEW: list[dict[str, Any]] = [
    {
        "key": "this_week",
        "type": "long_text",
        "prompt": "What happened this week? What was the final straw?",
        "required": True,
    },
    {
        "key": "relationship_history",
        "type": "long_text",
        "prompt": "Looking at the whole relationship, which warning signs did we miss?",
        "help": "Usage dropping, a champion leaving, tickets piling up, a renewal call that went quiet…",
        "required": True,
    },
    {
        "key": "customer_told_us",
        "type": "long_text",
        "prompt": "What did the customer tell us, before and while cancelling?",
    },
    {
        "key": "action_items",
        "type": "long_text",
        "prompt": "What must change? List the action items, one per line.",
        "required": True,
    },
    {
        "key": "icp_fit",
        "type": "single_choice",
        "prompt": "Was this customer a fit for our ideal customer profile?",
        "required": True,
        "choices": ["Yes, a good fit", "Partly", "No, not a fit"],
    },
    {
        "key": "avoidable",
        "type": "single_choice",
        "prompt": "Was this loss avoidable?",
        "required": True,
        "choices": ["Yes", "Maybe", "No"],
    },
]

DEFAULTS = {"exit-survey": EXIT_SURVEY, "internal-review": INTERNAL_REVIEW}
