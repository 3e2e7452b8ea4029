"""The TwiML player over sample documents: what the caller hears and what Twilio posts next."""

from __future__ import annotations

from decimal import Decimal

import pytest

from app.demo.twiml_player import ConnectorOutcome, Heard, TwimlError, play_document
from tests.demo.support import CannedConnector, ScriptedPhone

DOCUMENT_URL = "https://upm.example.test/twilio/voice?turn=1"
VISA = "4242424242424242"


def play(twiml: str, *answers: str, connector: CannedConnector | None = None):  # noqa: ANN201
    phone = ScriptedPhone(*answers)
    turn = play_document(twiml, DOCUMENT_URL, phone, connector or CannedConnector())
    return turn, phone


def test_say_keeps_language_and_voice() -> None:
    turn, phone = play(
        '<Response><Say language="es-MX" voice="Polly.Mia">Hola.</Say>'
        '<Say language="en-US" voice="Polly.Joanna">Goodbye.</Say><Hangup/></Response>'
    )

    assert turn.heard[0] == Heard("say", "Hola.", "es-MX", "Polly.Mia")
    assert turn.heard[1] == Heard("say", "Goodbye.", "en-US", "Polly.Joanna")
    assert turn.heard[2] == Heard("hangup", "hangup")
    assert turn.ended == "hangup"
    assert turn.next is None
    assert phone.heard == turn.heard


def test_say_reads_ssml_words() -> None:
    turn, _ = play(
        '<Response><Say>Account <say-as interpret-as="digits">1002</say-as>, '
        '<sub alias="one dollar">$1</sub> due.</Say></Response>'
    )

    assert turn.heard[0].text == "Account 1002, one dollar due."


def test_gather_posts_digits_to_action() -> None:
    turn, phone = play(
        '<Response><Gather action="/twilio/voice/menu?turn=2" numDigits="1" '
        'language="en-US"><Say language="en-US">Press 1.</Say></Gather></Response>',
        "1",
    )

    assert turn.heard == [Heard("say", "Press 1.", "en-US", None)]
    assert turn.next is not None
    assert turn.next.url == "https://upm.example.test/twilio/voice/menu?turn=2"
    assert turn.next.method == "POST"
    assert turn.next.params == {"Digits": "1"}
    assert turn.ended is None
    assert phone.gathers[0].num_digits == 1
    assert phone.gathers[0].language == "en-US"


def test_gather_action_relative_to_document() -> None:
    turn, _ = play('<Response><Gather action="menu"/></Response>', "2")

    assert turn.next is not None
    assert turn.next.url == "https://upm.example.test/twilio/menu"


def test_gather_without_action_posts_to_document() -> None:
    turn, _ = play("<Response><Gather/></Response>", "2")

    assert turn.next is not None
    assert turn.next.url == DOCUMENT_URL


def test_gather_stops_at_finish_key() -> None:
    turn, _ = play('<Response><Gather action="/a"/></Response>', "100234567#99")

    assert turn.next is not None
    assert turn.next.params == {"Digits": "100234567", "FinishedOnKey": "#"}


def test_gather_keeps_num_digits_only() -> None:
    turn, _ = play('<Response><Gather action="/a" numDigits="1"/></Response>', "12")

    assert turn.next is not None
    assert turn.next.params == {"Digits": "1"}


def test_gather_silence_goes_to_next_verb() -> None:
    turn, _ = play(
        '<Response><Gather action="/a"><Say>Press 1.</Say></Gather>'
        '<Say>We did not hear you.</Say><Redirect method="POST">/twilio/voice?try=2'
        "</Redirect></Response>",
        "",
    )

    assert [line.text for line in turn.heard] == ["Press 1.", "We did not hear you."]
    assert turn.next is not None
    assert turn.next.url == "https://upm.example.test/twilio/voice?try=2"
    assert turn.next.params == {}


def test_gather_silence_posts_empty_digits() -> None:
    turn, _ = play(
        '<Response><Gather action="/a" actionOnEmptyResult="true"/><Say>never</Say></Response>',
        "",
    )

    assert turn.next is not None
    assert turn.next.url == "https://upm.example.test/a"
    assert turn.next.params == {"Digits": ""}
    assert turn.heard == []


