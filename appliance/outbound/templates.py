"""Every sentence a reminder call says, vetted here and nowhere else.

The disclosure comes first and is short (it is finished well within 10 s); it names the
clinic only. The patient is asked for by first name only, and nothing about the
appointment is said until the callee says that is them. The voicemail message carries no
PHI: the clinic's name and its call-back number, nothing about who or why.
"""

from __future__ import annotations

from datetime import datetime

from appliance.workflows.templates import when

YES_OR_NO = "Sorry, was that a yes or a no?"
GOODBYE = "Thank you. Goodbye."


def disclosure(clinic: str) -> str:
    return f"Hello. This is the automated assistant of {clinic}, with a reminder call."


def ask_for(first_name: str) -> str:
    return f"May I speak with {first_name}? Is that you?"


def details(clinic: str, start: datetime) -> str:
    return (
        f"You have an appointment with {clinic} on {when(start)}."
        " Will you be able to make it? Please say yes or no."
    )


def ask_cancel() -> str:
    return "Would you like me to cancel this appointment?"


def confirmed() -> str:
    return f"Thank you, your appointment is confirmed. {GOODBYE}"


def cancelled(callback: str) -> str:
    return (
        "Your appointment is cancelled. To book a new time,"
        f" please call us at {callback}. {GOODBYE}"
    )


def left_as_is(callback: str) -> str:
    return (
        "All right, I've left it as it is. If anything changes,"
        f" please call us at {callback}. {GOODBYE}"
    )


def front_desk(callback: str) -> str:
    """A move the reminder call cannot finish (the workflows would hand it to a person)."""
    return f"Our front desk will help you with that. Please call us at {callback}. {GOODBYE}"


def wrong_person(clinic: str, callback: str) -> str:
    return f"Sorry for the trouble. Please ask them to call {clinic} at {callback}. {GOODBYE}"


def no_reply(clinic: str, callback: str) -> str:
    return f"Sorry, I couldn't hear you. Please call {clinic} at {callback}. {GOODBYE}"


def opted_out() -> str:
    return (
        "Understood. We have taken your number off our reminder list,"
        f" and you will not get these calls from us again. {GOODBYE}"
    )


ANYTHING_ELSE = "Is there anything else I can help you with?"


def opted_out_inbound() -> str:
    """Said on an inbound call once the caller's number is off the list (not goodbye:
    the caller may have called about something else)."""
    return (
        "Understood. We have taken your number off our call list,"
        f" and we will not call you about reminders again. {ANYTHING_ELSE}"
    )


def opt_out_no_number() -> str:
    """Said on an inbound call with a withheld number: nothing could be listed."""
    return (
        "I'm sorry, I can't see the number you are calling from, so I can't take it off"
        f" our list on this call. Please ask the front desk to do it. {ANYTHING_ELSE}"
    )


def voicemail(clinic: str, callback: str) -> str:
    return (
        f"Hello, this is the automated assistant of {clinic}, with a message."
        f" Please call us back at {callback}. {GOODBYE}"
    )
