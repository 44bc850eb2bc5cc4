"""The questions Farewell asks until an admin publishes others.

The exit survey's translations live here, with the questions, rather than in the message catalogues: they are
stored on each Question row like the translations an admin gives an edited question, so one mechanism serves
both, and a published version keeps the wording it was asked in even after the catalogues change.
"""

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
        # The one answer every response needs, so that reasons add up; "Something else" fits anyone.
        "required": True,
        "choices": MAIN_REASONS,
        "translations": {
            "de": {
                "prompt": "Was war der Hauptgrund für Ihre Kündigung?",
                "help": "Wählen Sie, was am ehesten zutrifft; unten ist Platz für Details.",
                "choices": [
                    "Es war uns zu teuer",
                    "Uns fehlte etwas, das wir brauchten",
                    "Es war schwer einzurichten oder zu bedienen",
                    "Wir sind zu einem anderen Produkt gewechselt",
                    "Wir haben es zu wenig genutzt",
                    "Es ging immer wieder etwas kaputt",
                    "Der Support hat für uns nicht gepasst",
                    "Unser Geschäft oder unser Bedarf hat sich geändert",
                    "Etwas anderes",
                ],
            },
            "fr": {
                "prompt": "Quelle est la principale raison de votre résiliation ?",
                "help": "Choisissez la réponse la plus proche ; vous pourrez préciser plus bas.",
                "choices": [
                    "C’était trop cher pour nous",
                    "Il manquait quelque chose dont nous avions besoin",
                    "C’était difficile à mettre en place ou à utiliser",
                    "Nous sommes passés à un autre produit",
                    "Nous ne l’utilisions pas assez",
                    "Quelque chose ne fonctionnait pas, encore et encore",
                    "Le support ne nous a pas convenu",
                    "Notre activité ou nos besoins ont changé",
                    "Autre chose",
                ],
            },
        },
    },
    {
        "key": "final_straw",
        "type": "long_text",
        "prompt": "Was there a moment that decided it for you?",
        "help": "The final straw, if there was one.",
        "translations": {
            "de": {
                "prompt": "Gab es einen Moment, der den Ausschlag gegeben hat?",
                "help": "Der Tropfen, der das Fass zum Überlaufen gebracht hat, falls es einen gab.",
            },
            "fr": {
                "prompt": "Y a-t-il eu un moment décisif pour vous ?",
                "help": "La goutte d’eau qui a fait déborder le vase, s’il y en a eu une.",
            },
        },
    },
    {
        "key": "could_have_done",
        "type": "long_text",
        "prompt": "What do you wish had gone differently?",
        "translations": {
            "de": {"prompt": "Was hätte aus Ihrer Sicht anders laufen sollen?"},
            "fr": {"prompt": "Qu’auriez-vous aimé voir se passer autrement ?"},
        },
    },
    {
        "key": "valued",
        "type": "long_text",
        "prompt": "What, if anything, did you value while you were with us?",
        "translations": {
            "de": {"prompt": "Was haben Sie bei uns geschätzt, falls überhaupt etwas?"},
            "fr": {"prompt": "Qu’avez-vous apprécié chez nous, s’il y a quelque chose ?"},
        },
    },
    {
        "key": "return_likelihood",
        "type": "likelihood",
        "prompt": "How likely is it that you would come back one day?",
        "help": "0 is not at all likely, 10 is very likely.",
        "translations": {
            "de": {
                "prompt": "Wie wahrscheinlich ist es, dass Sie eines Tages zurückkommen?",
                "help": "0 heißt überhaupt nicht wahrscheinlich, 10 sehr wahrscheinlich.",
            },
            "fr": {
                "prompt": "Quelle est la probabilité que vous reveniez un jour ?",
                "help": "0 signifie pas du tout probable, 10 très probable.",
            },
        },
    },
    {
        "key": "may_follow_up",
        "type": "yes_no",
        "prompt": "May we follow up with you about your answers?",
        "help": "Only the person who looked after your account would write, once.",
        "translations": {
            "de": {
                "prompt": "Dürfen wir uns zu Ihren Antworten bei Ihnen melden?",
                "help": "Nur die Person, die Ihr Konto betreut hat, würde Ihnen schreiben, ein einziges Mal.",
            },
            "fr": {
                "prompt": "Pouvons-nous revenir vers vous au sujet de vos réponses ?",
                "help": "Seule la personne qui s’occupait de votre compte vous écrirait, une seule fois.",
            },
        },
    },
    {
        "key": "better_fit_referral",
        "type": "short_text",
        # Last, optional, and an offer rather than a request: they are saying goodbye, not doing us a favour.
        "prompt": "If someone you know might be a better fit for us, we'd be glad to hear.",
        "help": "Only if someone comes to mind: a name, a company or a kind of team.",
        "translations": {
            "de": {
                "prompt": (
                    "Falls Ihnen jemand einfällt, zu dem wir besser passen könnten, freuen wir uns über einen Hinweis."
                ),
                "help": "Nur wenn Ihnen jemand einfällt: ein Name, eine Firma oder eine Art von Team.",
            },
            "fr": {
                "prompt": (
                    "Si vous pensez à quelqu’un à qui nous conviendrions mieux, nous serions heureux de le savoir."
                ),
                "help": "Seulement si quelqu’un vous vient à l’esprit : un nom, une entreprise ou un type d’équipe.",
            },
        },
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
        "prompt": "What must change? Each change becomes an action item with one owner and a due date.",
        "required": True,
    },
    {
        "key": "owner_reason",
        "type": "single_choice",
        "prompt": "In your view, what was the main reason?",
        "help": "The same choices the customer had, so the insights page can show where you agree.",
        "choices": MAIN_REASONS,
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
