"""The three kinds of input Farewell takes, with their limits: a customer, a cancellation, contact details.

The lengths fit the columns (a name of 200 characters, an email address of 254, a text of 5,000) and are the ones
the API's OpenAPI document publishes.
"""

from __future__ import annotations

from feedback.inputs.schema import Field, Schema

NAME_LENGTH = 200
EMAIL_LENGTH = 254
COMPANY_LENGTH = 200
PLAN_LENGTH = 120
EXTERNAL_ID_LENGTH = 255
LANGUAGE_TAG_LENGTH = 35
TEXT_LENGTH = 5000

#: Stripe's `cancellation_details.feedback` values; the API accepts the same.
STRIPE_FEEDBACK = (
    "too_expensive",
    "missing_features",
    "switched_service",
    "unused",
    "customer_service",
    "too_complex",
    "low_quality",
    "other",
)

CUSTOMER_NAME = Field(
    "customer_name",
    "name",
    NAME_LENGTH,
    required=True,
    messages={
        "required": "The customer's name is required.",
        "too_long": "The customer's name must be at most {limit} characters.",
    },
)
CUSTOMER_EMAIL = Field(
    "customer_email",
    "email",
    EMAIL_LENGTH,
    required=True,
    messages={
        "required": "The customer's email address is required.",
        "invalid": "The customer's email address is not valid: {error}",
    },
)

#: A customer as the API, the webhooks and CSV files name it; an update gives only the fields it changes.
CUSTOMER = Schema(
    Field("external_id", "line", EXTERNAL_ID_LENGTH),
    Field("name", "name", NAME_LENGTH),
    Field("email", "email", EMAIL_LENGTH),
    Field("company", "line", COMPANY_LENGTH),
    Field("plan", "line", PLAN_LENGTH),
    Field("mrr", "money"),
    Field("currency", "currency"),
    Field("customer_since", "date"),
    Field("owner_email", "email", EMAIL_LENGTH),
    Field("locale", "language_tag", LANGUAGE_TAG_LENGTH),
)

#: A cancellation as `log_cancellation` takes it (the web form and the CLI name their fields the same).
CANCELLATION = Schema(
    CUSTOMER_NAME,
    CUSTOMER_EMAIL,
    # Who it is, the operation finds out: that needs the database.
    Field("owner_email", "line", EMAIL_LENGTH, required=True, messages={"required": "The account owner is required."}),
    Field("company", "line", COMPANY_LENGTH),
    Field("plan", "line", PLAN_LENGTH),
    Field("mrr", "money", messages={"range": "MRR must be a positive amount."}),
    Field("currency", "currency"),
    Field("customer_since", "date", messages={"future": "The customer can't have joined in the future."}),
    Field("reason", "text", TEXT_LENGTH),
    Field("complaint", "text", TEXT_LENGTH),
    Field("cancelled_at", "moment"),
    Field("feedback", "choice", choices=STRIPE_FEEDBACK),
    Field("comment", "text", TEXT_LENGTH),
    Field("locale", "locale", LANGUAGE_TAG_LENGTH),
)
#: The cancellation's own fields in an API, webhook or CSV body, beside its customer.
CANCELLATION_BODY_FIELDS = ("owner_email", "reason", "complaint", "cancelled_at", "feedback", "comment")

#: What staff add to a cancellation that billing sent without a way to reach the customer.
CONTACT = Schema(CUSTOMER_NAME, CUSTOMER_EMAIL)
