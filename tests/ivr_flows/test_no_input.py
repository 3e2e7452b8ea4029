"""No input and wrong keys: re-prompts with a counter, then a person or the office hours."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from tests.ivr_flows.conftest import PUBLIC_BASE_URL, Customer, Phone

MENU = (
    "For your balance and due date, press 1. To make a payment, press 2. "
    "To report a leak, no water, an outage or a meter problem, press 3. "
    "To ask for a payment arrangement, press 4. "
    "To speak with a member of our staff, press 0."
)
HOURS = (
    "Our office is open Monday through Friday, from 8:00 AM to 5:00 PM, except holidays. "
    "Please call again during office hours. Goodbye."
)


def attempt_of(url: str) -> int:
    return int(parse_qs(urlsplit(url).query)["a"][0])


def at_menu(phone: Phone) -> None:
    phone.call()
    phone.press("1")
    phone.press("1")


def test_silence_reprompts_with_counter(phone: Phone, customer: Customer) -> None:
    at_menu(phone)
    redirects = []
    for _ in range(2):
        redirect = phone.twiml.find("Redirect")
        assert redirect is not None
        redirects.append(str(redirect.text))
        phone.wait()
        assert phone.said() == f"Sorry, I did not get that. {MENU}"

    assert [urlsplit(url).path for url in redirects] == ["/twilio/voice/menu"] * 2
    assert [attempt_of(url) for url in redirects] == [2, 3]
    assert attempt_of(phone.gather().attrib["action"]) == 3


def test_third_silence_transfers_when_open(phone: Phone, customer: Customer) -> None:
    at_menu(phone)
    for _ in range(3):
        phone.wait()

    dial = phone.twiml.find("Dial")
    assert phone.said() == "Please hold while we connect you with a member of our staff."
    assert dial is not None and dial.text == "+15125550100"
    assert phone.twiml.find("Gather") is None


def test_third_silence_reads_hours_when_closed(
    phone: Phone, customer: Customer, office_closed: None
) -> None:
    at_menu(phone)
    for _ in range(3):
        phone.wait()

    assert phone.said() == HOURS
    assert [verb.tag for verb in phone.twiml] == ["Say", "Say", "Hangup"]


def test_empty_digits_reprompt(phone: Phone, customer: Customer) -> None:
    # What Twilio posts to the action when the Gather has actionOnEmptyResult="true".
    at_menu(phone)
    phone.press("")

    assert phone.said() == f"Sorry, I did not get that. {MENU}"
    assert attempt_of(phone.gather().attrib["action"]) == 2


def test_wrong_keys_count_like_silence(phone: Phone, customer: Customer) -> None:
    at_menu(phone)
    phone.press("7")
    phone.wait()
    phone.press("#")

    assert phone.said() == "Please hold while we connect you with a member of our staff."


def test_greeting_silence_ends_with_person(phone: Phone) -> None:
    phone.call()
    for _ in range(3):
        phone.wait()

    assert phone.twiml.find("Dial") is not None


@pytest.mark.parametrize(
    "keys",
    [
        ["1", "9"],  # the account number prompt
        ["1", "9", "100000017"],  # the ZIP code prompt
        ["1", "1", "2"],  # the pay menu
        ["1", "1", "2", "3"],  # the amount prompt
        ["1", "1", "3"],  # the problem menu
    ],
)
def test_every_prompt_ends_after_three(phone: Phone, customer: Customer, keys: list[str]) -> None:
    phone.call()
    for key in keys:
        phone.press(key)
    for _ in range(3):
        phone.wait()

    assert phone.twiml.find("Gather") is None
    assert phone.twiml.find("Dial") is not None


def test_forged_attempt_beyond_limit_ends_prompt(phone: Phone, customer: Customer) -> None:
    at_menu(phone)
    phone.post(f"{PUBLIC_BASE_URL}/twilio/voice/menu?v=99&a=50")

    assert phone.twiml.find("Gather") is None
    assert phone.twiml.find("Dial") is not None


def test_wrong_menu_key_named(phone: Phone, customer: Customer) -> None:
    at_menu(phone)
    phone.press("7")

    assert phone.said() == (
        f"Sorry, that key is not one of the choices. Please press one of these keys. {MENU}"
    )


def spoken(phone: Phone) -> list[tuple[str | None, str | None]]:
    """Return each ``<Say>`` of the last document as (language, text)."""
    return [(say.get("language"), say.text) for say in phone.twiml.iter("Say")]


def test_greeting_silence_reprompts_bilingual(phone: Phone) -> None:
    phone.call()
    phone.wait()

    assert spoken(phone) == [
        ("en-US", "Sorry, I did not get that."),
        ("es-MX", "Perdón, no le entendí."),
        ("en-US", "For English, press 1."),
        ("es-MX", "Para español, oprima 2."),
    ]


def test_greeting_wrong_key_bilingual(phone: Phone) -> None:
    phone.call()
    phone.press("5")

    assert spoken(phone)[:2] == [
        ("en-US", "Sorry, that key is not one of the choices. Please press one of these keys."),
        ("es-MX", "Perdón, esa tecla no es una de las opciones. Oprima una de estas teclas."),
    ]


def test_greeting_closed_hours_bilingual(phone: Phone, office_closed: None) -> None:
    phone.call()
    for _ in range(3):
        phone.wait()

    assert spoken(phone) == [
        (
            "en-US",
            "Our office is open Monday through Friday, from 8:00 AM to 5:00 PM, except holidays.",
        ),
        ("en-US", "Please call again during office hours. Goodbye."),
        (
            "es-MX",
            "Nuestra oficina está abierta de lunes a viernes, de 8:00 a.m. a 5:00 p.m., "
            "excepto los días festivos.",
        ),
        ("es-MX", "Llame de nuevo en horario de oficina. Adiós."),
    ]
    assert phone.twiml[-1].tag == "Hangup"


def test_greeting_transfer_bilingual(phone: Phone) -> None:
    phone.call()
    for _ in range(3):
        phone.wait()

    assert spoken(phone) == [
        ("en-US", "Please hold while we connect you with a member of our staff."),
        ("es-MX", "Espere en la línea mientras le comunicamos con un miembro de nuestro personal."),
    ]
