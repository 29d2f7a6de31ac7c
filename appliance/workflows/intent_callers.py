"""More of what callers say, by concept (a third author's lines, lines_dev3.toml): a
question about a booking already made, a new day asked for after the old one "won't
work", a request to be seen said as a need, news of a test, more of a medicine, a third
party on the line, and calls that are not for the clinic at all (a wrong number, a
sale), which are `other` however many clinic words they carry. Merged into the tables
of appliance/workflows/intent_phrases.py; words as `wording.normal` writes them.
"""

from __future__ import annotations

from appliance.llm.understanding import Intent

# what callers call a visit (intent_asks.py uses it too)
VISIT = r"(?:appointment|visit|booking|checkup|physical|followup|consult\w*|sick visit)"
_DAYISH = r"(?:the \d+\w*|monday|tuesday|wednesday|thursday|friday|saturday|sunday|tomorrow)"
_TESTED = (
    r"(?:scan|sample|specimen|test|tests|labs?|x ray|xray|biopsy|results?|bloodwork|blood work"
    r"|mri|ultrasound|mammogram|culture|swab|ekg|ecg)"
)
CALLERS: dict[Intent, list[tuple[str, float]]] = {
    Intent.BOOK: [
        (r"(?:could|can|to|would like to|i'd like to) be seen|(?:need|want|like|have) to see"
         r" (?:someone|somebody|a doctor|a nurse|the doctor)", 3.0),
        (r"(?:is|are) (?:doctor \w+|anyone|someone|somebody|a doctor) (?:free|available)\b"
         r"|any chance (?:of|for|on)\b|have (?:any|some) time (?:with|on|for)\b", 3.0),
        (r"get (?:my|his|her|a|the) (?:\w+ ){0,3}(?:done|sorted)\b", 2.0),
        (rf"(?:can|could) (?:we|i) (?:do|have|get) {_DAYISH}", 2.0),
    ],
    Intent.RESCHEDULE: [
        (rf"(?:my|his|her|our|\w+'s) {VISIT} (?:is|was|on|at)\b.{{0,100}}"
         rf"\b(?:instead|rather|(?:can|could) (?:i|we) (?:do|come|have|make))\b", 3.0),
        (r"(?:isn't|is not|doesn't|won't|not) (?:gonna |going to )?work"
         r".{0,40}(?:can|could) (?:i|we|you) (?:do|have|make)|supposed to (?:see|come|be)\b"
         r".{0,100}\b(?:can|could) (?:i|we) (?:do|come|have)\b", 4.5),
        (r"(?:mixed|got) (?:the|my) dates?\b|\bre ?book\b", 3.0),
    ],
    Intent.CANCEL: [
        (r"(?:don't|do not|won't|no longer) (?:\w+ ){0,3}need(?:ing)? (?:it|that|this|them"
         rf"|my \w+|the \w+|(?:my|the|that) {VISIT})\b.{{0,40}}\b(?:anymore|any more)\b"
         r"|(?:don't|do not) need it anymore|forget about", 4.0),
    ],
    Intent.APPOINTMENT_STATUS: [
        (r"(?:still|am i|i'm) (?:booked|down|scheduled)(?: in)? (?:for|with|on)\b|make sure i'm"
         r"|am i down for|no idea when"
         r"|(?:can't|cannot|don't) remember (?:if|whether|when|what time|what day)"
         r"|what time i (?:need|have) to be there|did you get my (?:booking|appointment)"
         r"|(?:did|has) my (?:booking|appointment) go through", 4.0),
        (r"i'm supposed to (?:come|be) in\b", 3.0),
        (r"what (?:day|time|date) (?:did|have) (?:i|we|you) (?:book|booked)\b", 8.0),  # past
    ],
    Intent.CLINIC_INFO: [
        (r"pay for parking|parking (?:fee|cost|charge)|where (?:exactly |abouts )?are you"
         r"|whereabouts", 4.0),
        (r"instead of (?:coming|driving|going) in|rather than (?:coming|driving|going) in", 4.0),
        (r"presidents day|martin luther king|\bmlk\b|juneteenth|independence day", 2.5),
        (r"middle of the night|(?:who|what) do i (?:call|do) if", 2.5),
    ],
    Intent.REFILL: [
        (r"more of (?:my|the|his|her|that|this) \w+|epi ?pen|\bcream\b|\bointment\b"
         r"|(?:script|prescription|inhaler|pen) (?:has )?expired|call(?:ed)? it in", 3.0),
    ],
    Intent.BILLING: [
        (r"claim\b.{0,30}\b(?:denied|rejected|declined)|(?:denied|rejected) (?:the |my )?claim"
         r"|card (?:you have )?on file|account shows|refunded", 4.0),
    ],
    Intent.TEST_RESULTS: [
        (rf"(?:news|word|update|hear\w*|heard)(?: anything)?(?: back)? (?:on|about|from)"
         rf" (?:my|the|his|her) (?:\w+ ){{0,2}}{_TESTED}\b", 3.5),
        (r"what (?:my|his|her) (?:cholesterol|a1c|sugar|iron|thyroid|levels?|numbers?|count)"
         r" (?:was|were|is|are)\b", 3.5),
        (r"\bsample\b|specimen|\bscan\b", 1.0),
    ],
    Intent.GOODBYE: [
        (r"you've been (?:\w+ )?(?:helpful|a (?:\w+ )?help)|thanks? (?:you )?(?:so much )?for"
         r" (?:your|the|all the) help|let you go|take care\b", 2.5),
    ],
    Intent.OTHER: [
        (r"wrong number|dialed (?:the )?wrong|misdial|^is this (?:the )?(?!riverside(?: family)?"
         r" clinic)[\w' ]{2,30}(?:pharmacy|dentist|dental|hospital|office|store)\??$", 6.0),
        (r"advertis|interested in (?:a|our)\b|business directory|special offer", 6.0),
    ],
}  # fmt: skip
EMERGENCY = (
    r"|took (?:a bunch|a handful|heaps|loads|lots|a load) of|not respond\w*|isn't responding"
    r"|won't respond|ending it\b|ending my life|thoughts (?:of|about) (?:suicide|dying|ending"
    r"|killing)"
)
PERSON = (
    r"|customer service|(?:nurse|someone|somebody|person|human|anyone) i (?:could|can) (?:talk"
    r"|speak)|(?:somebody|someone|anyone|anybody) (?:please )?(?:pick up|answer)\b"
    r"|(?:this is|calling from) (?:the )?(?:\w+ )?(?:pharmacy|pharmacist)\b"
    r"|pharmacy (?:at|from) \w+ calling|calling from (?:the )?(?:\w+ )?(?:nursing home"
    r"|insurance company|care home)"
)
