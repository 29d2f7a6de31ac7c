"""Everything the workflows say. Slots, times and providers come only from the backend."""

from __future__ import annotations

from datetime import datetime

ASK_IDENTITY = "To look that up, may I have your full name and date of birth?"
ASK_FULL_NAME = "Thank you. And your full name, please, first and last?"
ASK_BIRTH_DATE = "Thank you. And your date of birth?"
ASK_IDENTITY_AGAIN = "Sorry, I didn't catch that. What is your full name and date of birth?"
BACK_TO_IT = "Now, back to your request."
# until identity is complete, the same words whether or not such a patient exists
IDENTITY_AGAIN = (
    "Thank you. I'm sorry, I could not verify that. "
    "Could you tell me your full name and date of birth once more?"
)
IDENTITY_NOT_VERIFIED = (
    "I'm sorry, I could not verify your identity. Let me connect you with our front desk."
)
IDENTITY_LOCKED = "For your security, our front desk will help you with that. Let me connect you."
YES_OR_NO = "Sorry, was that a yes or a no?"
ASK_DAY = "What day would suit you?"
SLOT_TAKEN = "I'm sorry, that time was just taken. What other day would suit you?"
NO_SLOTS = "I'm sorry, I don't see any openings then. Would another day work?"
ASK_WHICH_SLOT = "Which of those would you like?"
NOT_UNDERSTOOD = "Sorry, I didn't quite get that. Could you say it another way?"
NO_APPOINTMENTS = "I don't see any upcoming appointments for you."
ANYTHING_ELSE = "Is there anything else I can help you with?"
OK_NOT_BOOKED = "All right, I haven't booked anything."
LEFT_AS_IT_IS = "All right, I've left it as it is."
EMERGENCY = (
    "If this is a medical emergency, please hang up now and dial {number}. "
    "I'm flagging this call for our staff."
)
TRANSFER = "Let me connect you with our front desk. One moment please."
HIGH_RISK = "Our staff can help you with that. Let me connect you with the front desk."
NO_INFO = "I'm sorry, I don't have that information. Would you like to speak with the front desk?"
GOODBYE = "Thank you for calling. Goodbye."


def when(moment: datetime) -> str:
    """'Tuesday, December 1 at 10:30 AM' in the clinic's time zone."""
    hour = moment.strftime("%I").lstrip("0")
    return f"{moment:%A, %B} {moment.day} at {hour}:{moment:%M %p}"


def offer(options: list[tuple[datetime, str]]) -> str:
    parts = [f"{when(start)} with {provider}" for start, provider in options]
    listing = parts[0] if len(parts) == 1 else ", or ".join([", ".join(parts[:-1]), parts[-1]])
    return f"I have {listing}. {ASK_WHICH_SLOT}"


def confirm_booking(start: datetime, provider: str) -> str:
    return f"To confirm: {when(start)} with {provider}. Shall I book it?"


def booked(start: datetime, provider: str) -> str:
    return f"You're booked for {when(start)} with {provider}. {ANYTHING_ELSE}"


def confirm_cancel(start: datetime, provider: str) -> str:
    return f"You have {when(start)} with {provider}. Shall I cancel it?"


def cancelled(start: datetime) -> str:
    return f"Your appointment on {when(start)} is cancelled. {ANYTHING_ELSE}"


def moved(start: datetime, provider: str) -> str:
    return f"Done. Your appointment is now {when(start)} with {provider}. {ANYTHING_ELSE}"


def next_appointment(start: datetime, provider: str) -> str:
    return f"Your next appointment is {when(start)} with {provider}. {ANYTHING_ELSE}"
