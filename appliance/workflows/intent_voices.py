"""More of what callers say, by concept (a fourth author's lines, lines_dev4.toml): a
need said of someone else ("he needs a sports physical"), being put down for a visit,
a visit that cannot be made asked for another time, a change of time within the day,
giving up on a visit ("won't bother"), a question about when someone is due, a miss
and its charge, a bill already paid, a third party calling about a patient, a message
for a doctor, and the weather or a misdial, which are not for the clinic. Merged into
the tables of appliance/workflows/intent_phrases.py; words as `wording.normal` writes
them.
"""

from __future__ import annotations

from appliance.llm.understanding import Intent

_TYPE = r"(?:physical|checkup|followup|consult\w*|sick visit|wellness)"
_KIND = rf"(?:{_TYPE}|appointment|visit)"
_WHO = r"(?:i|he|she|we|they|my \w+)"
VOICES: dict[Intent, list[tuple[str, float]]] = {
    Intent.BOOK: [
        (rf"\bneeds? (?:a|an|his|her|my|their)? ?(?:\w+ )?{_TYPE}", 2.5),  # a kind of visit
        (r"put (?:me|him|her|us|them) (?:down|in) for\b|(?:like|want|need) to come in\b", 3.0),
        (rf"(?:like|want|need) (?:my|his|her|a|an) (?:yearly|annual|regular|routine|sports"
         rf"|school) {_KIND}", 3.0),
        (r"(?:like|want|need) to see (?:the|a) \w+ (?:doctor|nurse)", 3.0),
        (r"anything (?:on )?\d+/\d+", 3.0),
    ],
    Intent.RESCHEDULE: [
        (r"(?:won't|can't|cannot|unable to|not) (?:be able to )?(?:make|come|attend)\b.{0,80}"
         r"\b(?:something|another|other|different|later|earlier|week after)\b", 3.0),
        (r"make (?:my|the|it|his|her) (?:\w+ )?(?:earlier|later)\b", 3.0),
        (r"\bmoved? (?:to|for) (?:the )?\d", 2.0),
    ],
    Intent.CANCEL: [
        (r"(?:won't|not going to|don't think (?:i'll|we'll|i will)) bother\b", 4.0),
    ],
    Intent.APPOINTMENT_STATUS: [
        (rf"what time {_WHO} (?:is |are |am )?(?:coming|due|booked|supposed)\b"
         rf"|what time (?:do|does) {_WHO} (?:need|have) to be (?:there|in)\b", 4.0),
        (rf"(?:just )?checking (?:that )?my {_KIND} is\b|(?:remember|recall) (?:making|booking)"
         r"|(?:text|message|call) about (?:a|an|my) appointment", 4.5),
    ],
    Intent.CLINIC_INFO: [
        (r"if (?:i|you|we|he|she) miss (?:my|an|the|a|his|her) (?:appointment|visit)", 4.5),
        (r"become (?:a )?patients?\b|what kind of (?:doctors?|services)|doctors? work there", 3.0),
    ],
    Intent.BILLING: [
        (r"\bpaid\b.{0,40}\b(?:notice|letter|bill|statement)|second notice|past due|overdue", 4.5),
    ],
    Intent.GOODBYE: [
        (r"have a (?:good|nice|great|lovely) (?:weekend|evening|night|afternoon)", 3.0),
    ],
    Intent.OTHER: [
        (r"dialled wrong|dialed wrong|what's the weather|weather (?:forecast|supposed|going)"
         r"|\bforecast\b", 6.0),
    ],
}  # fmt: skip
EMERGENCY = r"|don't want to be alive|chest (?:is |feels )?(?:really |very |so )?(?:tight|heavy)"
PERSON = (
    r"|(?:someone|somebody|anyone|anybody|a person) (?:there |else )?i (?:could|can) (?:talk"
    r"|speak)|calling about (?:one of )?your patients?|leave (?:a )?message for"
    r"|^(?:a )?(?:live|real) agent$"
)
NOT_A_MACHINE = r"|(?:don't|do not) like (?:these|this|the) (?:machines?|robots?|computers?)"
