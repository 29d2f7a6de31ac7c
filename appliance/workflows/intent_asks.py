"""Questions that read like another request, by concept (misses across the tuning files,
lines_tune to lines_dev6): an opening asked for on a day ("do you have anything the day
after tomorrow"), a document for a visit (a receipt is billing, not a booking), a bill that
came or a fee to take off, whether the clinic can see someone a certain way (by video, on
Medicaid), the cancellation policy asked with "cancel", a booking made by mistake, a visit
checked against a text or a letter or for someone else, a visit that cannot be made
(cancel), a supply of a medicine, results gone over, an answer that only names the visit
(inform), places and calls that are not for the clinic ("the post office", "car
insurance", a parcel, a job advert); and danger (a young baby's included), a person and
goodbye said plainly or in the caller's first language. Merged into the tables of
appliance/workflows/intent_phrases.py; words as `wording.normal` writes them.
"""

from __future__ import annotations

from appliance.llm.understanding import Intent
from appliance.scheduling.dates import WEEKDAYS
from appliance.workflows.intent_callers import VISIT

_DAYS = rf"(?:{'|'.join(WEEKDAYS)}|tomorrow|today)"
_WHEN = rf"(?:{_DAYS}|\d+(?:st|nd|rd|th)?\b|\d+/\d+|morning|afternoon|evening|(?:next|this) week)"
_SLOT_WHEN = rf"(?:{_DAYS}|(?:at|around) \w+|the \d+\w*|(?:next|this) week)\b"
_OPENING = (
    r"(?:anything|something|any ?time|a time|a slot|an opening|any openings|any slots|room"
    r"|any space|a space|an? \d{1,2}(?::\d\d)?)"
)
_PLAN = r"(?:medicaid|medicare|aetna|cigna|blue cross|united ?health\w*|tricare|humana|kaiser)"
_MEDIUM = r"(?:video|phone|zoom|telehealth|computer|facetime|skype)"
_VISIT = rf"(?:{VISIT}|recheck)"
ASKS: dict[Intent, list[tuple[str, float]]] = {
    Intent.BOOK: [
        (r"come back (?:in )?for (?:a|my|the)\b", 3.0),
        (r"get (?:it|this|that|them) checked(?: out)?", 3.0),
        (rf"\bdue for (?:my|a|an|his|her|their)? ?(?:[\w']+ ){{0,3}}{_VISIT}"
         r"|set (?:that|it|this) up"
         r"|get (?:her|him|them|me|us) (?:seen|checked)|get my \w+ in\b|\bmake an? (?:for|with)\b"
         rf"|\bworks? for a (?:\w+ )?{_VISIT}|get set up with (?:a|the) (?:\w+ )?doctor"
         r"|soonest opening", 3.0),
        (rf"can i (?:get|have|grab|take) (?:the |a |an )?(?:\w+ ){{0,4}}{_SLOT_WHEN}"
         r"|put me (?:down |in )?with\b|needs? to see (?:a|the) (?:\w+ )?doctor", 3.0),
        (rf"(?:able to|can you|could you|would you) (?:do|fit in|see) (?:my|his|her|a|an|our)"
         rf" (?:\w+ )?{_VISIT}", 3.0),
        (rf"(?:do you have|have you got|you got|is there|are there)"
         rf" {_OPENING}\b.{{0,40}}?\b{_WHEN}", 3.5),
    ],
    Intent.RESCHEDULE: [
        (r"(?:move|shift|push) (?:[\w']+ ){1,3}from\b.{0,20}\bto\b|(?:needs?|has) to be moved"
         r"|get (?:it|that|this) (?:moved|rescheduled|changed)", 3.5),
        (rf"^(?!.*\b(?:video|phone|virtual|zoom)\b).*(?:\bmy (?:[\w']+'s )?{_VISIT}\b.{{0,120}}"
         r"\binstead\b(?! of)|\bcan we do\b.{0,40}\binstead\b(?! of))"
         r"|(?:can't|cannot|won't|can not) make it\b.{0,40}\b(?:can i (?:get|have|do)|how about"
         r"|what about|could i|can we)|the same appointment but|can we make it (?:\w+day|tomorrow"
         r"|today|the \d)", 5.0),
        (r"(?:ain't|not|won't|can't) (?:gon'?|going to|gonna)? ?(?:be able to )?make it\b.{0,60}"
         r"\binstead\b|\bthe \d+(?:st|nd|rd|th) (?:to )+(?:the )?\d+(?:st|nd|rd|th)"
         r"|\b(?:change|move|push|switch|shift) (?:my|the|our) \d", 4.0),
        (r"(?:booked|scheduled|put down) (?:\w+ ){0,3}but (?:that|it) (?:was|is) (?:a )?"
         r"(?:mistake|wrong)", 3.0),
        (r"\bpush (?:my|the|it|our|his|her)\b.{0,20}\bto\b", 3.0),  # "push my 10 30 to 11 30"
        (rf"(?:reschedul|move|change)\w* .{{0,40}}(?:is there|do you have|have you got) {_OPENING}",
         5.0),  # the opening asked for is the new time
    ],
    Intent.CANCEL: [
        (r"(?:i'll|i will|will) rebook (?:later|another time|when)", 4.0),  # not now: a cancel
        (r"\b(?:drop|scrap|cancel) (?:my|the) \d|go ahead and cancel"
         r"|(?:don't|do not) need (?:it )?anymore", 4.0),
        (r"take (?:my name|me|him|her) off (?:for|the)\b|(?:need|want) (?:it|that|this|them)"
         r" cancel\w*|cancel\w* altogether", 3.5),
        (r"take (?:me|him|her|them|us) off the list|\bno need for (?:the|my|his|her|that)\b", 3.5),
        (rf"(?:won't|can't|cannot|will not) make (?:it to )?(?:my|his|her|the|our|their)"
         rf" (?:\w+ )?{_VISIT}", 3.5),
        (rf"(?:won't|will not|no longer) (?:be )?need(?:ing)? (?:[\w']+ ){{0,3}}{_VISIT}", 3.0),
    ],
    Intent.APPOINTMENT_STATUS: [
        (rf"making sure (?:my|the|our|his|her)\b|still (?:happening|good)\b"
         r"|still on (?:for|at|the|this|tomorrow|\w+day)\b"
         rf"|did my \w+ (?:for \w+ )?get (?:moved|changed|cancel\w*)|\bwas my (?:\w+ )?{_VISIT}"
         rf"|\bis my (?:[\w']+'s )?{_VISIT} (?:\w+day|today|tomorrow)\b", 4.0),
        (r"when (?:am i|i'm|is (?:he|she)) supposed to (?:see|come|be)"
         r"|look up (?:my|the|our|his|her) appointment|how many appointments"
         r"|appointments do i have|i think i missed|did i miss (?:my|it|the)", 4.5),
        (r"(?:reminder|text|letter|card)\b.{0,120}\bis (?:that|it) still (?:good|on|right|correct"
         r"|happening)|do i got (?:something|anything|an appointment)"
         r"|(?:has|have) an appointment\b.{0,60}\bwhat time"
         rf"|when (?:the hell |the heck |exactly )?(?:my|his|her|our) (?:\w+ )?{_VISIT}"
         r" (?:\w+ )?is\b"
         r"|am i (?:even |still |actually |really )(?:booked|scheduled|down)"
         r"|(?:check|checking) on (?:an|my|the|her|his) appointment"
         r"|(?:says|said|thinks) (?:i|he|she) (?:got|have|has) (?:a|an) (?:[\w']+ )?appointment",
         4.5),
        (rf"when(?:'s| is| was) (?:mr |mrs |ms |miss )?\w+'?s (?:next )?{_VISIT}"
         rf"|(?:know|tell me|what's|what is|whats) (?:the )?(?:date|time|day) of (?:my|her|his"
         rf"|the|our) (?:next )?{_VISIT}"
         r"|checking on the (?:time|day|date)|what (?:time|day) did you (?:\w+ )?(?:give|put)"
         r"|forgot to write (?:it|that) down"
         rf"|(?:does|do) (?:he|she|they|any of them|my \w+) have (?:an? |any )?{_VISIT}", 4.0),
        (r"(?:have i got|do i have|have i) (?:\w+ ){0,2}(?:appointments?|visits?|bookings?)"
         r" (?:booked|scheduled|made|on|in)\b", 4.0),
        (rf"(?:text|letter|message|email|voicemail|card)\b.{{0,40}}\b{_VISIT}\b.{{0,60}}"
         r"(?:is that right|is that correct|can you check|right\?|correct\?|check)", 4.5),
        (r"did (?:my|the|his|her) (?:\w+ )?(?:booking|appointment) go through"
         rf"|check (?:if |that |whether )?(?:i|he|she|we) (?:have|has) (?:an? )?{_VISIT}"
         rf"|checking (?:that )?(?:my|his|her|our) (?:\w+ )?{_VISIT} is"
         rf"|\bconfirm (?:my |the |our )?{_VISIT}", 4.5),
        (rf"\bis (?:my|his|her|our) (?:\w+'?s )?{_VISIT} (?:at|on|today|tomorrow|this|next)\b"
         rf"|(?:whether|if) (?:my|his|her|the) (?:\w+ )?{_VISIT} is confirmed|\bis it confirmed",
         4.0),
    ],
    Intent.CLINIC_INFO: [
        (r"\bis (?:the )?(?:dermatologist|pediatrician|doctor \w+) in on \w+", 4.0),
        (r"blue shield|in network|out of network|do you charge (?:me |people |anything )?if"
         r"|how long is the wait|wait times?\b|does (?:doctor|dr) \w+ (?:do|offer|perform) \w+",
         4.0),
        (r"what time (?:do |does )?(?:you|the clinic|the office) (?:open|close)"
         r"|does (?:doctor|dr) \w+ (?:see|treat|take) (?:kids|children|babies|adults|grown)"
         r"|how (?:do|can|would|should) we (?:request|get|send|go about)|office notes", 4.0),
        (r"(?:if|when) (?:i|we|you) (?:have to |need to |gotta )?cancel\b.{0,40}\b(?:charged"
         r"|charge|fee|notice)|(?:notice|heads up|warning|charged?|fee)\b.{0,40}\bif (?:i|we)"
         r" (?:have to |need to |gotta |got to )?cancel"
         r"|what happens if (?:i'm|i am|we're|we are|i) (?:running )?(?:\w+ )*late"
         r"|will (?:they|you) still see (?:me|him|her)", 6.0),
        (r"what (?:papers|documents|paperwork|forms|id|things) (?:should|do|must) (?:i|we) bring"
         r"|come hungry|empty stomach|can i take my \w+ (?:tablets|pills|medicine|meds"
         r"|medication) (?:before|in the morning)", 4.0),
        (r"(?:are you|is the clinic|is doctor \w+) (?:still )?(?:taking|accepting) (?:new|any)"
         r"|do you (?:people|folks) (?:have|do|offer)|how (?:many years|long) has (?:doctor|dr)"
         r" \w+|which (?:of the |one of the )?doctor'?s?\b", 3.0),
        (rf"(?:can|could|will|would|does|do) (?:the doctor|doctor \w+|you|he|she|i|we|my \w+)"
         rf" (?:\w+ ){{0,6}}(?:by|over|on|via|through) (?:a )?{_MEDIUM}\b(?!.*\b{_DAYS}\b)", 4.0),
        (rf"(?:has|have|on|with|got) {_PLAN}\b.{{0,40}}\b(?:seen|see|come|take|accept|cover)", 4.0),
        (r"how early (?:should|do|must|can|would) (?:i|we|he|she|they) (?:get|arrive|be|come"
         r"|show)", 4.5),
        (rf"(?:pay|cost|charge) (?:for|to) (?:the )?park|(?:pop|walk|drop) in for (?:a |my"
         rf" |the )?(?:flu|covid) (?:shot|vaccine)(?!.*\b{_DAYS}\b)|\bwalk ?ins?\b", 4.0),
        (r"\bis (?:doctor|dr) \w+ (?:a|an) (?:man|woman|male|female|good|nice)|whereabouts", 3.0),
    ],
    Intent.REFILL: [
        (r"\b\d+ day supply|supply of (?:my )?\w+|\bsupply\b.{0,20}\binstead\b", 3.5),
    ],
    Intent.BILLING: [
        (r"\bdeny (?:the|my) claim|\bdenied (?:the|my) claim", 4.0),
        (r"(?:fee|charge) on my (?:bill|statement)", 5.0),
        (r"\bowes?\b|\bowing\b|money (?:owed|due)", 3.0),
        (r"(?:get|need|want|send|have) (?:me )?(?:an? |my |the )?(?:\w+ )?"
         r"(?:receipt|invoice)", 2.0),
        (r"\bbill (?:came|arrived|showed up)|(?:got|received|getting) (?:a|this|another)"
         r" bill", 2.0),
        (r"(?:get|have|got) (?:that|it|the \w+(?: \w+)?) (?:taken off|removed|waived|reversed)"
         r"|\bdispute\b", 3.0),
        (r"(?:getting|got|get|given|sent) (?:a|the|this) (?:no show|late|cancellation|missed"
         r" appointment) (?:fee|charge)", 5.0),
    ],
    Intent.TEST_RESULTS: [
        (r"(?:has|have) (?:doctor|dr) \w+ (?:looked at|read|seen|reviewed|gone over) my\b"
         r"|reviewed my|\bpanel\b", 3.5),
        (r"(?:has|have) (?:anybody|anyone|somebody|someone|the doctor) (?:looked at|read|seen)"
         r" my", 3.5),
        (r"(?:talk|speak) (?:to|with) (?:the |a )?(?:nurse|doctor|someone|somebody) about (?:my|the"
         r"|his|her) (?:\w+ )?results", 6.0),  # the results are the task: a person reads them
        (r"(?:do i have to|do i need to|must i|have to) (?:book|make|come in|schedule)\b.{0,40}"
         r"\bresults?\b|(?:tb|ppd) test|test reading|(?:come|came) back at\b", 6.0),
        (r"did you (?:get|receive) (?:it|them|that|the \w+) back|\bscreening\b|heel prick"
         r"|(?:test|results?) (?:is |was |came back |come back )?(?:positive|negative)"
         r"|positive or negative|(?:know|hear|ask) about (?:my|her|his|the) (?:\w+ )?(?:test"
         r"|scan|labs?|bloodwork|blood work)", 3.5),
        (r"go over (?:my|the|his|her) (?:\w+ )?results|tell me (?:my|the) results"
         r"|but first .{0,40}(?:results?|came back|come back)", 4.0),
    ],
    Intent.GOODBYE: [
        (r"that(?:'s| was| is) all i (?:was |am )?calling (?:about|for)|^no,? i'm good(?: thanks?)?"
         r"(?: you)?$", 3.5),
        (r"^(?:aight |alright |ok |okay )?(?:bet )?i'?m out$|i'm outta here", 4.0),
        (r"^(?:okay |ok |alright )*(?:later|laters|see ya|see you)$|we(?:'re| are) done"
         r"|i(?:'m| am) done here|walk good|have a blessed", 3.0),
        (r"\badios\b|\bciao\b|peace out|\bpeace$|^(?:okay |ok )?(?:done|all done|we're done)$",
         3.0),
    ],
    # an answer, not a request: the kind of visit, who it is for, a year
    Intent.INFORM: [
        (r"^(?:my |his |her )?(?:phone |cell |call back )?number is\b", 3.0),
        (rf"^(?:it's|it is|its|just|only)(?: for)?(?: a| an| the)? (?:\w+ )?{_VISIT}"
         rf"(?: (?:a |an )?{_VISIT})?(?: only)?"
         r"(?: nothing \w+)?$|^(?:it's|it is|its) for (?:my|his|her|our) \w+$"
         r"|\bborn in (?:nineteen|twenty|19\d\d|20\d\d|\d\d|[a-z]+ty)\b|\bborn (?:1 9|19|20)\b"
         r"|^(?:my |his |her )?(?:birthday|birth date|date of birth|dob)\b", 4.0),
        (r"^(?:yeah no|no yeah|yeah nah|nah yeah|i mean,? i guess)\b", 2.0),  # a request wins
        (r"\b(?:go ahead|yes|yeah|oh|ok|okay|sure|please)(?: and)? book it\b"
         r"(?! (?:for|on|with|at)\b)", 6.0),  # a yes to "shall I book it?"
    ],
    Intent.OTHER: [
        (r"breaking up|can't hear you|bad (?:line|connection)|^what (?:time|day) is it"
         r"(?: right now| today| now)?$|my (?:cat|dog|pet|puppy|kitten)\b|see animals|\bvet\b"
         r"|drug rep|drop off samples|pharmaceutical rep", 8.0),
        (r"driver'?s licen[cs]e|\bpassport\b|\bdmv\b|license plate|energy bill|electric bill"
         r"|\bsolar\b|\butility bill|(?:just )?calling to say (?:that|thanks|thank you)"
         r"|tell (?:her|him|them) i said (?:hi|hey|hello|thanks)", 8.0),
        (r"^(?:hi |hello )?is this (?:the )?(?:\w+ ){1,3}on \w+ (?:avenue|street|road)"
         r"|the weather (?:for|on|in|tomorrow|today)|(?:a|good|any) day ?care (?:near|in|around)"
         r"|job (?:advert|ad|posting|opening|application)|the \w+ position\b|are you hiring", 8.0),
        (r"post office|\bthe dmv\b|\bthe bank\b|city hall"
         r"|(?:car|home|auto|life|pet|travel) insurance|(?:parking|traffic|speeding) ticket"
         r"|\bdo you sell\b", 8.0),
        (r"do you know (?:where|if|whether|what time|when) (?:i can|the|a|there's)\b"
         r"(?! (?:clinic|office|doctor|nurse|results?))", 2.5),
        (r"\bparcel\b|\bcourier\b|delivered to|delivery driver|\bsurvey\b|local businesses"
         r"|^(?:hi |hello )?is this (?:the )?[\w' ]{2,30}(?:pharmacy|dentist|dental|hospital"
         r"|store) on \w+", 6.0),
    ],
}  # fmt: skip
# said plainly or in the caller's first language: these decide the call
_INFANT = r"(?:newborn|infant|(?:\d+|one|two|three|four|five|six|seven|eight) (?:days?|weeks?) old)"
EMERGENCY = (
    r"|(?:sitting|standing|weight|elephant) on (?:my|his|her) chest"
    r"|arm'?s? (?:has |had |is )?gone (?:numb|dead|weak|heavy)"
    r"|(?:face|mouth|smile) (?:is |keeps )?(?:dropping|drooping|droopy|sagging|lopsided)"
    r"|words (?:are )?(?:not coming|won't come|coming out wrong)|can't get (?:my|her|his) words"
    # a baby floppy, not feeding, with no wet nappy or a sunken soft spot; any fever in a
    # newborn or a baby of days or weeks
    r"|(?:baby|newborn|infant)\b.{0,80}\b(?:floppy|limp|sunken|not (?:fed|feeding|waking)"
    r"|(?:hasn't|has not|won't|wont|isn't|is not) (?:fed|feed|feeding|waking)"
    r"|(?:no|hasn't had a|has not had a) wet (?:diaper|nappy))|soft spot .{0,30}sunken"
    rf"|{_INFANT}\b.{{0,60}}\b(?:fever|temperature|burning up|a hundred and)"
    # a low sugar with its signs, a throat closing, a wish to die said plainly
    r"|sugar'?s? (?:is |at |down to |dropped to |reading )*(?:[1-5]\d)\b(?! (?:year|pound|dollar))"
    r"|can't think straight|throat'?s? (?:is )?(?:closing|swelling)"
    r"|(?:don't|do not) (?:really )?see the point (?:in|of) (?:being|living|going on|being around)"
    r"|(?:got|have|holding) (?:the|a|my) (?:gun|pills|rope|knife) out"
    r"|(?:have|got) the pills (?:right )?here|(?:don't think i can|can't|cannot) keep going"
    r"|(?:arm|leg|face|side)'?s?(?: and (?:my )?(?:arm|leg|face))? (?:went|gone|going|is|are) numb"
    # a chest tight said with a word between; bleeding that goes on; a throat or tongue
    # swelling; someone who does not answer or breathes wrongly; pills taken all at once
    r"|chest (?:is |feels |has been |keeps )?(?:real |really |so |very |super |awful )"
    r"(?:tight|heavy|hurting)"
    r"|(?:blood|bleeding) (?:won't|wont|will not|doesn't|does not|isn't|hasn't|can't)"
    r" (?:stop|stopped|stopping)"
    r"|breath(?:ing)? is (?:a )?(?:struggle|fight)|struggl\w* (?:to|for) (?:breathe|breath|air)"
    r"|(?:tongue|throat|lips)'?s?(?: and (?:my |his |her )?(?:tongue|throat|lips))? (?:is |are )?"
    r"(?:swelling|swollen|puffing)"
    r"|(?:he|she|they)(?:'s| is|'re| are)? (?:not|won't|wont|isn't) (?:answering|answer"
    r"|responding|respond|waking)\b(?! (?:the|his|her|my|their) (?:phone|calls?|texts?|door))"
    r"|breathing (?:funny|weird|strange|odd|wrong|all wrong)|\bslumped\b"
    r"|(?:took|taken|swallowed|had) (?:a whole bunch|a bunch|a handful|all|the whole \w+"
    r"|too many)(?: of)? (?:(?:my|his|her|their|the) )?(?:\w+ )?(?:pills|tablets|meds|medicine)"
    r"|(?:pills|tablets) (?:all )?lined up|(?:whole|entire) (?:week's|weeks|month's) worth"
    r"|(?:mean|going|want) to take them all|(?:don't|do not) see the point anymore"
    r"|fell (?:off|from) (?:a|the|his|her) (?:ladder|roof|scaffold\w*|balcony|stairs)"
    # a wish to die with a word between, a plan; bleeding through cloth; a child who got
    # into someone's pills
    r"|(?:don't|do not) (?:really |even )?want to (?:be alive|live|be here)"
    r"|(?:want|wanna|going) to die\b|better off dead"
    r"|(?:thinking|thought|think) (?:about|of) (?:how (?:i'd|i would|i'll|to) do it"
    r"|ending (?:it|things|my life)|killing myself|taking my (?:own )?life)"
    r"|bleeding (?:right )?through|soaked through|bleeding\b.{0,40}\b(?:won't|wont|will not)"
    r" stop|got into (?:my|his|her|their|the|\w+'s) (?:pills|meds|medicine|medication|tablets"
    r"|vitamins)|(?:don't|do not) know how many (?:he|she|they) (?:took|swallowed|ate|had)"
    # a weight on the chest, pain going down an arm, breath or lips going, a bleed not
    # stopped, confusion or a dead arm all of a sudden
    r"|(?:somebody|someone|something|an elephant)(?:'s| is)? (?:sitting|standing) on (?:it|my chest"
    r"|his chest|her chest)|(?:going|goes|spreading|moving|shooting|radiating) (?:down|into|up)"
    r" (?:my|his|her) (?:left )?(?:arm|jaw)|can (?:barely|hardly|just about) breathe"
    r"|lips (?:are )?(?:going|turning|gone) (?:blue|purple|grey|gray)"
    r"|(?:can't|cannot|couldn't) stop (?:the |his |her |my )?bleed"
    r"|(?:confused|slurring|can't talk|can't speak|dizzy and weak) (?:all of a sudden|suddenly)"
    r"|(?:suddenly|all of a sudden) (?:got |went |is |became )?(?:real |really |very )?confused"
    r"|(?:arm|leg|side of (?:his|her|my) face)(?:'s| is)? (?:went|gone|going|just went) (?:dead"
    r"|limp|floppy)"
)
PERSON = (
    r"|\w+'s nurse\b|press (?:zero|0)\b|can you get (?:her|him)\b"
    r"|(?:woman|man|lady|guy|girl) named \w+"
    r"|^is (?!there|it|that|this|the|parking|everyone|anyone)[a-z]+ there\b"
    r"|(?:speak|talk) (?:with|to) (?:the )?(?:prescriber|prescribing doctor|provider) directly"
    r"|hablar con (?:alguien|una persona|un humano)|persona real|pass me (?:on |over |through )?to"
    r"|(?:please|just) a person\b|\ba person please|somebody from the \w+ office"
    r"|^(?:(?:agent|operator|representative|person|human) ?){2,}$"
    r"|(?:somebody|someone|anybody|anyone|a person|a human) (?:[\w']+ ){0,4}call me back"
)
NOT_A_MACHINE = (
    r"|(?:don't|do not) want (?:the|a|this|to talk to the|to talk to a) (?:robot|machine"
    r"|computer|bot)|(?:can't|cannot|don't) understand (?:the|this|you|a) (?:robot|machine"
    r"|computer|bot)|(?:keeps?|kept) not understanding"
    r"|(?:isn't|doesn't|don't|not) understand(?:ing)? me"
)
