"""Requests said without the usual words, by concept (misses on the unseen first runs of
lines_dev10 and lines_dev11: older callers and their aides, and callers at work): a
booking asked as "could the doctor see me", "bring him in", "set me up", "sign on with"; a
change asked as "move me to", "have to be moved", "another day", "a week later"; a cancel
as "cross me off", "strike off", "won't make friday"; a visit checked as "what time's my",
"have you got me down", "am i booked in", "on the books"; a charge questioned as billing; a
result asked about by the test's name; "a word with" a person; goodbyes of another age or
in a hurry; and calls meant for someone else (a wrong button, "is this the church").
Merged into the tables of appliance/workflows/intent_phrases.py; words as
`wording.normal` writes them.
"""

from __future__ import annotations

from appliance.llm.understanding import Intent
from appliance.scheduling.dates import MONTHS, WEEKDAYS
from appliance.workflows.intent_callers import VISIT

_DAYS = rf"(?:{'|'.join(WEEKDAYS)}|tomorrow|today|the \d+\w*|(?:{'|'.join(MONTHS)}) \w+)"
_WHO = r"(?:me|him|her|us|them|my \w+|our \w+)"
# a kind of visit, not "an appointment": "I need an appointment" stays a weak phrase (the
# model may weigh it where it is asked)
_KIND = r"(?:checkup|check up|physical|followup|follow up|consult\w*|sick visit|recheck)"
_TESTS = (
    r"(?:x ray|xray|scan|ekg|ecg|heart tracing|mri|ultrasound|mammogram|biopsy|blood work"
    r"|bloodwork|labs?|urine|sample|swab|culture|bone density)"
)

