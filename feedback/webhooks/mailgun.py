"""POST /webhooks/inbound/mailgun(/mime): a Mailgun route's forward() posts each message here, raw (body-mime).

Mailgun retries whatever is not a 200 or a 406, so: 200 once the message is stored (or was already), 406 for a
request that can never become a message, 503 while the database is away, and a 400/409 for a forged or
replayed request, which no genuine delivery makes.
"""

from __future__ import annotations

from flask import Response, jsonify, request
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import RequestEntityTooLarge

from feedback.errors import Problem
from feedback.extensions import db
from feedback.inbound.operations import process_and_commit, store_message, use_token_once
from feedback.inbound.parsing import no_nul
from feedback.inputs.text import CONTROLS
from feedback.webhooks.signatures import BadSignature, verify_mailgun

#: Mailgun takes messages of up to 25 MB; its form around one is a little larger. Past INBOUND_MAX_BYTES the
#: message is stored cut, and says so.
MAX_FORM_BYTES = 32 * 1024 * 1024
_HEADER_LINE = b":"


def _form() -> dict[str, str]:
    request.max_content_length = MAX_FORM_BYTES
    request.max_form_memory_size = MAX_FORM_BYTES
    try:
        return request.form.to_dict()
    except RequestEntityTooLarge:
        raise Problem(406, "The message is larger than Mailgun sends; it will never be taken.") from None


def _raw_message(form: dict[str, str]) -> bytes:
    upload = request.files.get("body-mime")
    raw = upload.read() if upload is not None else form.get("body-mime", "").encode("utf-8", "surrogateescape")
    first_line = raw.lstrip().split(b"\n", 1)[0]
    if not raw.strip() or _HEADER_LINE not in first_line:
        raise Problem(406, "No raw message in body-mime: forward the route to /webhooks/inbound/mailgun/mime.")
    return raw


def _authentication(form: dict[str, str]) -> dict[str, str] | None:
    """What Mailgun's route says it checked: SPF for the envelope sender, and the message's DKIM signatures; None
    when the post carries neither field (then the message is judged as any other way in judges it)."""
    spf, dkim = form.get("X-Mailgun-Spf", ""), form.get("X-Mailgun-Dkim-Check-Result", "")
    if not spf and not dkim:
        return None
    return {"spf": no_nul(spf)[:20], "dkim": no_nul(dkim)[:20], "sender": no_nul(form.get("sender", ""))[:254]}


def receive(signing_key: str) -> Response:
    form = _form()
    token = form.get("token", "")
    try:
        verify_mailgun(form.get("timestamp", ""), token, form.get("signature", ""), signing_key)
    except BadSignature as error:
        raise Problem(400, str(error)) from None
    if len(token) > 255 or CONTROLS.search(token):
        raise Problem(400, "The token must be at most 255 printable characters.")
    raw = _raw_message(form)
    try:
        if not use_token_once(token):
            raise Problem(409, "This signature's token was used already: the request is a replay.")
        message, stored = store_message(
            raw, via="mailgun", envelope_recipient=form.get("recipient", ""), mailgun_auth=_authentication(form)
        )
        db.session.commit()  # the token, when the message was there already
    except SQLAlchemyError as error:
        db.session.rollback()
        raise Problem(
            503, "The message could not be stored just now; Mailgun will retry.", headers={"Retry-After": "60"}
        ) from error
    message_id, status = message.id, message.status  # read now: after a rollback the row would be read again
    if stored:
        try:
            status = process_and_commit(message_id) or status
        except Exception:  # noqa: BLE001 - stored is what Mailgun needs to hear: the inbound.process job takes it
            db.session.rollback()
    return jsonify({"stored": True, "duplicate": not stored, "id": message_id, "status": status})
