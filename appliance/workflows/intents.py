"""What the caller asks for, read by rules: fast (well under a millisecond a line), the
same every time, and explainable line by line.

Each intent has phrase patterns with weights; a phrase with a negation just before it
("I don't need to cancel") counts for nothing. Emergencies and a wish for a person are
read first and always win: in a regulated setting a prompt is not a control. Among the
rest the highest score wins; `margin` says how clear the win was, so the understander
can ask the LLM when the rules are unsure. A line with no request in it but with
details (a name, a date, a yes) is `inform`: the caller is answering.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from appliance.llm.understanding import Intent
from appliance.workflows.wording import normal

_NEG = (
    r"(?:don't|do not|didn't|did not|doesn't|not|never|no need to|no longer want to"
    r"|won't|without|isn't|rather not)"
)
# a negation reaches at most three words ahead, and never past "just", "but", "instead"
_NEGATED = re.compile(
    rf"\b{_NEG}(?:\s+(?!just\b|but\b|instead\b|rather\b|only\b)[\w']+){{0,3}}\s*$"
)
_EMERGENCY = (
    r"chest (?:pain|pains|pressure|tightness|hurts)|crushing|heart attack|my heart is racing"
    r"|can't breathe|cannot breathe|can not breathe|not breathing|stopped breathing"
    r"|(?:trouble|difficulty|hard time|struggling) breathing|short of breath|gasping"
    r"|choking|stroke|face (?:is )?droop|slurr|one side (?:of (?:my|his|her) (?:body|face) )?"
    r"(?:is )?(?:numb|weak)|arm (?:is |went |feels )?numb|numb (?:left |right )?arm"
    r"|passed out|unconscious|unresponsive|won't wake|not waking|fainted|collapsed"
    r"|seizure|convuls|bleeding (?:a lot|heavily|badly|won't stop|that won't stop)"
    r"|won't stop bleeding|lot of blood|coughing up blood|vomiting blood|throwing up blood"
    r"|overdos|too many pills|poison|suicid|kill myself|end my life|hurt myself"
    r"|want to die|severe allergic|allergic reaction|anaphyla|throat (?:is )?(?:swelling|closing)"
    r"|lips (?:are )?swelling|worst headache|head injury|hit (?:my|his|her) head"
    r"|pressure in (?:my|his|her|the) chest|pain in (?:my|his|her|the) chest"
    r"|chest (?:has been |is |keeps )?(?:hurting|hurts|tight)|my chest hurts|swallowed"
    r"|don't want to live|can't move (?:my|his|her) (?:right |left )?(?:side|arm|leg|face)"
    r"|sudden(?:ly)? (?:really |very )?(?:confused|numb|weak|can't see|blind)"
    r"|can't feel (?:my|his|her) (?:arm|leg|face|side)|blue lips|turning blue"
    r"|can't catch (?:my|his|her) breath|can't get (?:my|his|her) breath"
)
_PERSON = (
    r"real person|live person|actual person|a human|human being|talk to a person"
    r"|speak (?:to|with) (?:a |an )?(?:person|someone|somebody|anyone|staff|nurse|the nurse"
    r"|receptionist|representative|operator|human|agent|real|live|actual)"
    r"|talk (?:to|with) (?:a |an )?(?:person|someone|somebody|anyone|staff|nurse|the nurse"
    r"|receptionist|representative|operator|human|agent|real|live|actual)"
    r"|front desk|receptionist|operator|representative|transfer me|connect me|put me through"
    r"|not a (?:robot|machine|computer)|rather (?:talk|speak)|(?:a|the) real one"
    r"|get me (?:a|someone|somebody)|somebody in the office|someone in the office"
    r"|speak to (?:the )?(?:office|doctor's office|staff)|human please|agent please"
    r"|(?:talk|speak) (?:to|with) (?:doctor|dr|nurse) \w+ (?:directly|himself|herself|please)"
    r"|(?:someone|somebody|anyone|anybody) (?:there )?(?:i can|to) (?:talk|speak)"
    r"|^(?:agent|operator|representative|person|human|receptionist)$|^(?:zero ?)+$"
    r"|^(?:press|dial)? ?(?:zero|0)+$"
)
# said with a negation on purpose: "I don't want to talk to a machine" wants a person
_NOT_A_MACHINE = re.compile(
    r"(?:talk|speak|deal)(?: to| with)? (?:a |an |this |the )?(?:machine|robot|computer|bot"
    r"|automated|recording)|(?:no|not) (?:more )?(?:machines?|robots?|computers?)"
)
_TABLE: dict[Intent, list[tuple[str, float]]] = {
    Intent.BOOK: [
        (r"\bbook\b|booking", 2.0), (r"make (?:an|a|another|a new)? ?appointment", 2.5),
        (r"(?:set|get) (?:me )?up (?:with )?(?:an|a)? ?appointment", 2.5),
        (r"\bschedule (?:an|a|me|my|another|some)\b", 2.0), (r"new appointment", 2.5),
        (r"(?:see|seen by) (?:a|the|my) (?:doctor|provider|physician|dermatologist"
         r"|pediatrician|nurse practitioner)", 2.0), (r"\bsee doctor\b", 2.0),
        (r"get in (?:to see|with)|come in (?:for|to see)|squeeze me in|fit me in", 2.0),
        (r"(?:need|want|like|get|schedule|due for|book|make|set up) (?:a|an|my)? ?(?:annual )?"
         r"(?:physical|checkup|consultation|followup|sick visit|wellness)", 2.0),
        (r"first available|earliest (?:available|appointment)|any openings"
         r"|availability|available (?:appointment|time|slot)", 1.5),
        (r"\bappointment\b", 0.6), (r"\bschedule\b", 0.8), (r"\bvisit\b", 0.5),
        (r"anything (?:open|available)|any (?:\w+ )?(?:openings|appointments|availability"
         r"|slots)|an appointment (?:available|open)", 4.5),
        (r"set up (?:my|a|an|the) (?:\w+ )?(?:appointment|visit)|squeez|get (?:seen|in)\b"
         r"|bring (?:my|him|her|them|\w+) (?:\w+ )?in\b", 3.0),
    ],
    Intent.RESCHEDULE: [
        (r"reschedul", 3.0), (r"\bmov(?:e|ing) (?:my|the|it|our|that|this|his|her)\b", 3.0),
        (r"cancel\w* .{0,40}(?:make|book|schedule|set up|get) (?:a new|another|new) one", 5.0),
        (r"come in (?:later|earlier|another|a different)|\binstead\b", 1.5),
        (r"\bpush (?:it|my|the)?\s*(?:appointment )?back\b", 3.0), (r"postpone", 3.0),
        (r"change (?:my|the|our|his|her) (?:appointment|time|day|date|visit)", 3.0),
        (r"(?:different|another|other|later|earlier|new) (?:day|time|date)", 2.0),
        (r"can't make (?:it|my|the)|won't make (?:it|my)", 1.5), (r"\bswitch\b", 1.5),
        (r"\bbump\b", 1.5),
    ],
    Intent.CANCEL: [
        (r"\bcancel(?!lation)", 3.5), (r"call (?:it )?off", 2.5), (r"\bscratch\b", 3.0),
        (r"won't be (?:coming|able to come)", 2.0),
        (r"take (?:me|it|us|him|her) off the (?:schedule|books|calendar)", 4.0),
        (r"(?:not going to|won't|don't|no longer|not) need (?:that|the|my|this|our)"
         r" (?:appointment|visit)", 4.0),
        (r"(?:drop|remove|delete) (?:my|the) appointment", 3.0),
        (r"(?:no longer|don't) need (?:my|the|that) appointment", 3.0),
    ],
    Intent.APPOINTMENT_STATUS: [
        (r"when(?:'s| is| was) (?:my|the|his|her|our) (?:\w+'s )?(?:next )?(?:appointment|visit)"
         r"|when (?:my|his|her|our) (?:\w+'s )?(?:next )?(?:appointment|visit) is", 3.5),
        (r"what (?:time|day|date) is my (?:next )?(?:appointment|visit)", 3.5),
        (r"do i (?:have|still have) an? (?:appointment|visit)", 3.5),
        (r"(?:confirm|check on|check|verify|double check) (?:my|the) (?:appointment|visit)", 3.0),
        (r"is my (?:appointment|visit) (?:still|on|at|for|confirmed)", 3.0),
        (r"(?:forgot|remind me) (?:when|what time)", 3.0), (r"my next appointment", 2.0),
        (r"what time (?:is )?my (?:appointment|visit)|what time my (?:appointment|visit)", 3.5),
        (r"(?:do|if|whether) i have (?:anything|something|an appointment) (?:scheduled|booked"
         r"|coming up|on)", 3.5), (r"(?:who|what doctor|which doctor) am i seeing", 3.5),
        (r"(?:don't|can't) remember (?:the|what|when|which)|i booked something", 3.0),
        (r"(?:check|see|know) (?:whether|if) (?:my|the) \w+ (?:is|was) (?:booked|scheduled)"
         r"|am i (?:booked|scheduled)|is (?:it|my \w+) (?:still )?(?:booked|scheduled)", 3.5),
        (r"am i supposed to (?:come|be)|when (?:am i|do i) (?:supposed|need) to come", 3.5),
    ],
    Intent.CLINIC_INFO: [
        (r"\bhours\b|what time do you (?:open|close)|are you open|when do you (?:open|close)"
         r"|\bopen (?:on|at|until|till|today|tomorrow|saturday|sunday)|close (?:on|at)"
         r"|closed (?:on|for)", 2.5),
        (r"\bpark\b|parking|garage", 2.5), (r"address|located|location|where are you"
         r"|where is the (?:clinic|office)|directions|how do i get|\bbus\b|\btrain\b", 2.5),
        (r"insurance|\bmedicare\b|\bmedicaid\b|\baetna\b|blue cross|cigna|united ?health"
         r"|do you (?:take|accept)", 2.0),
        (r"holiday|christmas|thanksgiving|new year|labor day|memorial day|fourth of july", 2.0),
        (r"new patients?|accepting patients", 2.0),
        (r"\bfast(?:ing)?\b|\beat (?:before|breakfast|anything|something)|before (?:my|the|a)"
         r" (?:blood work|bloodwork|lab|labs|blood test|physical)", 4.0),
        (r"cancellation (?:policy|fee)|late fee|no show|fee (?:if|for)|cancel late"
         r"|late cancel", 4.0), (r"\bbring\b", 2.5), (r"\bonline\b", 3.0),
        (r"do you (?:guys |all )?(?:do|offer|have|provide|see)\b", 1.5), (r"after hours|nurse line"
         r"|at night|on the weekend", 1.5), (r"\bforms?\b|what (?:do i|should i) bring"
         r"|how early|arrive early", 2.0), (r"telehealth|video (?:visit|call|appointment)"
         r"|virtual|online visit|\bvideo\b|from home", 2.5),
        (r"interpreter|translator|spanish|speak (?:other )?languages", 2.0),
        (r"wheelchair|accessib|elevator|ramp", 2.0),
        (r"flu shot|flu vaccine|vaccin|covid shot|booster", 1.5),
        (r"medical records|my records|copy of my (?:records|chart)", 1.5),
        (r"fax|phone number|email", 1.0),
    ],
    Intent.REFILL: [
        (r"refill|prescription|renew (?:my )?(?:med|script|prescription)|\bscript\b", 3.0),
        (r"medication|medicine|\bpills?\b|pharmacy|inhaler|insulin", 2.0),
        (r"run(?:ning)? out of|ran out of|out of my", 2.0),
        (r"\b\w{3,}(?:pril|sartan|statin|olol|formin|pine|zole|cillin|mycin|prazole|oxetine"
         r"|aline|azepam|thyroxine|profen)\b", 2.0),
    ],
    Intent.BILLING: [
        (r"\bbill\b|bills|billing|billed|invoice|statement|\bcharged?\b|charges|copay|co pay", 3.0),
        (r"\bcost\b|how much (?:is|does|do|will)|\bprice\b|self pay|out of pocket", 3.0),
        (r"\bpay\b|paying|payment|balance|\bowe\b|refund|deductible|credit card|debit card"
         r"|collections|overcharged", 2.5),
        (r"insurance (?:claim|denied|didn't pay)|claim", 1.5),
    ],
    Intent.TEST_RESULTS: [
        (r"results?\b", 3.0), (r"lab work|labs\b|blood work|bloodwork|blood tests?", 1.0),
        (r"(?:tests?|labs?|work|x rays?|scan|biopsy) (?:came |come |are |is )?back", 3.0),
        (r"x ray|xray|\bmri\b|ct scan|ultrasound|biopsy|mammogram|pathology"
         r"|cholesterol (?:numbers|levels)|urine test|culture", 1.0),
    ],
    Intent.GOODBYE: [
        (r"good ?bye|\bbye\b|that's all|that's it|that is all|nothing else|i'm all set"
         r"|all set|have a (?:good|nice|great) (?:day|one)|talk to you later|i'm done", 2.5),
        (r"no thank you|no thanks|that'll be all|that will be all", 1.5),
    ],
}  # fmt: skip
_COMPILED = {intent: [(re.compile(p), w) for p, w in rows] for intent, rows in _TABLE.items()}
_EMERGENCY_RE, _PERSON_RE = re.compile(_EMERGENCY), re.compile(_PERSON)
SAFETY_WEIGHT = 10.0
SAFE = (Intent.EMERGENCY, Intent.SPEAK_TO_PERSON)


@dataclass(frozen=True, slots=True)
class Reading:
    """The rules' reading of one line: the intent, its score and how clear it was."""

    intent: Intent
    score: float  # the winner's summed weights (0: no request heard)
    margin: float  # winner minus runner-up
    runner_up: Intent | None
    text: str  # the normalised words