INDIRECT: dict[Intent, list[tuple[str, float]]] = {
    Intent.BOOK: [
        (rf"(?:could|can|would|will) (?:the [\w ]{{1,12}} doctor|doctor \w+|dr \w+|somebody"
         rf"|someone|anybody|anyone|you|she|he) (?:still )?see {_WHO}\b", 3.0),
        (rf"(?<!was going to )(?<!were going to )\bbring(?:ing)? (?:in )?{_WHO}"
         r"(?: [\w']+){0,3}? in\b|\bbring in (?:my|our|his|her)\b|\bset (?:me|him|her|us) up\b"
         r"|\bsign on with\b|(?<!did you )(?<!did they )(?<!you guys )\bput"
         r" (?:me|him|her|us|them|my \w+) (?:down |in )?for\b", 3.0),
        (r"\bneeds? (?:his|her|my|their|a) (?:\w+ ){0,2}(?:checked|looked at|seen to)\b"
         r"|\bcan (?:i|we) (?:book|come in|come) again\b", 3.5),
        (r"(?:should|could|can|to|ought to) (?:take a )?look at (?:her|him|me|them)\b"
         rf"|could (?:we|i) do (?:that|it|this) (?:on )?{_DAYS}", 3.0),
        (rf"can (?:i|we) do (?:a|an|my|the) (?:\w+ ){{0,2}}{VISIT}\b.{{0,40}}{_DAYS}"
         rf"|\blooking for (?:a|an) (?:\w+ )?{VISIT}"
         r"|(?:earliest|first available|next available) (?:thing|slot|one|time|appointment)"
         r"|(?:somebody|someone|anybody|anyone|a doctor|the doctor) (?:can|could) (?:still )?"
         rf"see {_WHO}\b", 3.0),
        (rf"(?<!do i )(?<!do we )(?<!does she )(?<!does he )(?<!no )\b(?:wants?|needs?)"
         rf" (?:her|his|my|their|a|an|the) (?:[\w']+ ){{0,3}}{_KIND}", 2.5),
    ],
    Intent.RESCHEDULE: [
        (r"\bneed it (?:earlier|later|sooner|moved)\b|\bbe moved to\b", 4.0),
        (rf"\b(?:moved|changed|switched|pushed) (?:from|to) (?:{_DAYS}|\d)"
         r"|(?:have|need|has|needs) to be moved|\bmove (?:me|him|her|us) to\b"
         r"|\bmy (?:appointment|visit) to be\b", 4.0),
        (r"(?:want|need|like|get|have) (?:another|a different|a new) (?:day|time|date)\b"
         r"|\b(?:a|one|the) (?:day|week) (?:later|earlier)\b"
         r"|\bcan i do\b.{0,40}\binstead\b(?! of)"
         rf"|(?:could|can|would) (?:you|we) make it (?:on )?{_DAYS}", 4.0),
    ],
    Intent.CANCEL: [
        (r"\bcross (?:me|him|her|us|them) off\b|\bstrike (?:off|out)\b"
         r"|\bstrike (?:[\w']+ ){1,3}off\b", 4.0),
        (rf"(?:won't|will not|can't|cannot) make (?:it )?(?:on )?{_DAYS}(?!.{{0,40}}\b(?:instead"
         r"|another|how about|can i|could i|can we))", 3.5),
    ],
    Intent.APPOINTMENT_STATUS: [
        (r"\b(?:went|go|gone) through\b"
         r"|^is it (?!possible)\b.{0,30}\bmy (?:appointment|visit|checkup)"
         r"|\bis it still (?:at|on|for)\b|\b(?:did|has) my (?:[\w']+ ){1,5}(?:get|been|got)"
         r" (?:moved|changed|cancel\w*)", 4.5),
        (r"what time(?:'s| is)? (?:my|his|her|our) |what time (?:i'm|am i) (?:to see|seeing"
         r"|due)|when am i due\b|(?:got|have) (?:me|him|her|us) down for|am i booked in"
         r"|booked in,? aren't i|checking (?:that |if )?i'm booked in|on the books"
         r"|what time did (?:they|you) say", 4.0),
        (r"(?:confirm|check) (?:my|his|her|the) (?:\d|one|two|three|four|five|six|seven|eight"
         r"|nine|ten|eleven|twelve)|just checking (?:if |that |whether )?i (?:got|have)\b"
         r"|make sure .{0,40}\b(?:still on|still happening|booked|scheduled)", 4.5),
    ],
    Intent.CLINIC_INFO: [
        (r"^is there (?:a |any )?(?:wifi|wi fi|bathroom|restroom|toilet|water|vending|cafe"
         r"|coffee|tv|changing table|play area)\b|^do (?:i|we) need to not eat\b", 4.0),
        (r"is there (?:somewhere|anywhere|a place) to\b|\bdo (?:your|the) doctors? (?:still )?"
         r"(?:do|make|offer|see)\b|house calls|does the (?:clinic|office|practice) (?:have"
         r"|do|offer)\b|\bdo (?:i|we) (?:need|have to have) an appointment (?:for|to)\b", 4.0),
        (r"(?:is there a|do you) (?:charge|fee) if (?:i|we) (?:can't|cannot|don't) (?:make it"
         r"|come|show)", 6.0),
    ],
    Intent.REFILL: [(r"\btop(?:ped)? up\b", 3.0)],
    Intent.BILLING: [
        (r"why (?:was|did|am|were|have) (?:i|we|you) (?:get |been |got )?charg"
         r"|why'd (?:i|we) get charged|charged (?:me )?(?:a|for a) (?:\w+ )?no show", 6.0),
    ],
    Intent.TEST_RESULTS: [
        (r"(?:look(?:ed)? at|phoned me back about|called me back about|heard about|news on)"
         rf" (?:my|the|his|her) (?:\w+ )?{_TESTS}", 4.0),
    ],
    Intent.SPEAK_TO_PERSON: [
        (r"\bhave a word with\b|^nurse please\b|\bask (?:a|the) nurse something\b", 4.0),
    ],
    Intent.GOODBYE: [
        (r"much obliged|good day to you|\b(?:gotta|got to) run\b|break'?s over"
         r"|(?:^|\b(?:ok|okay|alright|bye|cool|thanks|see you|catch you|talk to you|work)\b )"
         r"later$", 4.0),
    ],
    Intent.INFORM: [
        (r"^(?:whoever|whichever|whatever|anyone|anybody)\b.{0,25}\b(?:don't mind|is fine"
         r"|fine|works|first|earliest|soonest)\b", 3.0),
    ],
    Intent.OTHER: [
        (r"\bis this the (?!clinic|doctor|office|riverside|surgery|practice|nurse)\w+"
         r"|wrong button|pressed the wrong|(?:dialed|dialled|called|rang) (?:you )?by mistake"
         r"|drive (?:thru|through)|weather'?s? doing", 6.0),
    ],
}  # fmt: skip
