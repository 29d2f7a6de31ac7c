"""When the caller wants to come: the day and time in their words, read in code.

Around the date parser (appliance/scheduling/dates.py) this keeps out what is not a day
("the first one", "good morning", a date of birth), takes the new day of a change ("from
wednesday to thursday", "tuesday doesn't work, can i have wednesday instead", "at 4 today,
could we come at 2 instead": the new time, today still), reads "this afternoon" as today
and the holidays callers name ("christmas eve").
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date, datetime, time, timedelta

from appliance.scheduling.dates import WEEKDAYS, Resolved, resolve, resolve_time
from appliance.workflows.birth import birth_date, without_the_birth_date
from appliance.workflows.holiday_days import with_holiday_dates
from appliance.workflows.identity import without_birth_date

_MONTHS = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)"
_WEEKDAY = "|".join(WEEKDAYS)
_DAY_WORD = rf"(?:today|tomorrow|{_WEEKDAY})"
_HOUR = (
    r"(?:\d{1,2}(?:[: ][0-5]\d)?(?: ?[ap]\.?m\.?| o'?clock)?|one|two|three|four|five|six|seven"
    r"|eight|nine|ten|eleven|twelve|noon)"
)
# not days or times: "the first one", "my first appointment", "a first check up",
# "the one born in ...", "good morning", "whatever is first", "the week of the 26th", a
# limit ("not before eleven", "before friday": no day or time to look for)
_A_DAY = rf"(?:the \d+\w*|the [a-z]+(?:st|nd|rd|th)|{_DAY_WORD})"
_NOT_WHEN = re.compile(
    r"\b(?:first|second|third|last|earlier|later|next|other)\s+(?:one|ones|available"
    r"|appointment|visit|time|opening|doctor|check ?up|checkup|physical|consult\w*|follow ?up)\b"
    r"|\bthe one\b|\bgood\s+(?:morning|afternoon|evening)\b"
    r"|\b(?:whatever|whichever)(?:'s| is)? (?:first|earliest|soonest|next)\b"
    r"|\b(?:for|in|just|wait) a second\b|\ba second ago\b|\bone second\b"  # "for a second"
    r"|\b(?:first|last|middle) name\b|\bfirst language\b"
    r"|\b(?:first|second|third|last) week of\b"  # a range
    rf"|\bnot (?:on )?{_A_DAY}\b(?=,? (?:it's |its |on |but |the )?(?:{_A_DAY}|{_MONTHS}))"
    rf"|\bbefore (?!lunch)(?:next )?(?:{_WEEKDAY}|{_HOUR})\b"
    r"|\bweek of (?:the )?(?:\d+\w*|[a-z]+ \d+\w*)"  # "the week of the 26th": a range
    rf"|(?<!stop )(?<!drop )(?<!come )(?<!swing )(?<!pop )\bby (?:next )?{_A_DAY}\b"  # a deadline
    rf"|\b(?:till|til|until|'til) {_HOUR}\b"  # "i work till noon": a limit
    rf"|\b(?:{_WEEKDAY})s? hours\b"  # "saturday hours": a question about hours
    rf"|\bsince (?:last )?{_A_DAY}\b"  # a day past
    rf"|\blast (?:{_WEEKDAY})\b|\bsince\b(?: [\w']+){{1,5}}? (?:on )?(?:{_WEEKDAY})\b"
    # what happened on a day: "i had a nosebleed on saturday", "she came home saturday"
    r"|\b(?:had|came home|got home|came back|happened|started|began|fell|hurt (?:it|my \w+)"
    r"|moved (?:here|in|over))\b"
    r"(?! (?:booked|scheduled|made|set up)\b| (?:an? |my |the |our |his |her )?(?:appointment"
    rf"|visit|checkup|check up|physical|follow ?up|consult))(?: [\w']+){{1,6}}? (?:on )?"
    rf"(?:(?:{_WEEKDAY})\b|(?:the \d{{1,2}}\w*|\d{{1,2}}(?:st|nd|rd|th))(?: of {_MONTHS}\w*)?"
    rf"|{_MONTHS}\w* \d+\w*)"
    rf"|\b(?:{_WEEKDAY})s(?:,? (?:and |or )?(?:{_WEEKDAY})s)+\b"  # a habit: "mondays, fridays"
    rf"|\b(?:any|on a|every|to a|for a) (?:{_WEEKDAY})\b"
    r"(?! (?:appointments?|openings?|slots?|times?|spots?))"
    rf"|\b(?:any ?day|anything) but (?:{_WEEKDAY})\b"
    # a day or part of day ruled out, a habit, a time to call: "any day except wednesday",
    # "and not wednesday", "tuesdays are easier", "mornings are bad", "not in the morning
    # though", "told me to call in the morning"
    rf"|\b(?:except|other than|besides|and not|but not)(?: on)? (?:{_WEEKDAY})s?\b"
    rf"|\b(?:{_WEEKDAY})s (?:are|work|is)\b"
    r"|\bnot (?:in )?the (?:morning|afternoon|evening)s?\b"
    r"|\b(?:mornings|afternoons|evenings) (?:are|is) (?:bad|no good|hard|tough|out|tricky)\b"
    r"|\bcall (?:back |you |in )?(?:in the|this|tomorrow) (?:morning|afternoon)\b"
    # a deadline or a day past: "before i fly out on the 20th", "before the 4th", "my last
    # visit was on the 10th"; "on second thought"; "she gets out at 3"; "between christmas
    # and new year's": a range
    r"|\bbefore (?:(?:i|we|he|she|they) [\w' ]{1,30}?(?:on |by )?)?(?:the )?\d{1,2}"
    r"(?:st|nd|rd|th)\b"
    rf"|\bbefore (?:i|we|he|she|they) [\w' ]{{1,30}}?(?:on |by )?(?:{_WEEKDAY})\b"
    r"|\b(?:my|our|his|her|the) (?:last|previous) (?:visit|appointment|time)\b.{0,20}?"
    r"(?:the \d{1,2}\w*|\w+day)\b"
    r"|\bon (?:2nd|second) thought\b|\b(?:1st|2nd|3rd|first|second|third|night|day) shift\b"
    # a trip or a start of the caller's own: "we're traveling on the 3rd", "i start the
    # 11th", "stuck at my in-laws til sunday"; "no later than 3": a limit
    rf"|\b(?:traveling|travelling|flying|leaving|going away|i start|i leave|i fly"
    rf"|i go back|i head back)(?: out| back)? (?:on |until |til |till )?(?:the \d{{1,2}}\w*"
    rf"|{_WEEKDAY})\b|\b(?:til|till|until|'til) (?:{_WEEKDAY}|the \d{{1,2}}\w*)\b"
    rf"|\bno later than {_HOUR}(?: in the (?:morning|afternoon|evening))?"
    rf"|^(?:no,? )?not (?:on )?(?:{_WEEKDAY})\b"
    rf"|\bgets? out (?:of school |of work )?at {_HOUR}\b"
    r"|\bbetween (?:christmas|thanksgiving|now|the holidays|new year'?s?|the \d+\w*|\w+day)"
    r" and (?:christmas|new year'?s?|the \d+\w*|\w+day|then)\b"
    r"|\bsame (?:time|day) as (?:today|last time|before)\b"
    rf"|\b(?:anything|any ?time|something|some ?time|any day) after (?:{_DAY_WORD})\b"  # a limit
    r"|\b(?:can't|cant|cannot|can not|no|not) (?:do )?(?:mornings?|afternoons?|evenings?)\b"
    r"|\bi work (?:mornings|afternoons|evenings|nights|days)\b"
    # the caller's own hours: "i get off at 3", "before my shift at 2", "i start at 10"
    rf"|\b(?:get|got|getting) off (?:work )?at {_HOUR}\b|\bbefore my (?:shift|work)"
    rf"(?: (?:starts )?at {_HOUR}\b)?|\b(?:i|shift|work) (?:start|starts|finish|finishes)"
    rf"(?: work)? at {_HOUR}\b|\bmy shift (?:starts |is )?at {_HOUR}\b"
    rf"|\b(?:surgery|operation|procedure)\b(?: \w+){{0,3}} on (?:{_A_DAY}|{_MONTHS}\w* \d+\w*)",
    re.I,
)
_THE_NTH = (
    r"(?:the \d{1,2}(?:st|nd|rd|th)?|the (?:twenty |thirty )?(?:first|second|third|fourth|fifth"
    r"|sixth|seventh|eighth|ninth|tenth|eleventh|twelfth|\w+teenth|twentieth|thirtieth))"
)  # not "the dermatologist"
# "the 24th, that's thursday": the weekday only says which day the date is
_THATS = re.compile(
    rf"((?:the day \d{{1,2}})|{_THE_NTH})((?:,? at \w+(?: in the \w+)?)?)(?:, |[,?]? (?:that's"
    rf"|that is|that would be|it's|its|is|which is|is that|is it) (?:a )?)(?:{_WEEKDAY})\b",
    re.I,
)
_HOUR_WORD = (
    r"(?:half |quarter )?(?:past |to )?(?:\d{1,2}(?:[: ]\d\d)?(?: ?[ap]\.?m\.?)?|one|two|three"
    r"|four|five|six|seven|eight|nine|ten|eleven|twelve|noon)"
)
# two days or two times offered as a question ("today or tomorrow?", "is it 9 or 9:30",
# "the 18th or the 19th"): the caller has not chosen one
_EITHER = re.compile(
    rf"\b(?:this |next )?{_DAY_WORD} or (?:the |this |next )?{_DAY_WORD}\b"
    rf"|\b{_THE_NTH} or {_THE_NTH}\b"
    rf"|\b(?:{_MONTHS}\w* )?\d{{1,2}}(?:st|nd|rd|th) or (?:the )?\d{{1,2}}(?:st|nd|rd|th)\b"
    rf"|\b(?:at )?{_HOUR_WORD} or (?:at )?{_HOUR_WORD}\b",
    re.I,
)
# a limit, not a time: "any time after 2", "after 5 if possible", "not before eleven"
_AFTER = re.compile(
    r"(?<!quarter )(?<!half )(?<!minutes )(?<!\d )(?<!five )(?<!ten )(?<!twenty )"
    rf"\b(?:any ?time |anything )?after ({_HOUR})\b(?! (?:days?|weeks?))"
    r"(?: in the (?:morning|afternoon|evening))?",
    re.I,
)  # (not "quarter after ten": a time)
_BEFORE = re.compile(rf"\bbefore ({_HOUR})\b(?! (?:days?|weeks?))", re.I)
_FROM_TO = re.compile(r"\bfrom\b.+?\bto\b(?P<new>.+)$", re.I)
# "instead of today, at noon", "instead of the check up on the 21, ... the 28": what is
# given up, to the end of its clause
_INSTEAD_OF = re.compile(r"\binstead of\b[^,.;?]*", re.I)
# what comes after one of these is the day the caller wants now; the one before it is
# the day they have (or, after a correction, "tuesday no wait wednesday", the one meant)
_THEN = re.compile(
    r"\b(?:but|instead|i'd like|i would like|can i have|could i have|put it back to"
    r"|move it to|change it to|to the|anymore|any more|how about|what about|could we"
    r"|can we|make it|is it possible|no wait|wait no|no actually|actually|i mean|i meant"
    r"|not possible|no good|can i get|make that|could (?:that|it) be"
    r"|(?:could|can) you give me|you can give me"
    r"|i need (?=the \d|next|tomorrow)|i want (?=the \d|next|tomorrow|\w+day\b|at \d)"
    r"|(?<!the )(?:other|another|different) day|is there anything|do you have anything)\b"
    rf"|\bno\b,?(?: sorry,?)? (?={_WEEKDAY}|tomorrow|the \d|\d)"  # "thursday, no, friday"
    rf"|(?<!quarter )(?<!\d )(?<!\bat )\bto (?:like |about |around |maybe )?"
    rf"(?={_WEEKDAY}|next|tomorrow|\d|half past|quarter past)"
    r"|\bto (?=\d{1,2}[ :][0-5]\d\b)"  # "push my 10 30 to 11 30"
    r"|\b(?:later|earlier|sooner)\b[\w ]{0,20}?\blike (?=\d)",  # "later in the day like 3:45"
    re.I,
)
# "could it be a week later", "can i come a day later": from the day said; "not this
# friday, the next one": a week after it
# "bump it back a week" (not "back a week or so": about then)
_SHIFT = re.compile(
    r"\b(?:a|one|1) (day|week) (later|earlier|from then|after that)\b"
    r"|\b(?P<back>back|out) (?:a|one|1) (?P<unit>day|week)\b(?! or (?:so|two)|ish)",
    re.I,
)
_ONE_AFTER = re.compile(
    rf"\bnot (?:this|that) (?:coming )?(?:{_WEEKDAY})\b,? (?:but )?the (?:one after|next one"
    r"|following one)",
    re.I,
)
_TODAY = re.compile(r"\bthis (?:morning|afternoon|evening)\b|\btonight\b", re.I)


def _when_part(text: str, today: date) -> str:
    """The words that say when, without ordinals of choice, greetings and a date of
    birth; plural parts of day as one ("mornings")."""
    text = _NOT_WHEN.sub(" ", _EITHER.sub(" ", _THATS.sub(r"\1\2", _INSTEAD_OF.sub(" ", text))))
    text = with_holiday_dates(without_birth_date(text), today)
    moved = _FROM_TO.search(text)
    if moved:
        text = moved.group("new") if moved.group("new") else text[: moved.start()]
        text = re.sub(r"^\s*(\d{1,2})\b(?![/:])", r"at \1", text)  # "from 10 to 11": a time
    return re.sub(r"\b(morning|afternoon|evening)s\b", r"\1", text, flags=re.I)


def _tail(spoken: str, mark: re.Match[str], now: datetime) -> Resolved:
    rest = spoken[mark.end() :]
    bare_hour = re.match(r"\s*\d{1,2}\b(?![/:])", rest)
    if (
        re.search(
            r"\b(?:to|make it|make that|no,?|be|i meant|i mean)"
            r"(?: like| about| around| maybe)?\s*$",
            mark.group(0),
        )
        and bare_hour
    ):
        rest = "at " + rest.lstrip()  # "change that to 3 the same day": a time
    return resolve(rest, now)


def _before_instead(spoken: str, mark: re.Match[str], now: datetime) -> Resolved | None:
    """ "make my 11:30 a 1:30 instead", "could we do the 16th instead": the few words
    before a closing "instead" say the new time."""
    if mark.group(0).lower() != "instead":
        return None
    words = spoken[: mark.start()].split()[-5:]
    words = words[-3:] if not {"from", "after"} & set(words[-3:-1]) else words  # "a week from"
    found = resolve(" ".join(words), now)
    return found if found.said else None


def _after_last_change(spoken: str, now: datetime) -> Resolved | None:
    """What is said after the last change word that is followed by a day or time ("at 4
    today, is it possible to come at 2 instead": after "is it possible", not "instead");
    a day missing there comes from the nearest change before it ("the 16th instead, in
    the afternoon")."""
    found: list[Resolved] = []
    for mark in reversed(list(_THEN.finditer(spoken))):
        tail = _tail(spoken, mark, now)
        found += [r for r in (tail if tail.said else None, _before_instead(spoken, mark, now)) if r]
    if not found:
        return None
    first = found[0]
    if first.day is None and first.after is None:
        day = next((r.day for r in found[1:] if r.day is not None), None)
        first = replace(first, day=day)
    return first


def _bound(pattern: re.Pattern[str], text: str) -> time | None:
    said = pattern.search(text)
    return resolve_time(f"at {said.group(1)}") if said else None


def when_wanted(text: str, now: datetime, dob: date | None) -> Resolved:
    """The day and time the caller wants (relative to `now`, clinic time); a limit
    ("after 3", "before eleven") bounds the times to look at instead of naming one."""
    found = _when(_AFTER.sub(" ", text), now, dob)
    return replace(found, from_time=_bound(_AFTER, text), until=_bound(_BEFORE, text))


_FOLLOWING = re.compile(
    rf"\bthe following ({_WEEKDAY})\b|\bthe ({_WEEKDAY}) after(?! (?:that|next|this)\b)", re.I
)


def _following(day: date | None, spoken: str, now: datetime) -> date | None:
    """ "the following monday" after a day said before it ("i have a consult on monday,
    can we make that the following monday"): the first such weekday after that day."""
    said = _FOLLOWING.search(spoken)
    first = resolve(spoken[: said.start()], now).day if said else None
    if said is None or first is None or day is None:
        return day
    ahead = (WEEKDAYS.index((said[1] or said[2]).lower()) - first.weekday() - 1) % 7 + 1
    return first + timedelta(days=ahead)


def _shifted(day: date | None, spoken: str) -> date | None:
    if day is None:
        return None
    if _ONE_AFTER.search(spoken):
        return day + timedelta(days=7)
    shift = _SHIFT.search(spoken)
    if shift is None:
        return day
    if shift.group("back"):
        return day + timedelta(days=7 if shift.group("unit").lower() == "week" else 1)
    days = 7 if shift.group(1).lower() == "week" else 1
    return day + timedelta(days=-days if shift.group(2).lower() == "earlier" else days)


# "i'm free monday from like 10 to 12": a window, no time to look for
_WINDOW = re.compile(rf"\bfrom (?:like |about |around )?{_HOUR} (?:to|till|until) {_HOUR}\b")


def _when(text: str, now: datetime, dob: date | None) -> Resolved:
    # "2 is fine", "10:30 works": an hour picked from what was offered
    text = re.sub(r"^\s*(\d{1,2}(?::\d\d)?)(?= (?:is|works|would be|sounds)\b)", r"at \1", text)
    if re.search(r"\b(?:free|available)\b", text, re.I):
        text = _WINDOW.sub(" ", text)
    if now.hour >= 12:  # "i was supposed to come in this morning", said in the evening
        text = re.sub(r"\bthis morning\b", " ", text, flags=re.I)
    found = _when_read(text, now, dob)
    if dob is not None and found.said and birth_date(without_birth_date(text), now.date()) == dob:
        return _when_read(without_the_birth_date(text, dob, now.date()), now, dob)  # "12 2 47"
    return found


def _when_read(text: str, now: datetime, dob: date | None) -> Resolved:
    spoken = _when_part(text, now.date())
    whole = resolve(spoken, now)
    later = _after_last_change(spoken, now) or whole
    if not later.said or re.search(r"\bsame time\b", spoken, re.I):
        later = Resolved(later.day, later.at or whole.at, later.part_of_day, later.after)
    if not later.said:
        later = whole
    day = later.day or (whole.day if later is not whole and not later.after else None)
    if day is None and later.after is None and _TODAY.search(spoken):
        day = now.date()
    day = _following(_shifted(day, text), spoken, now)
    if dob is not None and day is not None and day.day == dob.day:
        day = None  # "i said the 13th, not the 30th, june 13th 1972": the birth date's day
    at = later.at
    if (
        dob is not None
        and at is not None
        and (at.hour % 12, at.minute) == (dob.month % 12, dob.day)
    ):
        at = None  # "8 19 88": the birth date's numbers, not 8:19
    return Resolved(day, at, later.part_of_day or whole.part_of_day, later.after)
