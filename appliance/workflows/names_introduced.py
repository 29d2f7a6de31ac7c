"""The name of the patient a request is about, said outside an answer to "your full
name?": introduced ("my name is ...", "this is ..."), labelled ("my last name is ..."), the
one a call is for ("for katherine reilly", "my daughter emily zhang", "our patient ...",
"under aisha thompson"), the subject of a request ("emily zhang's checkup", "schedule robert
kowalczyk for ..."), or a whole name set off by commas or said before its birth date. The
readers of a single name are in `names`."""

from __future__ import annotations

import re

from appliance.scheduling.dates import MONTHS
from appliance.workflows.name_words import LEADING, PARTICLES, TAIL
from appliance.workflows.names import (
    HeardName,
    _from_run,
    _labelled,
    _marked,
    _name_like,
    _other_part,
    _run,
    _tokens,
    title,
)

# who a call is for: "for katherine reilly", "my daughter emily zhang", "my mother, ..."
_FOR = re.compile(
    r"\b(?:(?:for|on behalf of)\s+(?:(?:mr|mrs|ms|miss|a)\s+)?"
    r"|(?:our|the|your|a) (?:patient|resident|client)\s+"
    r"|(?:son|daughter|wife|husband|widow|carer|caregiver|aide|nurse) of\s+"
    r"|\bunder (?:the name (?:of )?)?(?=[a-z']+ [a-z'\-]+(?: |$))"
    r"|(?:my|our|his|her)\s+(?:son"
    r"|daughter|mother|mom|mum|father|dad|wife|husband|partner|child|kid|brother|sister"
    r"|granddaughter|grandson|grandmother|grandfather|grandma|grandpa|baby|nan|nana|nanna"
    r"|gran|granny|grandad|granddad|aunt|auntie|uncle|niece|nephew|cousin|fiance|fiancee"
    r"|hubby|stepson|stepdaughter|little (?:boy|girl|one)|baby (?:boy|girl)|youngest|oldest"
    r"|eldest)\s+(?:(?:she's|he's|she is|he is|named|called)\s+)?"
    r"(?:(?:mr|mrs|ms|miss|mister)\s+)?)"
)


# a full name said as the subject of the request: "katherine reilly here, ...", "cancel
# emily zhang's checkup" (Whisper: "emily zhangs checkup"), "can robert kowalczyk get a
# sick visit", "robert kowalczyk's metoprolol", "mom says emily zhang has an appointment"
_SUBJECT = re.compile(
    r"^(?:(?:hi|hello|hey|yes|yeah|so|um|uh|oh|good morning|good afternoon),? )*"
    r"(?P<a>[a-z']+) (?P<b>[a-z'\-]+) (?:here|calling)\b"
    r"|\b(?P<c>[a-z']+) (?P<d>[a-z][a-z'\-]*?)'s (?:[a-z]+ )?(?:appointment|checkup|check up"
    r"|physical|followup|visit|consult\w*|sick visit|booking|results?|prescription|bill|test"
    r"|reading"
    r"|medication|medicine|meds|pills|refill|records|chart|file|shots?|vaccines?|labs?"
    r"|\w+(?:olol|pril|sartan|statin|formin|pine|zole|cillin|mycin))\b"
    r"|\b(?P<i>[a-z']+) (?P<j>[a-z][a-z\-]*?)s (?:appointment|checkup|physical|followup|visit"
    r"|consult\w*|sick visit|booking|results?|prescription|bill)\b"
    r"|(?:^|\b(?:home|here|says|said|whether|if) )(?P<g>[a-z']+) (?P<h>[a-z'\-]+)"
    r" (?:has|had|won't|will|needs|passed)\b"
    r"|\b(?:can|could|will|does|is) (?P<e>[a-z']+) (?P<f>[a-z'\-]+) (?:get|come|have|see|be)\b"
)


def _subject(t: str, raw: str) -> HeardName | None:
    for m in _SUBJECT.finditer(t):
        pair = [g for g in m.groups() if g]
        if len(pair) == 2 and all(_name_like(w) for w in pair):
            return _from_run(pair, raw, "first")
    return None


# a full name set off by commas: "mr kowalczyk's next visit, robert kowalczyk, ..." (the
# surname said before), "the resident from room twelve, winston campbell, his visit",
# "okonkwo, chidi. i want to book"
_APPOSED = (
    re.compile(r"\b(?:mr|mrs|ms|miss|mister) ([a-z'\-]+?)(?:'?s)?\b.*?, ([a-z']+) \1\b"),
    re.compile(r", ([a-z']+) ([a-z'\-]+), (?:his|her|he|she|he's|she's|their)\b"),
    # a name said right before its birth date: "josephine carrow, born 4 22 38", "deon
    # price 6 30 97", "thanh nguyen july 15 1990"
    re.compile(
        r"\b([a-z']+) ([a-z'\-]+),? (?:born\b|dob\b|date of birth|birthday"
        rf"|\d{{1,2}}[ /\-]\d{{1,2}}[ /\-]\d{{2,4}}\b|(?:{'|'.join(MONTHS)})"
        r" (?:\d|the |[a-z]+(?:st|nd|rd|th)\b))"
    ),
    # a whole name as what a request is about: "schedule robert kowalczyk for a follow up",
    # "move thanh nguyen's follow up", "i have emily zhang in my office"
    re.compile(
        r"\b(?:schedule|book|move|cancel|reschedule|bring|have|put|get) ([a-z']+)"
        r" ([a-z][a-z'\-]*?)(?:'s)? (?:for|from|to|in|at|on|down|follow|appointment|visit"
        r"|checkup|physical|consult)\b"
    ),
    # "can you reschedule ahmed al-sayed, his date of birth is ..."
    re.compile(r"\b(?:schedule|book|move|cancel|reschedule) ([a-z']+) ([a-z][a-z'\-]*), "),
)
_LAST_FIRST = re.compile(r"^(?:(?:hi|hello|hey|yeah|yes|so),? )*([a-z'\-]+), ([a-z']+)[.!]")


