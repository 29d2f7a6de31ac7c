"""Does a caller's sentence ask not to be called again? A pure function, negation-aware.

"Stop calling me", "take me off your list", "put me on your do not call list" are
opt-outs; "don't stop calling me" and "I didn't say take me off your list" are not. A
negation counts only in the same clause, a few words before the phrase: "No, stop calling
me" and "I'm not sure, but take me off your list" are opt-outs. A negated question is a
request ("why don't you just stop calling me?", "can't you take me off your list?").
The dialler (part 2) revokes consent on a match, at once (Ledger.opt_out).
"""

from __future__ import annotations

import re

_CONTRACTIONS = (
    (r"\b(don|doesn|didn|won|wouldn|shouldn|isn|aren|wasn)'?t\b", r"\1 not"),
    (r"\bcan'?t\b|\bcannot\b", "can not"),
    (r"\bwon not\b", "will not"),
    (r"\bdon not\b", "do not"),
    (r"\bdoesn not\b", "does not"),
    (r"\bdidn not\b", "did not"),
)
_OPT_OUT = re.compile(
    r"\b(?:"
    r"(?:stop|quit|cease) (?:calling|phoning|ringing|contacting)(?: me| us| this number| here)?"
    r"|(?:stop|no more) (?:getting |receiving )?(?:the |these |your |any )?"
    r"(?:calls|phone calls|robocalls|reminders)"
    r"|(?:take|remove|delete|drop) (?:me|us|my number|this number|my name)"
    r" (?:off|from) (?:your|the|this|that)(?: calling| call| phone| contact| mailing)? list"
    r"|(?:put|add) (?:me|us|my number|this number) (?:on|to) (?:your|the)"
    r" (?:do not call|no call|don't call) list"
    r"|do not (?:ever )?(?:call|phone|ring|contact) (?:me|us|this number|here)"
    r"|never (?:call|phone|contact) (?:me|us|this number|here) again"
    r"|i do not want (?:any more|anymore|more|these|your) (?:calls|reminders)"
    r"|unsubscribe|opt (?:me )?out"
    r")\b"
)
_NEGATORS = frozenset({"not", "never", "no", "nobody", "nothing"})
_CLAUSE_BREAK = re.compile(r"[.,;:!?]|\b(?:but|so|just|and then|anyway|however)\b")
_WINDOW = 5  # words before the phrase in which a negation counts


def _normalise(text: str) -> str:
    out = text.lower().replace("\u2019", "'")
    for pattern, repl in _CONTRACTIONS:
        out = re.sub(pattern, repl, out)
    return re.sub(r"[ \t]+", " ", out)


def _negated(before: str) -> bool:
    """Whether the clause just before a phrase negates it ("do not", "never", "no ... ")."""
    clause = _CLAUSE_BREAK.split(before)[-1]
    words = re.findall(r"[a-z']+", clause)[-_WINDOW:]
    for i, word in enumerate(words):
        if word not in _NEGATORS:
            continue
        nxt = words[i + 1] if i + 1 < len(words) else ""
        question = nxt == "you" or (i > 0 and words[i - 1] == "why") or "why" in words[:i]
        if not question:
            return True
    return False


def is_opt_out(text: str) -> bool:
    """True when the sentence asks the clinic to stop calling (a PHI-free yes/no)."""
    said = _normalise(text)
    return any(not _negated(said[: m.start()]) for m in _OPT_OUT.finditer(said))