def test_gather_speech_posts_speech_result() -> None:
    turn, _ = play(
        '<Response><Gather input="dtmf speech" action="/a"/></Response>', "say:100234567"
    )

    assert turn.next is not None
    assert turn.next.params == {"SpeechResult": "100234567", "Confidence": "0.92"}


def test_gather_ignores_speech_for_keys_only() -> None:
    turn, _ = play('<Response><Gather action="/a"/><Hangup/></Response>', "say:one")

    assert turn.next is None
    assert turn.ended == "hangup"


def test_gather_caller_hangs_up() -> None:
    turn, _ = play('<Response><Gather action="/a"/><Say>never</Say></Response>', "hangup")

    assert turn.ended == "caller hung up"
    assert turn.next is None


def test_redirect_with_get() -> None:
    turn, _ = play('<Response><Redirect method="GET">/twilio/voice/wait</Redirect></Response>')

    assert turn.next is not None
    assert turn.next.method == "GET"
    assert turn.next.url == "https://upm.example.test/twilio/voice/wait"


def test_dial_is_transfer() -> None:
    turn, _ = play(
        "<Response><Say>Connecting you.</Say><Dial><Number>+15125550100</Number></Dial>"
        "<Say>never</Say></Response>"
    )

    assert turn.heard[-1] == Heard("dial", "+15125550100")
    assert turn.ended == "transfer"
    assert turn.next is None


def test_pause_and_play_are_heard() -> None:
    turn, _ = play('<Response><Pause length="2"/><Play>https://x.test/a.mp3</Play></Response>')

    assert turn.heard == [Heard("pause", "2"), Heard("play", "https://x.test/a.mp3")]
    assert turn.ended == "end of document"


def test_unsupported_verb_ends_call() -> None:
    turn, _ = play("<Response><Enqueue>support</Enqueue></Response>")

    assert turn.ended == "unsupported <Enqueue>"


def test_not_twiml_is_rejected() -> None:
    with pytest.raises(TwimlError, match="not <Response>"):
        play("<html><body>oops</body></html>")
    with pytest.raises(TwimlError, match="not XML"):
        play("Internal Server Error")


PAY = (
    '<Response><Pay action="/twilio/voice/pay?turn=5" chargeAmount="84.12" '
    'paymentConnector="Stripe" description="Account 100000017" maxAttempts="{attempts}">'
    '<Prompt for="payment-card-number"><Say language="en-US">Enter your card number.</Say>'
    "</Prompt>"
    '<Prompt for="payment-card-number" errorType="invalid-card-number">'
    '<Say language="en-US">That card number is not valid.</Say></Prompt>'
    '<Prompt for="expiration-date"><Say language="en-US">Enter the expiry.</Say></Prompt>'
    '<Prompt for="payment-processing"><Say language="en-US">Please wait.</Say></Prompt>'
    '<Parameter name="account" value="100000017"/></Pay></Response>'
)


def test_pay_success_posts_masked_fields() -> None:
    connector = CannedConnector()
    turn, _ = play(PAY.format(attempts=1), VISA, connector=connector)

    assert turn.heard == [
        Heard("say", "Enter your card number.", "en-US", None),
        Heard("say", "Enter the expiry.", "en-US", None),
        Heard("note", "the caller keys 1230"),
        Heard("note", "the caller keys 123"),
        Heard("note", "the caller keys 78701"),
        Heard("say", "Please wait.", "en-US", None),
    ]
    prompt, card = connector.requests[0]
    assert prompt.charge_amount == Decimal("84.12")
    assert prompt.connector == "Stripe"
    assert prompt.parameters == {"account": "100000017"}
    assert card.number == VISA
    assert card.brand == "visa"
    assert turn.next is not None
    assert turn.next.url == "https://upm.example.test/twilio/voice/pay?turn=5"
    assert turn.next.params == {
        "PaymentMethod": "credit-card",
        "PaymentCardNumber": "xxxxxxxxxxxx4242",
        "PaymentCardType": "visa",
        "ExpirationDate": "1230",
        "PaymentCardPostalCode": "78701",
        "SecurityCode": "xxx",
        "Result": "success",
        "PaymentConfirmationCode": "ch_TEST0001",
    }
    assert VISA not in str(turn.next.params)


