"""Replies as Gmail, Outlook and Apple Mail write them (tests/fixtures/inbound), cut to what the customer typed."""

from __future__ import annotations

from pathlib import Path

import pytest

from feedback.inbound.parsing import message_key, parse

FIXTURES = Path(__file__).parent / "fixtures" / "inbound"

TYPED = {
    "reply_gmail_en.eml": "The price doubled at renewal and nobody told us before the invoice came.\n"
    "We'd have stayed on the old plan.",
    "reply_gmail_de.eml": "Ehrlich gesagt war uns der Export zu langsam. Bei 200.000 Zeilen hat er\n"
    "jedes Mal über eine Stunde gebraucht.",
    "reply_gmail_fr_attachment.eml": "Nous sommes passés chez un concurrent : l'intégration Salesforce manquait.\n"
    "Je joins la capture de l'erreur que nous avions.",
    "reply_outlook_en.eml": "We moved to another tool. Two things decided it:\n"
    "- the dashboards were slow with our data\n- support took days to answer",
    "reply_outlook_de.eml": "Wir haben das Budget für nächstes Jahr gekürzt bekommen. Am Produkt lag es nicht.",
    "reply_outlook_fr.eml": "Le produit était bien, mais trop compliqué pour notre petite équipe.",
    "reply_apple_en.eml": "Honestly we just stopped using it after our analyst left.",
    "reply_apple_de.eml": "Die Rechnung war zweimal falsch, das hat uns gereicht.",
    "reply_apple_fr.eml": "On ferme la société à la fin du mois, rien à voir avec vous.\nBonne continuation !",
    "reply_html_only_en.eml": "The onboarding never really happened — we got one call and then nothing.",
}


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


@pytest.mark.parametrize("name", sorted(TYPED))
def test_each_reply_is_cut_to_what_the_customer_typed(name):
    parsed = parse(fixture(name))
    assert parsed.text == TYPED[name]
    assert parsed.auto_reply == ""
    assert parsed.report is None
    assert parsed.answers == ["ORIGINAL_MESSAGE_ID@acme.test"]
    assert "replies+KEY@acme.test" in parsed.recipients


def test_attachments_are_listed_by_name_and_never_kept():
    parsed = parse(fixture("reply_gmail_fr_attachment.eml"))
    assert parsed.attachments == ["erreur-salesforce.png"]
    assert "iVBOR" not in parsed.text
    assert parse(fixture("reply_gmail_en.eml")).attachments == []


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("auto_submitted.eml", "Auto-Submitted: auto-replied"),
        ("auto_x_autoreply.eml", "X-Autoreply header"),
        ("auto_precedence.eml", "Precedence: auto_reply"),
        ("auto_out_of_office_subject.eml", "an automatic reply's subject (Out of Office: Thank you, Casey.)"),
        ("auto_abwesenheit_subject.eml", "an automatic reply's subject (Abwesenheitsnotiz: Danke, Jonas.)"),
    ],
)
def test_auto_replies_are_told_apart(name, reason):
    assert parse(fixture(name)).auto_reply == reason


@pytest.mark.parametrize(
    ("name", "status", "action", "mta"),
    [
        ("bounce_postfix.eml", "5.1.1", "failed", "mail.acme.test"),
        ("bounce_exim.eml", "5.0.0", "failed", "relay.acme.test"),
        ("bounce_gmail.eml", "5.1.1", "failed", "googlemail.com"),
        ("bounce_postfix_delayed.eml", "4.4.1", "delayed", "mail.acme.test"),
    ],
)
def test_delivery_reports_name_the_message_the_recipient_and_the_status(name, status, action, mta):
    parsed = parse(fixture(name))
    assert parsed.report is not None
    assert parsed.auto_reply == ""  # a report is a report, though its headers say Auto-Submitted
    assert parsed.report.original_message_id == "ORIGINAL_MESSAGE_ID@acme.test"
    assert parsed.report.reporting_mta == mta
    [recipient] = parsed.report.recipients
    assert (recipient.address, recipient.status, recipient.action) == ("casey@client.test", status, action)
    assert recipient.permanent is status.startswith("5")


def test_a_malformed_message_still_reads_as_something():
    parsed = parse(fixture("malformed.eml"))
    assert parsed.message_id.startswith("sha256:")  # no usable Message-ID: its bytes make it unique
    assert parsed.answers == []
    assert parsed.date is None
    assert parsed.report is None


def test_a_redelivered_copy_has_the_same_key():
    raw = fixture("reply_gmail_en.eml")
    redelivered = b"Received: from mx2.acme.test by mail.acme.test; Tue, 1 Dec 2026 11:20:00 +0000\r\n" + raw
    assert message_key(redelivered) == message_key(raw) == "CAF1x9d+q2Ygmail-en@mail.gmail.com"


def plain_reply(subject: str, body: str) -> bytes:
    """A reply with none of RFC 3834's headers, as many out-of-office systems still send."""
    return (
        "From: Casey Customer <casey@client.test>\r\nTo: replies+KEY@acme.test\r\n"
        f"Subject: {subject}\r\nMessage-ID: <ooo-{abs(hash(body))}@client.test>\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        f"{body}\r\n"
    ).encode()


@pytest.mark.parametrize(
    ("subject", "body"),
    [
        ("Re: Thank you, Casey.", "Hello,\n\nI am out of the office until Monday, 7 December, with limited access."),
        ("Re: Thank you, Casey.", "Thank you for your email. I am away until 4 January."),
        ("Re: Danke, Jonas.", "Guten Tag,\nich bin bis zum 3. Januar nicht im Büro. In dringenden Fällen: Frau Meier."),
        ("Re: Danke, Jonas.", "Abwesenheitsnotiz\n\nVielen Dank für Ihre Nachricht."),
        ("Re: Merci, Camille.", "Bonjour,\nJe suis absente jusqu'au 4 janvier. Je vous répondrai à mon retour."),
        ("Re: Gracias", "Estoy fuera de la oficina hasta el lunes."),
        ("Re: Grazie", "Sono fuori ufficio fino al 7 gennaio."),
        ("Re: Bedankt", "Ik ben afwezig tot en met vrijdag."),
        ("Automatische Antwort: Danke, Jonas.", "Ich melde mich nach meiner Rückkehr."),
        ("Respuesta automática: Gracias", "Volveré el lunes."),
        ("Re: Thank you", "Automatic reply: I'm currently on parental leave."),
    ],
)
def test_out_of_office_notes_without_rfc_3834_headers_are_not_the_customers_answer(subject, body):
    assert parse(plain_reply(subject, body)).auto_reply != ""


@pytest.mark.parametrize(
    "body",
    [
        "I am out of patience with your support, which is why we left.",
        "We were out of budget. The office moved to another tool.",
        "Ich bin bis heute zufrieden gewesen, aber der Preis war zu hoch.",
        "Je suis partie chez un concurrent moins cher.",
    ],
)
def test_a_genuine_answer_that_mentions_offices_or_absence_is_a_persons(body):
    assert parse(plain_reply("Re: Thank you, Casey.", body)).auto_reply == ""
