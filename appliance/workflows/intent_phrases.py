"""The phrases the intent rules listen for (appliance/workflows/intents.py), by concept:
a verb of the request near a word for what it is about ("arrange ... a follow-up",
"push ... my appointment"), so that new wordings of the same request are heard, not
only the lines the rules were written from. Words are as `wording.normal` writes them
(lower case, "followup", "doctor" for "dr"). Emergencies and a person are phrases of
their own: any one of them decides the call.
"""

from __future__ import annotations

from appliance.llm.understanding import Intent
from appliance.workflows import (
    intent_asks,
    intent_callers,
    intent_everyday,
    intent_indirect,
    intent_second_language,
    intent_voices,
)

_NEG = (
    r"(?:don't|do not|didn't|did not|doesn't|not|never|no need to|no longer want to"
    r"|won't|without|isn't|rather not)"
)
# a negation reaches at most three words ahead, and never past "just", "but", "instead",
# "please" or "so" ("i don't need it anymore, please cancel it")
_STOPS = r"(?!just\b|but\b|instead\b|rather\b|only\b|please\b|so\b)"
NEGATED = rf"\b{_NEG}(?:\s+{_STOPS}[\w']+){{0,3}}\s*$"
EMERGENCY = (
    r"chest (?:pain|pains|pressure|tightness|hurts)|crushing|heart attack|my heart is racing"
    r"|can't breathe|cannot breathe|can not breathe|not breathing|stopped breathing"
    r"|(?:trouble|difficulty|hard time|struggling) breathing|short of breath|gasping"
    r"|choking|stroke|face (?:is )?droop|slurr|one side (?:of (?:my|his|her) (?:body|face) )?"
    r"(?:is )?(?:numb|weak)|arm (?:is |went |feels )?numb|numb (?:left |right )?arm"
    r"|passed out|unconscious|unresponsive|won't wake|not waking|fainted|collapsed"
    r"|seizure(?! (?:medication|meds|medicine|pills|tablets))|convuls"
    r"|bleeding (?:a lot|heavily|badly|won't stop|that won't stop)"
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
PERSON = (
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
NOT_A_MACHINE = (
    r"(?:talk|speak|deal)(?: to| with)? (?:a |an |this |the )?(?:machine|robot|computer|bot"
    r"|automated|recording)|(?:no|not) (?:more )?(?:machines?|robots?|computers?)"
)
TABLE: dict[Intent, list[tuple[str, float]]] = {
    Intent.BOOK: [
        (r"\bbook\b|booking", 2.0), (r"make (?:an|a|another|a new)? ?appointment", 2.5),
        (r"(?:set|get) (?:me )?up (?:with )?(?:an|a)? ?appointment", 2.5),
        (r"\bschedule (?:an|a|me|my|another|some)\b", 2.0), (r"new appointment", 2.5),
        (r"(?:see|seen by) (?:a|the|my) (?:doctor|provider|physician|dermatologist"
         r"|pediatrician|nurse practitioner)", 2.0), (r"\bsee doctor\b", 2.0),
        (r"get in (?:to see|with)|come in (?:for|to see)|squeeze me in|fit me in", 2.0),
        (r"\b(?:need|want|like|get|schedule|due for|book|make|set up) (?:a|an|my)? ?(?:annual )?"
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
        (r"cancel\w* .{0,40}(?:make|book|schedule|set up|get) (?:a new|another|new) one", 8.0),
        (r"come in (?:later|earlier|another|a different)|\binstead\b", 1.5),
        (r"\bpush (?:it|my|the)?\s*(?:appointment )?back\b", 3.0), (r"postpone", 3.0),
        (r"change (?:my|the|our|his|her) (?:appointment|time|day|date|visit)", 3.0),
        (r"(?:different|another|other|later|earlier|new) (?:day|time|date)", 2.5),
        (r"running (?:really |so |very )?late|need (?:to )?change"
         r"|(?:make|move|change) it (?:for|to)\b", 2.5),
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
        (r"(?:where|can i|can we|do i|to|place to|i can|we can|should i|he can|she can) park\b"
         r"|\bpark (?:my|the|in|at|there|here|out|for|on|it)\b|parking|garage", 2.5),
        (r"address|located|location|where are you"
         r"|where is the (?:clinic|office)|directions|how do i get|\bbus\b|\btrain\b", 2.5),
        (r"insurance|\bmedicare\b|\bmedicaid\b|\baetna\b|blue cross|cigna|united ?health"
         r"|do you (?:take|accept)", 2.0),
        # a holiday asked about the clinic being open, not a holiday said for context
        (r"(?:\bopen|\bclosed?|\bhours|\bworking|\bin the office)\b.{0,40}(?:holiday|christmas"
         r"|thanksgiving|new year|labor day|memorial day|fourth of july)|(?:holiday|christmas"
         r"|thanksgiving|new year|labor day|memorial day|fourth of july)\b.{0,40}\b(?:open|closed"
         r"|hours|working|in the office)\b", 2.0),
        (r"new patients?|accepting patients", 2.0),
        (r"\bfast(?:ing)?\b|\beat (?:before|breakfast|anything|something)|before (?:my|the|a)"
         r" (?:blood work|bloodwork|lab|labs|blood test|physical)", 4.0),
        (r"cancellation (?:policy|fee)|late fee|no show|fee (?:if|for)|cancel late"
         r"|late cancel", 4.0),
        (r"what (?:do|should) i (?:need to )?bring|bring (?:with me|to my)", 2.5),
        (r"\bonline\b", 3.0), (r"instead of coming in|rather than coming in", 4.0),
        (r"do you (?:guys |all )?(?:do|offer|have|provide|see)\b", 1.5), (r"after hours|nurse line"
         r"|at night|on the weekend", 1.5), (r"\bforms?\b|what (?:do i|should i) bring"
         r"|arrive early", 2.0), (r"how early", 3.5),
        (r"telehealth|video (?:visit|call|appointment)|virtual|online visit|\bvideo\b"
         r"|from home", 2.5),
        (r"interpreter|translator|spanish|speak (?:other )?languages", 2.0),
        (r"wheelchair|accessib|elevator|ramp|get into the building|walker|mobility", 3.0),
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

# --- by concept: a request verb within a few words of what it is about --------------
_APPT = (
    r"(?:appointment|appt|visit|booking|slot|checkup|checkups|physical|consult|consultation"
    r"|followup|sick visit|session)"
)
_NEAR = r"(?:\s+[\w']+){0,5}\s+"  # up to five words between
_DAYWORD = (
    r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|tomorrow|today|morning"
    r"|afternoon|evening|the \d+\w*|next week|in two weeks|\d+ ?(?:am|pm|oclock))"
)
BROAD: dict[Intent, list[tuple[str, float]]] = {
    Intent.BOOK: [
        (rf"\b(?:book|schedule|make|set up|arrange|reserve|grab|organi[sz]e|get)"
         rf"{_NEAR}{_APPT}", 3.0),
        (r"(?:can|could|may|would) (?:i|we|you|my \w+|he|she) (?:possibly )?(?:come in|be seen"
         r"|get seen|get (?:in|booked)|see (?:a|the|doctor|someone|somebody|doc))", 2.5),
        (r"(?:somebody|someone|a doctor|the doctor|doctor \w+|doc \w+) (?:to )?(?:can )?"
         r"(?:see|look at|check|take a look|have a look)", 2.5),
        (r"(?:see|seen|see doc|see doctor) (?:doctor|doc|dr) \w+", 2.5),
        (r"get (?:my|his|her|their|our|a|this) [\w ]{1,20}(?:checked|looked at|seen)"
         r"|looked at|take a look", 2.5),
        (rf"(?:something|anything|a spot|room) (?:on|for|at|in|next|this|{_DAYWORD})", 3.0),
        (rf"\b(?:free|available|doable|open|possible)\b(?:\s+[\w']+){{0,4}}\s+{_DAYWORD}"
         rf"|{_DAYWORD}(?:\s+[\w']+){{0,4}}\s+(?:free|available|doable|possible)\b", 2.0),
        (r"\bcome in\b|get (?:him|her|them|us|me) in\b|need (?:our|my|a|his|her) checkups?", 2.0),
    ],
    Intent.RESCHEDULE: [
        (rf"(?:have|has|got) an? {_APPT}\b.{{0,120}}\b"
         r"(?:instead|rather|another day|different day)", 2.5),
        (rf"\b(?:push|shift|move|change|switch|swap|bump|rebook|re schedule|rearrange"
         r"|put(?! (?:down|in|me|him|her|us|them)\b))"
         rf"{_NEAR}(?:{_APPT}|it|that)\b", 2.5),
        (rf"(?:{_APPT}|it|that) (?:forward|back|earlier|later)\b|bring (?:it|my \w+|\w+) forward"
         r"|put (?:it|that) back|re schedul|rearrange|rebook", 3.0),
        (r"(?:later|earlier) in the day|an hour (?:earlier|later)|a bit (?:later|earlier)"
         r"|(?:later|earlier) (?:time|slot|date)", 2.5),
        (r"(?<!that time )(?<!that day )(?<!that one )(?<!that )"
         r"(?:doesn't|does not|won't|no longer|not going to) work(?:s|ing)? (?:for me|anymore)"
         r"|(?:mixed|got) (?:the|my) days?|wrong (?:day|week)|just not on", 2.5),
        (rf"(?:{_APPT}|booked|booked in) .{{0,50}}\b(?:instead|rather|to the \d+\w*)"
         r"|\bbooked (?:in )?.{0,50}\bfor the \d+\w*", 2.0),
    ],
    Intent.CANCEL: [
        (rf"\b(?:scrap|drop|remove|delete|call off|cancel){_NEAR}?(?:{_APPT}|it)\b", 3.0),
        (r"(?:won't|will not|not|no longer) (?:be )?need(?:ing)? (?:it|that|this|the \w+)", 3.0),
        (r"(?:not|won't be) (?:coming|coming in|able to come)(?! (?:on|at|this|tomorrow|today))"
         r"|can't make it at all", 2.5),
    ],
    Intent.APPOINTMENT_STATUS: [
        (r"remind me|double check(?:ing)?|(?:confirm|check) (?:the )?(?:time|day|date)", 3.0),
        (r"what (?:day|date|time) (?:am i|did i|was|is|are) (?:booked|in|my|it|the)"
         r"|which doctor|what doctor|(?:did|has) my \w+(?: [\w']+){0,4}"
         r" (?:go through|get booked)|have i got anything|anything coming up|do i still have"
         r"|still on for", 3.5),
        (rf"(?:can't|cannot|couldn't) find my (?:{_APPT}|card)|appointment card|(?:text|email)"
         r" reminder|reminder (?:about|for)|what time was", 3.0),
    ],
    Intent.CLINIC_INFO: [
        (r"how late|what time (?:do|are) (?:you|you guys)|(?:are|is) (?:you|you guys|the \w+)"
         r" (?:there|open)|open (?:late|early)", 2.5),
        (r"leave my car|where (?:do|can|should) i (?:park|leave)|(?:is|are) the parking", 3.0),
        (r"how (?:would|do|can|should) i (?:go about|become|get|sign up|register|request"
         r"|reach|get to)|(?:easiest|best|quickest) way|is there (?:a|an|any)\b|do you have anyone"
         r"|anyone who speaks|\bspeaks? \w+\b", 2.0),
        (r"get(?:ting)? ready for|prepare for|anything i (?:need|should|have) to do", 4.0),
        (r"how much notice|\bnotice\b|missed (?:appointments?|visits?)"
         r"|charge (?:people )?for (?:missed|missing|no show|late)", 4.0),
        (r"over the weekend|who do i (?:ring|call)|out of hours|when you're closed", 2.5),
        (r"paperwork|fill (?:in|out)|zoom|over the phone|\bvirtual", 3.0),
        (r"(?:chart|records?) (?:transferred|sent|moved)|switching doctors|in the building", 2.5),
        (r"new people|becoming a patient|become a patient|old patients", 3.0),
        (r"don't drive|(?:from|near) (?:the )?(?:\w+ )?station|reach you", 2.5),
    ],
    Intent.REFILL: [
        (r"top ?up|renew(?:ed|al)?|running low|run low|blood thinner|ventolin|tablets|\bmeds\b"
         r"|water pill|puffer|repeat prescription", 2.5),
    ],
    Intent.BILLING: [
        (r"receipt|itemi[sz]ed|\bhsa\b|\bfsa\b|superbill|payment plan|sent to collections", 4.0),
        (r"overpaid|paid twice|double charged|charged twice", 3.0),
    ],
    Intent.TEST_RESULTS: [
        (r"come back (?:okay|ok|fine|positive|negative|normal|clear)|(?:did|has|have|is) (?:my|the"
         r"|his|her) [\w ]{1,25} (?:come|came) back|flagged|abnormal|\ba1c\b|potassium"
         r"|pap smear|\bstrep\b|\bekg\b|\becg\b|swab|what does (?:that|it|this|my \w+) mean"
         r"|my numbers|test (?:came|come)|\ba ?1 ?c\b"
         r"|(?:sent|send|got) (?:anything|something) back", 3.0),
        (r"calling about the (?:\w+ )?(?:test|scan|ekg|ecg|x ray|mri|labs?|bloodwork)", 2.5),
    ],
    Intent.GOODBYE: [
        (r"\bcheers\b|ta ra|\btara\b|covers it|that's everything|nothing more|that'll do", 2.5),
    ],
}  # fmt: skip

EMERGENCY += (
    r"|throat (?:feels like it's |feels |is )?(?:closing|swelling|tight)|can't swallow"
    r"|(?:face|tongue|lips|mouth) (?:is |are )?(?:all )?swell|whole face|stung .{0,40}swell"
    r"|whole bottle|whole pack|took (?:a lot|all) of|better off without me|end it\b"
    r"|no reason to live|don't want to be here|soaking|blood everywhere|bleeding (?:very )?much"
    r"|(?:pregnant|pregnancy) .{0,40}bleed|ribs (?:are )?sucking"
    r"|breathing (?:really |very |so )?fast"
    r"|struggling to breathe|lips (?:are )?blue|shaking all over"
    r"|fitting(?! (?:me|him|her|us|them|it|that) in)|(?:can't|won't|cannot)"
    r" wake\b(?! up (?:early|in time|on time|at|that early|so early))|not making (?:any )?sense"
    r"|jaw and (?:my )?left arm|left arm .{0,30}(?:ach|pain|hurt)"
    r"|clammy|cold sweat|can't feel (?:the )?(?:left|right) side|(?:left|right) side of my body"
    r"|vision (?:went|is|has gone) (?:weird|blurry|black|dark)|face (?:is )?drooping"
    r"|not breathing (?:right|properly|well)|turning (?:grey|gray|purple)"
)
PERSON += (
    r"|(?:somebody|someone|a person) on the line|get me (?:someone|somebody)|practice manager"
    r"|\bmanager\b|secretary|nurses? station|this isn't working"
    r"|(?:speak|talk) (?:with|to) (?:the |a |my )?(?:\w+ )?"
    r"(?:manager|secretary|nurse|her|him|someone|somebody|office)"
    r"|(?:around|available) to (?:talk|speak)|is (?:doctor \w+|the doctor|the nurse|doctor \w+'s"
    r" nurse) (?:around|available|in)\b.{0,20}(?:talk|speak|available)|\bcomplaint\b"
)

# --- what callers say instead of asking: a problem, a worry, a situation -------------
_SYMPTOM = (
    r"(?:rash|cough|fever|sore throat|earache|ear infection|ears?|runny nose|itch\w*|infection"
    r"|cold|flu|sick(?! visit| appointment| note)|throwing up|diarrh\w+|uti|burning|back pain"
    r"|headaches?|sinus\w*|wart|mole"
    r"|lump|spot|pain in (?:my|his|her|the) (?:knee|back|hip|shoulder|foot|ankle|wrist|elbow|neck))"
)
SITUATIONS: dict[Intent, list[tuple[str, float]]] = {
    Intent.BOOK: [
        (rf"(?:i've had|i have had|i have|i've got|i got|got|has had|has) (?:a |an |this |some )?"
         rf"(?:\w+ )?{_SYMPTOM}", 2.0),
        (r"for (?:two|three|four|five|a few|several|\d+) (?:days|weeks)"
         r"|since (?:last|yesterday)", 0.5),
        (r"taking (?:new )?appointments|slot me in|pop in|see a (?:family |new )?doctor"
         r"|for a (?:first |quick )?checkup|recheck|well child|first checkup", 2.5),
        (r"is there (?:a|an|any) (?:time|slot|opening|spot|space)|do you have (?:a|any) (?:time"
         r"|slot|opening|spot)", 3.5),
        (r"(?:need|needs|want|wants) (?:me |him |her )?(?:to be )?seen|see my (?:primary|regular"
         r"|family|usual) doctor|wants me to see|(?:come|coming) back in|need to come (?:back )?in"
         r"|get (?:the|my) (?:little one|baby|kid|son|daughter) in", 3.0),
    ],
    Intent.RESCHEDULE: [
        (r"can't do (?:the|my|it|that)|(?:would|could|is) (?:the )?\d+\w* (?:be )?(?:alright|ok"
         r"|okay|possible|better)|make it (?:the|on|for|to|at)\b|\bslide\b", 2.5),
        (r"(?:a )?different doctor|instead of doctor|see doctor \w+ instead", 3.0),
        (r"can (?:only )?come (?:only )?in the (?:evening|morning|afternoon)|i must work", 2.0),
    ],
    Intent.CANCEL: [
        (r"(?:no|not|won't|will not|can't|cannot) (?:be able to )?(?:come|attend|be there)"
         r"|give (?:it|the \w+) to (?:another|other|someone)|remove me from", 3.5),
    ],
    Intent.APPOINTMENT_STATUS: [
        (rf"when(?:'s| is| was) (?:my|the|his|her|our) (?:\w+'s )?(?:next )?{_APPT}"
         rf"|time of my {_APPT}|(?:which|what) day (?:is|was|it)|still going ahead|still on\b"
         r"|(?:am|i'm) on for|just confirming|did you get my|look (?:it|me) up|by mistake"
         r"|where in the day|when i'm (?:coming|supposed)|still got|she think she has"
         r"|(?:thinks?|think) (?:she|he|i) (?:has|have) (?:an )?appointment", 3.5),
    ],
    Intent.CLINIC_INFO: [
        (r"(?:till|until) what time|what time .{0,12}open|answering the phones|after five"
         r"|three in the morning|who am i supposed to call|who (?:do|should) i call", 3.5),
        (r"where is (?:the |riverside )?\w+|is it near|public transport|don't have a car"
         r"|taking on new|new families|accepting new", 3.0),
        (r"can i (?:still )?have (?:my )?(?:coffee|water|breakfast|food|tea)|before (?:the|my)"
         r" \w+ test|do i need to bring|bring anything|list of my", 4.0),
        (r"wheel ?chair|steps|stairs|get in ok|lab on site|on site|in house", 3.0),
    ],
    Intent.REFILL: [
        (r"i'm out\b|(?:out|ran out|run out) (?:of (?:my )?\w+ )?as of|last of my|another \w+ days"
         r"|refill request|allergy spray|nasal spray|eye drops|okay another", 3.0),
        (r"antidepressant|antibiotic|birth control|blood pressure (?:pills|meds|medication)"
         r"|warfarin|gabapentin|levothyroxine|synthroid|prednisone|albuterol|zoloft|prozac"
         r"|xanax|adderall|oxycodone|tramadol|metformin|lisinopril|atorvastatin|amlodipine", 2.0),
    ],
    Intent.BILLING: [
        (r"send you a check|pay by (?:check|mail|phone)|proof (?:that )?i paid|for (?:our|my) taxes"
         r"|what's the charge|(?:got|was|been) charged|taken off|waive", 4.0),
    ],
    Intent.TEST_RESULTS: [
        (r"(?:would|will|is) (?:that|it|the \w+) (?:be )?back|any word on|nobody called"
         r"|(?:looked at|read|reviewed) my \w+ (?:study|scan|test|results|report|x ray)"
         r"|ring me back with|report back|the report|sleep study|bone density|stool sample"
         r"|blood sugar numbers|took (?:some )?blood", 3.5),
    ],
    Intent.GOODBYE: [
        (r"let you get on|you've been a (?:great )?help|that's lovely|thanks for your help", 2.5),
    ],
}  # fmt: skip

EMERGENCY += (
    r"|speech (?:went|is|was) (?:all )?(?:funny|strange|weird|slurred)|mouth (?:is )?drooping"
    r"|face (?:looks|is) crooked|can't lift (?:her|his|my) arm|mumbling|asthma attack"
    r"|inhaler (?:isn't|is not|not) helping|can't finish a sentence|on purpose"
    r"|whistl\w* (?:\w+ ){0,4}breath|breath\w* (?:\w+ ){0,3}whistl"
    r"|kill(?:ing)? (?:my|him|her)self|bleeding heav|pale and dizzy|water broke|having a fit"
    r"|jerking|lips (?:are )?(?:going |turning )?blue|tightness in (?:my|his|her) chest"
    r"|arm feels heavy|spurting|too many of (?:my|his|her)"
)
PERSON += (
    r"|(?:girl|lady|someone|somebody|person) at the desk|transfer please|in charge"
    r"|(?:speak|talk) (?:to|with) the (?:care team|medical assistant)"
    r"|calling from (?:doctor|dr) \w+'?s? office|calling from .{0,30}hospital|social worker"
    r"|left me a message|\w+s nurse\b|(?:machines?|computers?) confuse me"
)

EMERGENCY += intent_callers.EMERGENCY + intent_voices.EMERGENCY + intent_asks.EMERGENCY
EMERGENCY += intent_second_language.EMERGENCY
PERSON += intent_callers.PERSON + intent_voices.PERSON + intent_asks.PERSON
NOT_A_MACHINE += intent_voices.NOT_A_MACHINE + intent_asks.NOT_A_MACHINE

# every intent listens for its own phrases, then by concept, then for situations, then
# for what a third and a fourth author's callers said (intent_callers.py,
# intent_voices.py), questions that read like another request (intent_asks.py) and
# requests said without the usual words (intent_indirect.py); `other` only for calls not
# meant for the clinic
_ALL = (
    BROAD,
    SITUATIONS,
    intent_callers.CALLERS,
    intent_voices.VOICES,
    intent_asks.ASKS,
    intent_indirect.INDIRECT,
    intent_second_language.SECOND_LANGUAGE,
    intent_everyday.EVERYDAY,
)
for _more in _ALL:
    for _intent, _rows in _more.items():
        TABLE[_intent] = [*TABLE.get(_intent, []), *_rows]
