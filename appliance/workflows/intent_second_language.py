"""Requests in the English of callers whose first language is another (concepts from the
unseen first run of lines_dev13): articles and verb endings left out ("i want appointment",
"my husband need the doctor"), another language's word order ("change please the date",
"what hour you open"), a word of it ("cita", "consulta", "annul"), questions asked with a
tag ("is confirm or no?", "is not changed?"), and dangers said plainly ("the arm no move",
"she don't answer me", "the blood is coming very much"). Merged into the tables of
appliance/workflows/intent_phrases.py; words as `wording.normal` writes them.
"""

from __future__ import annotations

from appliance.llm.understanding import Intent
from appliance.scheduling.dates import WEEKDAYS

_DAYS = rf"(?:{'|'.join(WEEKDAYS)}|tomorrow|today|the day after tomorrow)"
_APPT = r"(?:appointment|cita|consulta|visit|check ?up|physical|follow ?up|consultation)"
_WHO = r"(?:i|we|he|she|my \w+|my \w+ \w+)"

SECOND_LANGUAGE: dict[Intent, list[tuple[str, float]]] = {
    Intent.BOOK: [
        # without an article ("i want appointment", "quiero una cita"): "I need an
        # appointment" stays a weak phrase, for the model to weigh where it is asked
        (r"(?<!do i )(?<!do we )(?<!no )\b(?:want|need|quiero|necesito) (?:appointment|cita"
         r"|consulta|una cita|una consulta|un turno|(?:an? |the )(?:check ?up|physical|follow ?up"
         r"|consult\w*|video visit|visit))\b(?! (?:moved|changed|cancel\w*|reschedul\w*))"
         r"|\bneeds? (?:the|a) doctor\b|\bneed to record\b", 3.0),
        (rf"^(?!.*\binstead\b).*(?:\bcan (?:i|we|she|he) come (?:in )?(?:{_DAYS}|on|this|next"
         rf"|at|the|in the)\b|\b(?:i|we) (?:can )?come (?:on )?{_DAYS}\b)", 3.0),
    ],
    Intent.RESCHEDULE: [
        (rf"\b(?:change|move|pass)\b.{{0,40}}\b(?:for|to) (?:the )?(?:{_DAYS}|afternoon"
         r"|morning|evening|another|other)\b"
         r"|(?<!the )\b(?:other|another) (?:date|day|hour|doctor)\b"
         r"|\bchange (?:please )?the (?:date|day|hour|time)\b|\bcan change\b", 3.5),
        (r"\b(?:from|for) (?:the )?(?:morning|afternoon) to (?:the )?(?:morning|afternoon)\b"
         r"|\bcan come \w+ same (?:hour|time)\b|\bgive me later\b", 5.0),
    ],
    Intent.CANCEL: [
        (rf"\bannul\b|\bno need (?:the|my|this) {_APPT}", 4.5),
    ],
    Intent.APPOINTMENT_STATUS: [
        (rf"\bis confirm(?:ed)? or\b|\bstill for the\b|\bcheck (?:for me )?if (?:i|we) have"
         rf"|\bis not changed\b|\b(?:i|we) want to be sure\b|\bis (?:for|this for) me\b"
         rf"|\bdo (?:i|we) have (?:something|anything) (?:with|on|in|for)\b"
         rf"|\b(?:have|is) (?:the |my )?{_APPT}\b.{{0,30}}\byes\b(?! please)", 4.0),
    ],
    Intent.CLINIC_INFO: [
        (r"\bwhat hour (?:you|do you|does the clinic|the clinic) (?:open|close)"
         r"|\b(?:you|you are|are you) open (?:the|on|for)\b|\bwithout eat(?:ing)?\b"
         r"|\bpapers? (?:i|we) (?:need|must|have to) bring|\bby the video\b"
         r"|\bpossible\b.{0,40}\bby video\b"
         r"|\byou have (?:a |the )?\w+ in the clinic\b|\bhow much cost\b"
         r"|\byou do the (?:x ray|xray|ultrasound|blood|lab|analysis)\b", 5.0),
    ],
}  # fmt: skip

# dangers said plainly: a face falling to one side, an arm that does not move, someone
# shaking on the floor or not answering, a child who ate someone's pills, heavy bleeding
# after a birth, lips going big or a throat closing
EMERGENCY = (
    r"|face (?:is )?(?:falling|fall|going down)(?: (?:to |on )?one side)?"
    r"|(?:arm|leg|side) (?:no|not|won't|can't|doesn't|does not|cannot) (?:move|moving)"
    r"|can(?:'t|not) (?:talk|speak) (?:good|right|properly|well)\b"
    r"|(?:shaking|jerking) on the (?:floor|ground)"
    r"|(?:he|she|they) (?:don't|doesn't|do not|does not) (?:answer|wake|respond)"
    r"|\b(?:eat|ate|eaten|drank|drink|drinks)\b (?:\w+ ){0,3}(?:pills|tablets|medicine|bleach)"
    r"|blood (?:is )?coming (?:very much|a lot|so much|too much)|\bpads? (?:in|an|per|every)"
    r" (?:one )?hour|soak(?:ing|ed|s)? (?:through )?(?:a |the )?pads?"
    r"|lips? (?:is |are )?(?:going|getting) big|throat (?:is |feels )?(?:close|closed)\b"
)
