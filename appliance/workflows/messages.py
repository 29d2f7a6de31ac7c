"""After a failed transfer: tell the caller, offer a message or a callback, and take it.

Deterministic like the rest of the engine: the caller's words become the message body
and the digits they say become the callback number, as spoken (not checked against
any record). The engine stores nothing itself: the Decision carries the MessageDraft.
"""

from __future__ import annotations

import re

from appliance.domain import WorkflowAction
from appliance.workflows.answers import Answer, classify, without_yes
from appliance.workflows.state import ActionRecord, Decision, DialogueState, MessageDraft, Stage

TRANSFER_FAILED = {
    "busy": "I'm sorry, the front desk is busy right now.",
    "no_answer": "I'm sorry, nobody at the front desk could answer just now.",
    "timeout": "I'm sorry, nobody at the front desk could answer just now.",
}
CANNOT_CONNECT = "I'm sorry, I couldn't connect you to the front desk."
OFFER = "I can take a message and have someone call you back. Would you like to leave a message?"
ASK_MESSAGE = "Please tell me your message and the best number to call you back on."
ASK_NUMBER = "And what is the best number to call you back on?"
TAKEN = (
    "Thank you. I've passed your message to the front desk, and someone will call you back. "
    "Is there anything else I can help you with?"
)
NOT_TAKEN = "All right. Is there anything else I can help you with?"

_DIGIT_WORDS = {
    "zero": "0", "oh": "0", "o": "0", "one": "1", "two": "2", "three": "3", "four": "4",
    "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9",
}  # fmt: skip
_FILLER = {"dash", "-", "hyphen", "and"}
MIN_DIGITS = 7  # fewer digits are not a callback number
MIN_MESSAGE_WORDS = 4  # "yes, call me about my bill" already is a message


def failed(state: DialogueState, outcome: str) -> Decision:
    """The transfer did not reach a human: say so and offer a message."""
    state.stage, state.message_reason, state.message_body = Stage.OFFER_MESSAGE, outcome, ""
    state.actions.append(ActionRecord(WorkflowAction.OFFER_MESSAGE, outcome))
    return Decision(f"{TRANSFER_FAILED.get(outcome, CANNOT_CONNECT)} {OFFER}")


def step(state: DialogueState, text: str) -> Decision | None:
    """One caller turn while a message is being taken; None when not understood."""
    if state.stage == Stage.OFFER_MESSAGE:
        return _offer(state, text)
    if state.stage == Stage.TAKE_MESSAGE:
        number = phone_number(text)
        if number is None:
            state.message_body, state.stage = text.strip(), Stage.TAKE_NUMBER
            return Decision(ASK_NUMBER)
        return _taken(state, text.strip(), number)
    body = state.message_body  # TAKE_NUMBER
    if classify(text) == Answer.NO and phone_number(text) is None:
        return _taken(state, body, None)  # no number: a message only
    return _taken(state, body, phone_number(text) or text.strip()[:40])


def _offer(state: DialogueState, text: str) -> Decision | None:
    answer = classify(text)
    if answer == Answer.NO:
        state.actions.append(ActionRecord(WorkflowAction.TAKE_MESSAGE, "declined"))
        state.reset_task()
        return Decision(NOT_TAKEN)
    rest = without_yes(text)
    if len(re.findall(r"[a-z0-9']+", rest)) >= MIN_MESSAGE_WORDS or phone_number(text):
        state.stage = Stage.TAKE_MESSAGE  # they started dictating straight away
        return step(state, text)
    if answer == Answer.YES:
        state.stage = Stage.TAKE_MESSAGE
        return Decision(ASK_MESSAGE)
    return None


def _taken(state: DialogueState, body: str, number: str | None) -> Decision:
    draft = MessageDraft(state.message_reason or "failed", number, body[:2000])
    state.actions.append(ActionRecord(WorkflowAction.TAKE_MESSAGE, "ok"))
    state.reset_task()
    return Decision(TAKEN, message=draft)


def phone_number(text: str) -> str | None:
    """The longest run of spoken digits ("555 0142", "five five five, oh one...")."""
    best, run = "", ""
    for token in re.findall(r"[A-Za-z]+|\d+|-", text.lower()):
        if token.isdigit():
            run += token
        elif token in _DIGIT_WORDS:
            run += _DIGIT_WORDS[token]
        elif token in _FILLER:
            continue
        else:
            best, run = max(best, run, key=len), ""
    best = max(best, run, key=len)
    return best if len(best) >= MIN_DIGITS else None