_OVER = re.compile(r"^\s*(?:is |has |was |had )?(?:gone|went away|better|resolved|over|passed)")
TASKS = (Intent.BOOK, Intent.RESCHEDULE, Intent.CANCEL, Intent.APPOINTMENT_STATUS,
         Intent.REFILL, Intent.BILLING, Intent.TEST_RESULTS)  # fmt: skip


def _unnegated(pattern: re.Pattern[str], text: str) -> bool:
    """Whether `pattern` occurs somewhere in `text` without a negation just before it."""
    return _first(pattern, text) is not None


def _first(pattern: re.Pattern[str], text: str) -> int | None:
    """Where `pattern` first occurs in `text` without a negation just before it."""
    return next(
        (m.start() for m in pattern.finditer(text) if not _NEGATED.search(text[: m.start()])), None
    )


def _emergency(text: str) -> bool:
    """A danger sign said now: not negated ("no chest pain"), not over ("the pain in my
    chest is gone now")."""
    return any(
        not _NEGATED.search(text[: m.start()]) and not _OVER.search(text[m.end() :])
        for m in _EMERGENCY_RE.finditer(text)
    )


def scores(text: str) -> dict[Intent, float]:
    """Each intent's score for the normalised `text` (0 when none of its phrases is said)."""
    found: dict[Intent, float] = {}
    if _emergency(text):
        found[Intent.EMERGENCY] = SAFETY_WEIGHT
    if _unnegated(_PERSON_RE, text) or _NOT_A_MACHINE.search(text):
        found[Intent.SPEAK_TO_PERSON] = SAFETY_WEIGHT / 2
    for intent, rows in _COMPILED.items():
        total = sum(weight for pattern, weight in rows if _unnegated(pattern, text))
        if total:
            found[intent] = total
    info = found.get(Intent.CLINIC_INFO, 0.0)
    if 0 < info < 4.0 and any(found.get(t, 0) >= 2.5 for t in TASKS):
        found[Intent.CLINIC_INFO] /= 2  # "book a physical, and do I need to fast": the task
    return found


def _mentioned(intent: Intent, text: str) -> int:
    """Where the caller first asked for `intent` (the main request of a run-on comes
    first: "book a physical, and do I need to fast?")."""
    found = [_first(p, text) for p, _ in _COMPILED.get(intent, [])]
    return min((f for f in found if f is not None), default=len(text))


def read(text: str) -> Reading:
    """The rules' reading of the caller's words (`text` as transcribed); of two requests
    scored within one point, the one said first."""
    words = normal(text)
    ranked = sorted(scores(words).items(), key=lambda item: -item[1])
    if len(ranked) > 1 and ranked[0][1] - ranked[1][1] < 1.0 and ranked[0][0] not in SAFE:
        first_two = sorted(ranked[:2], key=lambda item: _mentioned(item[0], words))
        ranked = [*first_two, *ranked[2:]]
    if not ranked:
        return Reading(Intent.OTHER, 0.0, 0.0, None, words)
    (best, top), rest = ranked[0], ranked[1:]
    second = rest[0] if rest else (None, 0.0)
    return Reading(best, top, abs(top - second[1]), second[0], words)
