"""Word lists for reading a name from a caller's answer (see `names`).

STOP holds common English words that are not names, so that a request ("i want to book
an appointment") is never read as one. Words that are also common first names or
surnames (will, bill, mark, grace, hope, june, young, white, brown, king, hill, rose...)
are left out on purpose.
"""

from __future__ import annotations

from appliance.scheduling.dates import MONTHS, WEEKDAYS
from appliance.scheduling.spoken import NUMBER_WORDS


def _set(words: str) -> frozenset[str]:
    return frozenset(words.split())


# words before a name in an answer: "yes, this is ...", "uh, hi, it's ..."
LEADING = _set(
    "yes yeah yep yup ya sure ok okay alright right hi hello hey so well oh and good morning"
    " afternoon evening"
)
# phrases that introduce a name: "my name is ...", "this is ...", "it's ..."
INTROS = (
    ("my", "full", "name", "is"),
    ("my", "name", "is"),
    ("my", "name's"),
    ("the", "name", "is"),
    ("the", "name's"),
    ("full", "name", "is"),
    ("name", "is"),
    ("name's",),
    ("this", "is"),
    ("it", "is"),
    ("it's",),
    ("its",),
    ("i", "am"),
    ("i'm",),
    ("call", "me"),
    ("speaking", "with"),
    ("name", "was"),  # "her name was irene vasquez"
    ("name",),  # a form read out: "name rajesh iyer, date of birth ..."
    ("the", "other"),  # "no, the other john smith": of two patients with one name
    ("my", "names"),  # Whisper's "my names kevin tran"
    ("her", "names"),  # "her names opal henderson"
    ("his", "names"),
)
# words that may follow a name said alone: the date of birth around it, courtesy
TAIL = _set(
    "born on the of and my date birth dob birthday is it's its was in please thanks thank you yes"
    " that's thats spelled spelt junior senior jr sr ii iii"
) | frozenset(MONTHS)
# the start of a new clause after a name: "maria gonzalez and i need to reschedule",
# "katherine reilly here", "emily zhang she was born ..."
CLAUSE = _set("and i i'm i'd i'll i've but here she he she's he's that's")
# words after a place's name, not a person's: "this is riverside family clinic"
ORGANISATION = _set(
    "clinic clinics practice pharmacy hospital office offices center centre medical health"
    " healthcare cardiology ortho orthopedics pediatrics dermatology radiology urgent care"
    " school elementary academy insurance labs laboratory associates group"
)
# joined to the last name: "maria de la cruz", "ludwig van beethoven"
PARTICLES = _set("de del della der den di da dos du la le van von st bin ibn mac mc al el abu o")
CORRECTING = _set(
    "no nope nah not sorry actually wrong correction i said meant mean it's it is that's that its"
    " spelled spelt spelling"
)
LETTER_NAMES = {
    "ay": "a", "bee": "b", "be": "b", "cee": "c", "see": "c", "sea": "c", "dee": "d",
    "ee": "e", "ef": "f", "eff": "f", "gee": "g", "aitch": "h", "eye": "i", "jay": "j",
    "kay": "k", "el": "l", "ell": "l", "em": "m", "en": "n", "oh": "o", "pee": "p",
    "queue": "q", "cue": "q", "are": "r", "ar": "r", "ess": "s", "es": "s", "tee": "t",
    "you": "u", "vee": "v", "ex": "x", "why": "y", "zee": "z", "zed": "z",
}  # fmt: skip

_FUNCTION = """
a an the this that these those it its it's i i'm i'd i'll i've me my mine we we're us our
you you're your yours he he's him his she she's her hers they they're them their there
here what what's who who's whom whose which when where where's why how is am are was were
be been being do does did done doing don't doesn't didn't can can't cannot could couldn't
would wouldn't should shouldn't won't shall might must may have has had having haven't
not no nope yes yeah yep ok okay sure to for of in on at by with about from into onto
over under up down out off again also just only still already even then than too very
so and or but if because as until while after before since some any all every each
both either neither other another such same own more most much many few less one ones
now then blah mumble hmm hmmm umm uhh testing nah running low here calling checking
something someone somebody anything anyone anybody nothing nobody everything everyone
please thanks thank sorry hi hello hey bye goodbye um uh well actually really maybe
like wanna gonna gotta kinda let let's there's that's here's
"""
_VERBS = """
want wants wanted need needs needed like liked book booked booking schedule scheduled
scheduling reschedule rescheduling cancel cancelled canceled cancelling canceling change
changing move moving make making made get getting got give giving take taking see seeing
saw go going went come coming came call calling called talk talking speak speaking
spoke ask asking asked tell telling told say saying said know knowing knew think
thinking thought check checking confirm confirming help helping hold holding wait
waiting pay paying paid refill refilling find finding look looking try trying
hoping wonder wondering wondered feel feeling felt hear hearing heard put keep leave
leaving transfer transferred connect connected set open opens close closes work
working start starting stop stopping use using let send sending sent bring
"""
_NOUNS = """
appointment appointments appt booking visit visits checkup check physical exam consult
consultation follow followup doctor doctors dr nurse nurses physician provider clinic
office practice hospital pharmacy prescription prescriptions medication medications
medicine meds refill refills billing payment card insurance copay balance
account results result test tests lab labs blood xray scan referral records
record fax form forms parking hours address location directions phone number message
voicemail callback person human somebody representative operator receptionist desk
front someone staff time times day days week weeks month months year years today
tomorrow tonight yesterday morning afternoon evening night noon weekend slot slots
opening openings availability emergency pain chest arm fever cough cold flu covid
shot shots vaccine vaccination son daughter wife husband mother mom father dad child
kid kids baby brother sister friend patient name names first last full middle
surname date birth born birthday dob spelling spelled letter letters
""" + " ".join(WEEKDAYS)
_ADJECTIVES = """
good fine great okay bad sick ill new old next last first second other same different
available free busy early late earlier later soon urgent sure sorry right wrong correct
wonderful hurt hurting calling here there
gotten bigger smaller worse better worried passed away died spilled coffee service customer
maam ma'am sir huh half past quarter mornings afternoons evenings whatever im live agent
thats whats grand lovely cheers si correcto gracias adios aight bet peace done lol yo
mr mrs ms mister junior senior jr sr iii cardiology endocrinology ortho orthopedics
dermatology pediatrics radiology oncology neurology urology elementary academy
mm-hmm uh-huh mm-mm uh-uh mhm blue cross shield aetna cigna humana kaiser medicare medicaid
tricare anthem around about whoever whatever matter through thru cheaper
football soccer basketball baseball hockey tryouts tryout sports camp college daycare license
licence dmv job noonish buenos dias tardes noches bonjour bonjou bonsoir hola salaam salam
namaste shalom ciao pitit mwen thyroid depression anxiety diabetes pressure asthma cholesterol
quick question season starts practice game school field trip myself himself herself
winter spring summer break hair loss sinus thing stuff totally gone flying supposed between
plans till christmas eve holiday holidays new years back snow rain
polish italian irish german greek french vietnamese korean chinese japanese mexican nigerian
"""
STOP = _set(_FUNCTION + _VERBS + _NOUNS + _ADJECTIVES) | NUMBER_WORDS
