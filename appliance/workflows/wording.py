"""Caller words as the rules read them: lower case, plain punctuation, Whisper's usual
misspellings of the clinic's own words put right.

Whisper writes what it hears, so "apointment", "perscription" and "reschedual" arrive
as often as the real words. A word of six letters or more that is not one of the
clinic's words but is close to exactly one of them (edit similarity >= 85) is read as
that word; everything else is left as said. Fast: one pass, rapidfuzz on a few hundred
words.
"""

from __future__ import annotations

import re
from functools import lru_cache

from rapidfuzz import fuzz, process

# the words the intent rules and the knowledge base are written in
CLINIC_WORDS = frozenset(
    """
    appointment appointments schedule scheduled scheduling reschedule rescheduled cancel
    cancelled canceled cancellation rescheduling physical checkup consultation followup prescription
    prescriptions refill refills medication medications medicine pharmacy results laboratory
    bloodwork billing invoice statement payment insurance copay deductible balance
    receptionist representative operator emergency breathing parking address directions
    location located holiday holidays tomorrow morning afternoon evening monday tuesday
    wednesday thursday friday saturday sunday january february march april august september
    october november december doctor nurse telehealth interpreter wheelchair accessible
    vaccine vaccination records referral available availability opening openings another
    different somebody someone person transfer connect postpone unconscious seizure bleeding
    overdose suicidal numbness allergic swelling dizzy fainted passed
    """.split()  # noqa: SIM905
)
# real words a clinic word is close to: never "corrected" ("killing myself" is not billing)
# (and every word of six letters or more that Whisper's vocabulary writes whole and that the
# corrector would turn into another word: "painted" is not "fainted", "conscious" not
# "unconscious", "spelling" not "swelling"; tests/unit/test_wording_safety.py checks the
# vocabulary)
KEEP = frozenset(
    """
    killing filling willing selling milling tilling breeding vending bathing mourning
    meditation dedication vocation
    allocated allocation barking beating billion blending bloated boiling breaching
    breathtaking conject conscious consolation description descriptions directional
    disappointment dwelling emergence floated imbalance imperson inaccessible indifferent
    interpreted locating marking mediation moaning overse packing painted pairing parsing
    parting pending receptions reconnect relocated relocation repayment representation
    shelling smelling sparing sparking sparkling spelling sturdy subconscious tainted
    unavailable variability viability
    """.split()  # noqa: SIM905
)
_TOKEN = re.compile(r"[a-z][a-z']*|\d+")
_CONTRACTIONS = {
    "dont": "don't", "cant": "can't", "wont": "won't", "im": "i'm", "ive": "i've",
    "didnt": "didn't", "doesnt": "doesn't", "isnt": "isn't", "thats": "that's",
    "whats": "what's", "wanna": "want to", "gonna": "going to", "gotta": "got to",
    "dr": "doctor", "appt": "appointment", "meds": "medications", "rx": "prescription",
    "ok": "okay", "check-up": "checkup", "follow-up": "followup",
    "jab": "shot", "jabs": "shots", "bloods": "bloodwork",  # British: "flu jab", "my bloods"
    "thru": "through", "pls": "please", "plz": "please", "cita": "appointment",
    "y'all": "you", "yall": "you", "ya'll": "you", "cel": "cancel",
}  # fmt: skip


# a dropped g ("goin", "sittin", "bleedin'", "mornin"): the word as the rules write it
_DROPPED_G = frozenset(
    """
    going coming getting sitting bleeding soaking happening taking morning evening feeling
    having doing trying saying looking running hurting throwing breathing turning swelling
    shaking burning vomiting puking passing choking wheezing coughing talking walking waking
    moving eating drinking working thinking calling wondering hoping needing wanting
    checking missing asking nothing something anything everything seeing being crying
    falling dropping slurring drooling aching itching leaking pouring gushing spinning
    pounding racing tingling stabbing crushing squeezing pressing dying losing responding
    answering gasping booking scheduling cancelling canceling switching changing pushing
    waiting holding picking driving leaving staying traveling flying playing starting
    fixing bringing sleeping paying owing billing filling refilling
    standing shooting spreading radiating sweating fainting slipping tripping
    """.split()  # noqa: SIM905
)


@lru_cache(maxsize=4096)
def _corrected(word: str) -> str:
    if len(word) < 6 or word in CLINIC_WORDS or word in KEEP or "'" in word:
        return word
    found = process.extractOne(word, CLINIC_WORDS, scorer=fuzz.ratio, score_cutoff=85)
    return str(found[0]) if found else word


def normal(text: str) -> str:
    """`text` in lower case, words only (apostrophes kept), clinic words spelled right."""
    text = text.lower().replace("\u2019", "'").replace("\u2018", "'")
    text = re.sub(r"\b(follow|check)[\s-]+up(s?)\b", r"\1up\2", text)
    # words Whisper splits: "appoint ment", "re schedule", "re fill", "wheel chair"
    text = re.sub(r"\bappoint ments?\b", "appointment", text)
    text = re.sub(r"\bwheel chairs?\b", "wheelchair", text)
    text = re.sub(r"\bcar park\b", "parking", text)  # British
    # Whisper's homophones and splits: "chest pane", "some body", "back by one our"
    text = re.sub(r"\bpanes?\b", "pain", text)
    text = re.sub(r"\b(some|any|no) body\b", r"\1body", text)
    text = re.sub(r"\b(an|one|two|half an|a|\d+) our\b", r"\1 hour", text)
    text = re.sub(r"\bwell[\s-]+(baby|child)\b", r"well \1", text)
    text = re.sub(r"\bwell[\s-]+(?:check|visit)\b", "checkup", text)  # a well check
    text = re.sub(r"\bre[\s-]+(schedul\w*|fill\w*|book\w*)", r"re\1", text)
    words = []
    for token in _TOKEN.findall(text):
        token = token.strip("'")
        if token.endswith("in") and token + "g" in _DROPPED_G:
            token += "g"
        words.append(_CONTRACTIONS.get(token) or _corrected(token))
    return " ".join(w for w in words if w)