def test_pay_asks_again_after_invalid() -> None:
    connector = CannedConnector()
    # The first number fails the Luhn check (last digit changed).
    turn, phone = play(PAY.format(attempts=2), "4242424242424241", VISA, connector=connector)

    assert [line.text for line in turn.heard][:2] == [
        "Enter your card number.",
        "That card number is not valid.",
    ]
    assert [prompt.attempt for prompt in phone.pays] == [1, 2]
    assert len(connector.requests) == 1
    assert turn.next is not None
    assert turn.next.params["Result"] == "success"


def test_pay_too_many_failed_attempts() -> None:
    connector = CannedConnector()
    turn, _ = play(PAY.format(attempts=2), "", "1234", connector=connector)

    assert connector.requests == []
    assert turn.next is not None
    assert turn.next.params == {
        "PaymentMethod": "credit-card",
        "Result": "too-many-failed-attempts",
    }


def test_pay_rejects_unlisted_card_type() -> None:
    connector = CannedConnector()
    twiml = '<Response><Pay action="/p" chargeAmount="5" validCardTypes="visa"/></Response>'
    turn, _ = play(twiml, "5555555555554444", connector=connector)

    assert connector.requests == []
    assert turn.next is not None
    assert turn.next.params["Result"] == "too-many-failed-attempts"


def test_pay_star_cancels() -> None:
    connector = CannedConnector()
    turn, _ = play(PAY.format(attempts=1), "*", connector=connector)

    assert connector.requests == []
    assert turn.next is not None
    assert turn.next.params["Result"] == "caller-interrupted-with-star"
    assert turn.ended is None


def test_pay_hang_up_still_posts() -> None:
    turn, _ = play(PAY.format(attempts=1), "hangup")

    assert turn.next is not None
    assert turn.next.params["Result"] == "caller-hung-up"
    assert turn.ended == "caller hung up"


def test_pay_decline_is_connector_error() -> None:
    declined = ConnectorOutcome(error="Your card was declined.", error_code="card_declined")
    turn, _ = play(PAY.format(attempts=1), VISA, connector=CannedConnector(declined))

    assert turn.next is not None
    params = turn.next.params
    assert params["Result"] == "payment-connector-error"
    assert params["PaymentError"] == "Your card was declined."
    assert params["ConnectorError"] == "card_declined"
    assert params["PaymentCardNumber"] == "xxxxxxxxxxxx4242"
    assert "PaymentConfirmationCode" not in params


def test_pay_tokenize_returns_token() -> None:
    connector = CannedConnector(ConnectorOutcome(token="pm_TEST0001"))
    twiml = '<Response><Pay action="/p" chargeAmount="0" tokenType="payment-method"/></Response>'
    turn, _ = play(twiml, VISA, connector=connector)

    assert connector.requests[0][0].charge_amount == Decimal("0")
    assert connector.requests[0][0].token_type == "payment-method"
    assert turn.next is not None
    assert turn.next.params["PaymentToken"] == "pm_TEST0001"
    assert turn.heard[0] == Heard("note", "Twilio asks for the card number")


def test_pay_without_code_and_zip() -> None:
    twiml = (
        '<Response><Pay action="/p" chargeAmount="5" securityCode="false" postalCode="false"/>'
        "</Response>"
    )
    turn, _ = play(twiml, VISA)

    assert [line.text for line in turn.heard] == [
        "Twilio asks for the card number",
        "the caller keys 1230",
    ]
    assert turn.next is not None
    assert "SecurityCode" not in turn.next.params
    assert "PaymentCardPostalCode" not in turn.next.params
    assert turn.next.params["ExpirationDate"] == "1230"