def _apposed(raw: str) -> HeardName | None:
    t = raw.lower()
    if (m := _LAST_FIRST.search(t)) and all(_name_like(w) for w in m.groups()):
        return HeardName(title(m.group(2)), title(m.group(1)))
    for pattern in _APPOSED:
        for m in pattern.finditer(t):
            first, last = (m.group(2), m.group(1)) if pattern is _APPOSED[0] else m.groups()
            if _name_like(first) and _name_like(last):
                return HeardName(title(first), title(last))
    return None


def introduced_name(text: str) -> HeardName | None:
    """A name the caller introduced ("my name is ...", "this is ...", "my last name is
    ...", "for katherine reilly", "my daughter emily zhang", "katherine reilly here",
    "emily zhang's checkup"): what counts as a name
    outside an answer to "your full name?" (a full name, for those after "for")."""
    words = _tokens(text)
    t = " ".join(words)
    labelled = _labelled(t)
    found = _other_part(labelled, words, text) if labelled else _marked(words, text, "first")
    whom = _for_whom(t, text)  # "this is carla jimenez, calling for my son mateo jimenez"
    if whom is not None and found is not None and found.complete and not labelled:
        return whom
    if found is not None and found.complete:
        return None if _callers_own(found, t) else found  # "this is grace, for my baby"
    # "this is denise, i'm the aide for katherine reilly": the patient
    named = whom or _subject(t, text) or _apposed(text) or _clause_name(text)
    return named or found


def _callers_own(found: HeardName, t: str) -> bool:
    """Whether `found` is the caller's own name ("this is grace obi") in a call for a
    relative named only by who they are."""
    own = rf"\b(?:this is|my name is|my name's|i'm|i am) {re.escape((found.first or '').lower())}\b"
    return bool(re.search(own, t) and _CALLER_ONLY.search(t))


# the call is for someone the caller names only by who they are
_CALLER_ONLY = re.compile(
    r"\bcalling (?:for|about|on behalf of) (?:my|our) (?:son|daughter|baby|child|kid|mother"
    r"|mom|father|dad|husband|wife|grand\w+|little (?:one|boy|girl))\b"
)


def _clause_name(raw: str) -> HeardName | None:
    """A whole name said as a clause of its own: "cancel my appointment please, deon
    price", "take my name off for saturday, theodore kaminski"."""
    raw = re.sub(r"\b(dr|mr|mrs|ms|st)\.", r"\1", raw, flags=re.I)  # "Dr. Amanda Lee"
    for clause in re.split(r"[,.;?!](?:\s|$)", raw):
        words = _tokens(clause)
        while words and words[0] in LEADING:
            words = words[1:]
        run = _run(words, 0)
        named = len(run) == 2 or (len(run) == 3 and run[1] in PARTICLES)
        if not named or any(not re.fullmatch(r"(?:[od]')?[a-z]+(?:-[a-z]+)?", w) for w in run):
            continue  # "work's crazy", "y'all hiring": no name
        if all(w in TAIL or re.fullmatch(r"\d+\w*|/", w) for w in words[len(run) :]):
            return _from_run(run, clause, "first")
    return None


_RENAMED = re.compile(
    r"\b(?:my|our) (?:son|daughter|wife|husband|mother|mom|father|dad|partner|boy|girl)"
    r" ([a-z']+), ([a-z']+) ([a-z'\-]+)(?=,|$| (?:he|she|born|date|dob)\b)"
)


def _middle_named(run: list[str], raw: str) -> bool:
    """Whether three words after "my mother" are one name said in one breath ("ruth ann
    becker"), not a surname then the whole name ("kowalczyk, robert kowalczyk") or a
    name and a verb ("robert kowalczyk moved")."""
    said = re.search(r"\b" + r"\s+".join(map(re.escape, run)) + r"\b", raw.lower())
    return bool(said) and run[2] not in (*PARTICLES, run[0]) and not run[2].endswith("ed")


def _for_whom(t: str, raw: str) -> HeardName | None:
    named = _RENAMED.search(raw.lower())  # "my husband ken, kenji watanabe": the whole name
    # "ken, kenji watanabe": a short name, then the whole one
    if named and all(map(_name_like, named.groups())) and named[2].startswith(named[1][:2]):
        return HeardName(title(named.group(2)), title(named.group(3)))
    for m in _FOR.finditer(t):
        run = _run(t[m.end() :].split(), 0)
        k = next((i for i in (1, 2) if i < len(run) - 1 and run[i] in PARTICLES), 1)
        while k < len(run) - 1 and run[k] in PARTICLES:
            k += 1
        if k == 1 and len(run) == 3 and _middle_named(run, raw):
            k = 2  # "my mother ruth ann becker": a middle name
        run = run[: k + 1]  # "for maria gonzalez", "for (luz) maria de la cruz"
        if len(run) >= 2:
            return _from_run(run, raw, "first")
    return None
