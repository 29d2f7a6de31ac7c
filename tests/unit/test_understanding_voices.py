"""Forms callers use that the parsers and rules read by concept (found on the tuning files
lines_dev2 to lines_dev5): British days and times, birth dates said year first or with
"zero", a spelling after a name, a provider by sound, split or specialty, and requests
that read like another one. Each case failed before the concept was added."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from appliance.llm.understanding import Intent
from appliance.scheduling.dates import resolve
from appliance.workflows.answers import Answer, classify
from appliance.workflows.identity import birth_date, without_birth_date
from appliance.workflows.intents import read
from appliance.workflows.names_introduced import introduced_name
from appliance.workflows.said import read_details
from appliance.workflows.understander import Understander
from appliance.workflows.verify import heard_in_answer
from appliance.workflows.when import when_wanted
from tests.understanding_eval import demo_vocabulary

pytestmark = pytest.mark.unit

NOW = datetime(2027, 5, 12, 9, 10, tzinfo=ZoneInfo("America/New_York"))  # a Wednesday
TODAY = NOW.date()


@pytest.mark.parametrize(
    ("said", "day"),
    [
        ("monday week", date(2027, 5, 24)),  # the Monday after the coming one
        ("can we do thursday week", date(2027, 5, 20)),
        ("in a fortnight please", date(2027, 5, 26)),
        ("a fortnight", date(2027, 5, 26)),
        ("monday", date(2027, 5, 17)),  # unchanged
    ],
)
def test_british_days(said: str, day: date) -> None:
    assert resolve(said, NOW).day == day


@pytest.mark.parametrize(
    ("said", "at", "part"),
    [
        ("half two on thursday", time(14, 30), None),
        ("at half nine", time(9, 30), None),
        ("half an hour later", None, None),
        ("lunchtime tuesday", time(12, 0), None),
        ("first thing tomorrow", None, "morning"),
        ("monday after school", None, "afternoon"),
        ("cancel the 3 o clock", time(15, 0), None),
    ],
)
def test_times_and_parts_of_day_said_another_way(
    said: str, at: time | None, part: str | None
) -> None:
    got = resolve(said, NOW)
    assert (got.at, got.part_of_day) == (at, part)


def test_o_clock_split_by_whisper_is_no_day_of_the_month() -> None:
    assert resolve("cancel the 3 o clock", NOW).day is None


@pytest.mark.parametrize(
    "said",
    ["he cannot come before eleven", "i need it signed before friday", "whatever is first"],
)
def test_limits_and_choices_are_no_day_or_time(said: str) -> None:
    got = when_wanted(said, NOW, None)
    assert (got.day, got.at) == (None, None)


@pytest.mark.parametrize(
    ("said", "day", "at"),
    [
        ("tuesdays good for him", date(2027, 5, 18), None),
        ("tomorrows fine", date(2027, 5, 13), None),
        ("the letter says tuesday the 18th at 9, could i change that to 3 the same day",
         date(2027, 5, 18), time(15, 0)),
        ("need to push my 10 30 to 11 30 same day", None, time(11, 30)),
        ("can you move it to 4", None, time(16, 0)),
    ],
)  # fmt: skip
def test_the_day_or_time_wanted(said: str, day: date | None, at: time | None) -> None:
    got = when_wanted(said, NOW, None)
    assert (got.day, got.at) == (day, at)


def test_before_lunch_is_still_the_morning() -> None:
    assert when_wanted("any time before lunch", NOW, None).part_of_day == "morning"


@pytest.mark.parametrize(
    ("said", "born"),
    [
        ("zero seven fifteen ninety", date(1990, 7, 15)),
        ("nineteen seventy five september thirtieth", date(1975, 9, 30)),
        ("i was born 1991 february 3", date(1991, 2, 3)),
        ("sixth month ninth day two thousand one", date(2001, 6, 9)),
        ("1990 slash 7 slash 15", date(1990, 7, 15)),
        ("date of birth is 25/03/71", date(1971, 3, 25)),
        ("born in 88 august 19th", date(1988, 8, 19)),
        ("03/04/71", date(1971, 3, 4)),  # both readable: US order first
    ],
)
def test_birth_dates_said_year_first_or_with_zero(said: str, born: date) -> None:
    assert birth_date(said, TODAY) == born


def test_a_year_first_birth_date_is_not_a_day_to_book() -> None:
    assert without_birth_date("i was born 1991 february 3") == "i was born"
    assert when_wanted("nineteen seventy five september thirtieth", NOW, None).day is None


@pytest.mark.parametrize(
    ("said", "name"),
    [
        ("my name is piotr nowak p i o t r", ("Piotr", "Nowak")),  # a spelling, not a part
        ("my name is john smith s m y t h", ("John", "Smyth")),  # the spelling wins
        ("aoife byrne thats a o i f e", ("Aoife", "Byrne")),
        ("it's spelled k o w a l c z y k", ("Kowalczyk", None)),
        ("not Thomson, Thompson with a p", ("Thompson", None)),
        ("my name is shivon o brian", ("Shivon", "O Brian")),
        ("that works", (None, None)),  # before any name, a word left over is no name
        ("whichever is soonest", (None, None)),
        ("sure, that sounds good", (None, None)),
    ],
)
def test_names_in_answers(said: str, name: tuple[str | None, str | None]) -> None:
    assert heard_in_answer(said) == name


@pytest.mark.parametrize(
    ("said", "name"),
    [
        ("we wont be needing emily zhangs physical anymore", ("Emily", "Zhang")),
        ("could we rearrange Siobhan O'Brien's appointment", ("Siobhan", "O'Brien")),
        ("on behalf of my nan kathleen doyle she wont make it", ("Kathleen", "Doyle")),
        ("Please book. Name Rajesh Iyer, date of birth 1979-11-03", ("Rajesh", "Iyer")),
    ],
)
def test_names_introduced_in_requests(said: str, name: tuple[str, str]) -> None:
    found = introduced_name(said)
    assert found is not None and found.pair() == name


@pytest.mark.parametrize(
    ("said", "provider"),
    [
        ("whats the time of my appointment with doctor leigh", "lee"),
        ("i wanna reschedule with doctor lea", "lee"),
        ("could you fit me in with doctor oka for on the 19th", "okafor"),
        ("id like a appointment with the skin doctor", "patel"),
        ("book my little lad in with the childrens doctor", "okafor"),
        ("my name is neha patel", None),  # the caller's own name
        ("i like the lady doctor", None),
    ],
)
def test_providers_by_sound_split_or_specialty(said: str, provider: str | None) -> None:
    assert read_details(said, demo_vocabulary(), NOW).provider == provider


@pytest.mark.parametrize(
    ("said", "intent"),
    [
        ("do you have anything 4/29 around 10", Intent.BOOK),
        ("do you have anything the day after tomorrow", Intent.BOOK),
        ("hey i have to reschedule, is there anything at 4 on wednesday", Intent.RESCHEDULE),
        ("Can I get an itemized receipt for my visit? I need it for my HSA.", Intent.BILLING),
        ("why am i getting a no show fee i came to my appointment", Intent.BILLING),
        ("i got charged the no show fee, how do i get that taken off", Intent.BILLING),
        ("my son has medicaid can he be seen there", Intent.CLINIC_INFO),
        ("can the doctor see me by video call from my house", Intent.CLINIC_INFO),
        ("can doctor lee see me by video on friday", Intent.BOOK),
        ("How early should I get there before my appointment?", Intent.CLINIC_INFO),
        ("do i have to pay for the car park", Intent.CLINIC_INFO),
        ("have i got two appointments booked by mistake", Intent.APPOINTMENT_STATUS),
        (
            "i got a text saying my appointment is on the 14th is that right",
            Intent.APPOINTMENT_STATUS,
        ),
        ("did my booking go thru for doctor patel", Intent.APPOINTMENT_STATUS),
        ("he's got a sick visit at 11 but we won't be needing it", Intent.CANCEL),
        ("she wont make her check up on thursday shes poorly", Intent.CANCEL),
        ("need to push my 10 30 to 11 30 same day", Intent.RESCHEDULE),
        ("Can I get a 90 day supply instead of 30 this time?", Intent.REFILL),
        (
            "i was gonna book a follow up but first i need to know if my labs came back",
            Intent.TEST_RESULTS,
        ),
        ("do you know what time the post office closes", Intent.OTHER),
        ("do you sell car insurance", Intent.OTHER),
        ("hi is this the dentist on elm street", Intent.OTHER),
        ("whereabouts are you exactly is it near the library", Intent.CLINIC_INFO),
        ("It feels like an elephant is sitting on my chest", Intent.EMERGENCY),
        ("my left arm's gone numb", Intent.EMERGENCY),
        ("i dont want the robot get me someone", Intent.SPEAK_TO_PERSON),
        ("necesito hablar con alguien por favor", Intent.SPEAK_TO_PERSON),
        ("could somebody from the office just call me back", Intent.SPEAK_TO_PERSON),
        ("gracias adios", Intent.GOODBYE),
        ("Would Doctor Lee be able to do my follow-up as a video call on Friday?", Intent.BOOK),
        (
            "it's siobhan o'brien, i'm seeing doctor patel on thursday only my sister's coming"
            " up from the city that day, so could it be the week after instead",
            Intent.RESCHEDULE,
        ),
    ],
)
async def test_requests_read_by_concept(said: str, intent: Intent) -> None:
    understander = Understander(None, "never")
    understander.vocabulary = demo_vocabulary()
    assert (await understander.understand(said, NOW)).intent == intent
    assert read(said).intent == intent  # the rules alone, not a fallback


@pytest.mark.parametrize("said", ["si correcto", "yeah thats grand", "claro"])
def test_yes_in_other_words(said: str) -> None:
    assert classify(said) == Answer.YES


THANKSGIVING_WEEK = datetime(2027, 11, 22, 17, 45, tzinfo=ZoneInfo("America/New_York"))  # Mon


@pytest.mark.parametrize(
    ("said", "day"),
    [
        ("can i get the monday after thanksgiving at four thirty", date(2027, 11, 29)),
        ("the day after thanksgiving", date(2027, 11, 26)),
        ("can i come in christmas eve", date(2027, 12, 24)),
        ("i need a physical for my new job before christmas", None),  # a limit
        ("postpone my follow up till after christmas please", None),
        ("she is going back home to ghana for christmas", None),  # a reason
        ("a week today works", date(2027, 11, 29)),
        ("change appointment. tomorrow not possible. friday next week?", date(2027, 12, 3)),
    ],
)
def test_days_said_by_holidays_and_changes(said: str, day: date | None) -> None:
    assert when_wanted(said, THANKSGIVING_WEEK, None).day == day


def test_the_monday_after_thanksgiving_said_weeks_before() -> None:
    early = datetime(2027, 11, 1, 9, 0, tzinfo=ZoneInfo("America/New_York"))
    assert when_wanted("the monday after thanksgiving", early, None).day == date(2027, 11, 29)


@pytest.mark.parametrize(
    ("said", "at"),
    [
        ("8 in the morning on the 1st", time(8, 0)),
        ("eight in the morning, she is an early riser", time(8, 0)),
        ("can i bring the baby in tomorrow at for thirty", time(16, 30)),  # "four"
        ("on december the 6th at twenty past nine", time(9, 20)),
        ("put my appointment back by one our, from 10 to 11", time(11, 0)),
    ],
)
def test_times_as_more_callers_say_them(said: str, at: time) -> None:
    assert when_wanted(said, THANKSGIVING_WEEK, None).at == at


@pytest.mark.parametrize(
    ("said", "born"),
    [
        ("one one twenty one sixty eight", date(1968, 11, 21)),
        ("born the 3rd of the 7th 1961", date(1961, 7, 3)),
        ("i think it was twenty twenty seven the tenth of september", date(2027, 9, 10)),
    ],
)
def test_more_birth_dates(said: str, born: date) -> None:
    assert birth_date(said, THANKSGIVING_WEEK.date()) == born


SEVENTH_AUTHOR_REQUESTS: list[tuple[str, Intent]] = [
    ("my baby is five weeks old and he has not fed at all and he is floppy", Intent.EMERGENCY),
    ("my newborn is two weeks old and her temperature is a hundred and one", Intent.EMERGENCY),
    ("the soft spot on my baby's head is sunken", Intent.EMERGENCY),
    ("one side of my face is dropping and the words are not coming out", Intent.EMERGENCY),
    ("i have a chest pane going down my left arm", Intent.EMERGENCY),  # Whisper's "pane"
    ("my baby is due her two month shots, can i book her well baby visit", Intent.BOOK),
    ("if i cancel on the same day do i get charged anything", Intent.CLINIC_INFO),
    ("how much notice do you need if we have to cancel", Intent.CLINIC_INFO),
    ("what happens if im running twenty minutes late", Intent.CLINIC_INFO),
    ("when is mr kowalczyk's next visit", Intent.APPOINTMENT_STATUS),
    ("she says she want to know the date of her next appointment", Intent.APPOINTMENT_STATUS),
    ("can i change the time of my appointment on monday", Intent.RESCHEDULE),
    ("no need for the follow up now, you can take me off the list", Intent.CANCEL),
    ("is my covid test positive or negative", Intent.TEST_RESULTS),
    ("she received a letter saying she owes money", Intent.BILLING),
    ("agent agent agent", Intent.SPEAK_TO_PERSON),
    ("please a person, i cannot understand the robot", Intent.SPEAK_TO_PERSON),
    ("hello is this the walgreens on fifth avenue", Intent.OTHER),
    ("im calling about the job advert for the receptionist position", Intent.OTHER),
    ("we are done here, thank you", Intent.GOODBYE),
    ("it is for a check up only", Intent.INFORM),
    ("its for my daughter", Intent.INFORM),
    ("Can I get a 90 day supply instead of 30 this time?", Intent.REFILL),
]


def test_a_fever_in_an_older_baby_is_not_read_as_an_emergency_by_itself() -> None:
    assert read("my baby has a fever of a hundred and one").intent == Intent.BOOK


@pytest.mark.parametrize(
    ("said", "name"),
    [
        ("checking on the time for my daughter emily zhang's check up", ("Emily", "Zhang")),
        ("i was changing the time of mr henrys appointment", None),  # a surname alone
    ],
)
def test_possessives_and_titles(said: str, name: tuple[str, str] | None) -> None:
    found = introduced_name(said)
    assert (found.pair() if found else None) == name


THURSDAY = datetime(2027, 3, 4, 12, 20, tzinfo=ZoneInfo("America/New_York"))


EIGHTH_AUTHOR_REQUESTS: list[tuple[str, Intent]] = [
    ("my sugar's at 38 and i'm shaking and can't think straight", Intent.EMERGENCY),
    ("my throat's closing up, i got stung by a bee", Intent.EMERGENCY),
    (
        "i don't really see the point in being around anymore, i got the gun out",
        Intent.EMERGENCY,
    ),
    ("this damn thing keeps not understanding me, get me a person", Intent.SPEAK_TO_PERSON),
    ("is brenda there? she usually helps me", Intent.SPEAK_TO_PERSON),
    ("i need to speak with the prescriber directly", Intent.SPEAK_TO_PERSON),
    ("i'm due for my three month follow up with doctor lee", Intent.BOOK),
    ("the card says return in 3 months, so i'm calling to set that up", Intent.BOOK),
    (
        "i ain't gon' be able to make it thursday, can i get it on friday instead",
        Intent.RESCHEDULE,
    ),
    ("can i change my 2:30 tomorrow to like 4", Intent.RESCHEDULE),
    ("cel my appointment on the 22nd please", Intent.CANCEL),
    ("the reminder says the 10th at 3:45, is that still good", Intent.APPOINTMENT_STATUS),
    ("am i even booked?", Intent.APPOINTMENT_STATUS),
    ("my wife says i got a doctor's appointment next week, do i?", Intent.APPOINTMENT_STATUS),
    ("what time y'all close today", Intent.CLINIC_INFO),
    ("does doctor patel see kids or just grown folks", Intent.CLINIC_INFO),
    ("do i have to book an appointment just to hear my lab results", Intent.TEST_RESULTS),
    ("what'd my cholesterol come back at", Intent.TEST_RESULTS),
    ("i need to renew my driver's license", Intent.OTHER),
    ("calling from carolina solar about lowering your building's energy bill", Intent.OTHER),
    ("just calling to say that receptionist, miss janet, was real sweet", Intent.OTHER),
    ("aight bet, i'm out", Intent.GOODBYE),
    ("my birthday? it's uh, fourth of july, 1976", Intent.INFORM),
]


@pytest.mark.parametrize(
    ("said", "answer"),
    [
        ("yeah no, go ahead", Answer.UNCLEAR),  # mixed: asked again (never a yes)
        ("no yeah that works", Answer.UNCLEAR),
        ("mm-hmm", Answer.YES),
    ],
)
async def test_run_ups_are_answers_asked_again(said: str, answer: Answer) -> None:
    assert classify(said) == answer
    understander = Understander(None, "never")
    assert (await understander.understand(said, THURSDAY)).intent == Intent.INFORM


@pytest.mark.parametrize(
    ("said", "day", "at"),
    [
        ("at to thirty", None, time(14, 30)),  # Whisper's "two"
        ("reschedule. thursday. won thirty.", date(2027, 3, 11), time(13, 30)),
        ("cancel the one at to fifteen on wednesday", date(2027, 3, 10), time(14, 15)),
        ("no no no, not the 13th, the 30th", date(2027, 3, 30), None),
        ("please don't cancel it, just not on friday", date(2027, 3, 5), None),  # no correction
        ("sunday march 9th 1958", None, None),  # a birth date's weekday
    ],
)
def test_an_eighth_authors_days_and_times(said: str, day: date | None, at: time | None) -> None:
    got = when_wanted(said, THURSDAY, birth_date(said, THURSDAY.date()))
    assert (got.day, got.at) == (day, at)


@pytest.mark.parametrize(
    ("said", "name"),
    [
        ("james carter junior", ("James", "Carter")),
        ("robert kowalczyk senior, december 2nd 1947", ("Robert", "Kowalczyk")),
        ("katherine reilly, that's katherine with a k", ("Katherine", "Reilly")),
        ("mm-hmm", (None, None)),
    ],
)
def test_suffixes_and_spelling_notes_are_not_name_parts(
    said: str, name: tuple[str | None, str | None]
) -> None:
    assert heard_in_answer(said) == name


@pytest.mark.parametrize(
    ("said", "day"),
    [
        ("tuesday next weak", date(2027, 3, 9)),
        ("in to weeks", date(2027, 3, 18)),
        ("i feel weak", None),
    ],
)
def test_whispers_homophones_of_weeks(said: str, day: date | None) -> None:
    assert resolve(said, THURSDAY).day == day


def test_talking_to_the_nurse_about_results_is_a_results_call() -> None:
    assert read("i need to talk to the nurse about my test results").intent == Intent.TEST_RESULTS
    assert read("is there a nurse i could talk to").intent == Intent.SPEAK_TO_PERSON


NINTH_AUTHOR_REQUESTS: list[tuple[str, Intent]] = [
    ("um i'm kind of dizzy and my left arm and leg went numb", Intent.EMERGENCY),
    ("i dont think i can keep going, i have the pills right here", Intent.EMERGENCY),
    ("headaches on and off for weeks, i want to get it checked out", Intent.BOOK),
    ("my appointment is wednesday but can we do thursday instead", Intent.RESCHEDULE),
    ("i can't make it on the 9th can i get the 16th", Intent.RESCHEDULE),
    ("rescheduling please", Intent.RESCHEDULE),
    ("Rescheduling won't help, I just need it cancelled altogether.", Intent.CANCEL),
    ("can i do my follow up as a video call instead of driving in", Intent.CLINIC_INFO),
    ("can you take my name off for the 3 o'clock tomorrow", Intent.CANCEL),
    ("how many appointments do i have coming up", Intent.APPOINTMENT_STATUS),
    ("i think i missed my appointment this morning did i", Intent.APPOINTMENT_STATUS),
    ("is blue shield in network with you guys", Intent.CLINIC_INFO),
    ("do you charge if i don't show up", Intent.CLINIC_INFO),
    ("why is there a no show fee on my bill, i called to cancel", Intent.BILLING),
    ("why is the baby's well visit on my bill", Intent.BILLING),
    ("has anybody looked at my ultrasound yet", Intent.TEST_RESULTS),
    ("can i press zero for someone", Intent.SPEAK_TO_PERSON),
    ("that was all i was calling about, thank you", Intent.GOODBYE),
    ("what day is it today", Intent.OTHER),
    ("i'm a drug rep and i'd like to drop off samples", Intent.OTHER),
]


MONDAY = datetime(2026, 12, 7, 9, 0, tzinfo=ZoneInfo("America/New_York"))


@pytest.mark.parametrize(
    ("said", "day", "at"),
    [
        ("i passed out for a second at work yesterday", None, None),
        ("the first week of january", None, None),
        ("is there any way to move my 10:30 to later in the afternoon", None, time(10, 30)),
        ("i have a appointment thursday at 9 could i make it 11 instead", date(2026, 12, 10),
         time(11, 0)),
        ("can we do thursday at too thirty instead", date(2026, 12, 10), time(14, 30)),
        ("7 in the evening", None, time(19, 0)),
    ],
)  # fmt: skip
def test_a_ninth_authors_days_and_times(said: str, day: date | None, at: time | None) -> None:
    got = when_wanted(said, MONDAY, None)
    assert (got.day, got.at) == (day, at)


@pytest.mark.parametrize(
    ("said", "name"),
    [
        ("this is grace from willow brook, her name is katherine reilly", ("Katherine", "Reilly")),
        ("a refill request for metformin for a maria gonzalez", ("Maria", "Gonzalez")),
        ("our patient john smith, born 9/30/75, had a follow up", ("John", "Smith")),
        ("the home needs robert kowalczyk's metoprolol renewed", ("Robert", "Kowalczyk")),
        (
            "im calling from the home, katherine reilly passed away on saturday",
            ("Katherine", "Reilly"),
        ),
        ("mom says emily zhang has an appointment with y'all", ("Emily", "Zhang")),
        ("blue cross has denied my claim", None),
        ("i'm calling from st mary's hospital about a patient", None),
        ("has the lab sent anything back", None),
        ("is this big jim's auto? i'm calling about my truck", None),
        ("we got cut off when the lady was reading my thyroid result", None),
    ],
)
def test_a_patients_name_said_by_someone_else(said: str, name: tuple[str, str] | None) -> None:
    found = introduced_name(said)
    assert (found.pair() if found else None) == name


TENTH_AUTHOR_REQUESTS: list[tuple[str, Intent]] = [
    (
        "my pharmacy on elm street keeps saying they need approval for my albuterol",
        Intent.REFILL,
    ),
    ("do you have a 4:15 tomorrow with anybody", Intent.BOOK),
    ("she said come back for a follow up", Intent.BOOK),
    (
        "my son's check up is thursday, is there anything saturday morning instead",
        Intent.RESCHEDULE,
    ),
    ("is it possible to move maria gonzalez from 10 am to 10:30", Intent.RESCHEDULE),
    ("my mom's appointment with alvarez needs to be moved", Intent.RESCHEDULE),
    ("i got a sick visit that i don't need anymore, please cancel it", Intent.CANCEL),
    ("drop my 10 a m monday", Intent.CANCEL),
    (
        "i won't be able to make the 15th so go ahead and cancel, i'll rebook later",
        Intent.CANCEL,
    ),
    (
        "just checking, is the 3:15 with doctor lee thursday still good",
        Intent.APPOINTMENT_STATUS,
    ),
    ("did my appointment for today get moved", Intent.APPOINTMENT_STATUS),
    ("a bill came with his name on it, he's still on my plan", Intent.BILLING),
    ("can my follow up with doctor lee be done by video instead", Intent.CLINIC_INFO),
    ("is the dermatologist in on mondays", Intent.CLINIC_INFO),
    ("why did my insurance deny the claim for my physical", Intent.BILLING),
    ("has doctor lee reviewed my thyroid panel", Intent.TEST_RESULTS),
    ("i need to talk to doctor alvarez's nurse", Intent.SPEAK_TO_PERSON),
    ("just a recheck, a follow up", Intent.INFORM),
]


@pytest.mark.parametrize(
    ("said", "name"),
    [
        ("it's aisha, aisha thompson", ("Aisha", "Thompson")),
        ("no not john jones, john jonas", ("John", "Jonas")),
        ("august the nineteenth, 88", (None, None)),
        ("around 10", (None, None)),
    ],
)
def test_a_tenth_authors_names(said: str, name: tuple[str | None, str | None]) -> None:
    assert heard_in_answer(said) == name


async def test_one_part_of_a_name_is_an_answer() -> None:
    understander = Understander(None, "never")
    assert (await understander.understand("last name's reilly", MONDAY)).intent == Intent.INFORM


@pytest.mark.parametrize(
    ("said", "day"),
    [
        ("first name is thanh, t h a n h", None),
        ("no wait not the 12th, it's november 21st 1968", None),
        ("hang on one second let me find my card", None),
    ],
)
def test_a_tenth_authors_days(said: str, day: date | None) -> None:
    assert when_wanted(said, MONDAY, birth_date(said, MONDAY.date())).day == day


@pytest.mark.parametrize(
    ("said", "intent"),
    SEVENTH_AUTHOR_REQUESTS
    + EIGHTH_AUTHOR_REQUESTS
    + NINTH_AUTHOR_REQUESTS
    + TENTH_AUTHOR_REQUESTS,
)
def test_later_authors_requests_read_by_the_rules_alone(said: str, intent: Intent) -> None:
    assert read(said).intent == intent
