"""Everyday requests by concept (misses on the unseen first runs of lines_dev14 and
lines_dev15: a family practice's ordinary day, and parents and carers): a visit checked
for someone else ("whether she has anything this week", "when's his next check up", "do i
have a physical coming up", "i forgot what day you gave me"); a cancel as "take him off
the schedule", "not gonna make it"; a change as "can't make the 8 am, is there anything at
11", "my follow up is on the 16th ... could we do the 18th", "make it ... instead", "i was
gonna cancel but"; a booking as "a video visit", "fit her in", "a saturday opening", "the
earliest you have". Merged into the tables of appliance/workflows/intent_phrases.py;
words as `wording.normal` writes them.
"""

from __future__ import annotations

from appliance.llm.understanding import Intent

# (as `wording.normal` writes them: "check up" and "well check" are "checkup", "follow up"
# is "followup")
_KIND = (
    r"(?:appointment|visit|checkup|physical|followup|consult\w*|sick visit|well child check|shots)"
)
# a change of plan, not a cancel: "... can we do friday", "is there anything at 11"
_INSTEAD = (
    r"(?:instead|another|different|how about|what about|can (?:i|we)|could (?:i|we)|move"
    r"|earlier|later|reschedul\w*|is there anything)"
)

EVERYDAY: dict[Intent, list[tuple[str, float]]] = {
    Intent.APPOINTMENT_STATUS: [
        (r"\b(?:if|whether|does|do) (?:[\w']+ ){0,4}?(?:has|have) (?:anything|something"
         r"|an appointment) (?:scheduled|booked|coming up|this week|next week|on the books)\b"
         r"|\b(?:forgot|don't remember|can't remember|forget) (?:what|which) (?:day|time|date)"
         r"|\bwhen(?:'s| is) (?!the next available)(?:[\w']+ ){1,3}(?:next )?"
         r"(?:appointment|visit|checkup|physical|followup)\b", 4.0),
        (rf"\bdo (?:i|we) have (?:a|an|my) (?:[\w']+ ){{0,2}}{_KIND} (?:coming up|booked"
         r"|scheduled|on)\b"
         rf"|^is (?:the|my|his|her|our) (?:[\w']+ )?{_KIND} (?:for (?:my )?\w+ )?(?:this|on|at"
         r"|tomorrow|today|next|still|in the)\b"
         r"|\b(?:confirm|double check) (?:my|his|her|our|the) [a-z]+'s (?:\d|appointment|visit"
         r"|checkup|physical)", 4.0),
        (r"\bwhat times? (?:is )?(?:my|his|her|our) (?:appointment|visit)\b|\bdid (?:i|we|he|she)"
         r" (?:get|got) (?:booked|scheduled|put down)\b|\bis (?:that|it|my \w+) still happening\b"
         r"|\bare you (?:still )?seeing (?:me|him|her|us)\b", 4.5),
    ],
    Intent.CANCEL: [
        (r"\btake (?:[\w']+ ){1,3}?off (?:the |your )?(?:schedule|books|calendar|list)\b"
         r"|\b(?:could|can|would) you (?:please )?take (?:it|that|them|her|him) off\b", 4.0),
        (rf"\bnot (?:gonna|going to) make it\b(?!.{{0,60}}\b{_INSTEAD})"
         rf"|\b(?:won't|will not) be able to make (?:it|my|the|his|her|our)\b"
         rf"(?!.{{0,60}}\b{_INSTEAD})", 3.5),
    ],
    Intent.RESCHEDULE: [
        # a visit that cannot be kept, and another asked for in the same breath: stronger
        # than the booking words it holds ("can i get another slot like friday")
        (r"\b(?:can't|cannot|won't|not gonna|not going to|unable to) make (?:it|the|my|his|her"
         r"|our)\b.{0,60}\b(?:is there|do you have|have you got) (?:anything|something|another"
         r"|any)\b"
         rf"|\b{_KIND} (?:with (?:doctor |dr )?\w+ )?is (?:on|at|for)\b.{{0,70}}"
         r"\b(?:could|can) (?:we|i|you) (?:do|make it|move|change|have)\b"
         r"|\bsupposed to (?:come|be) (?:in )?.{0,60}\bbut\b.{0,60}\b(?:what do you have"
         r"|anything|another|different)\b"
         r"|\b(?:have|had|got) an? (?:appointment|visit)\b.{0,60}\b(?:so|but) (?:can|could)"
         r" (?:we|i) (?:do|make it|have)\b"
         r"|\bbooked (?:a |an |my )?(?:\w+ )?(?:for|at|on) .{0,30}\bbut (?:i|we) (?:need|have|want)"
         r" to (?:come )?(?:earlier|later|sooner)"
         r"|\bbooked\b.{0,60}\b(?:can|could) (?:we|i|you) (?:do|make|move) it (?:sooner|earlier"
         r"|later)\b|\bappointment(?:'s|s| is)? (?:on )?\w+day\b.{0,60}\b(?:can|could) (?:i|we)"
         r" (?:come|do|make it|have)\b.{0,40}\binstead\b", 8.0),
        (r"\bmake it\b.{0,40}\binstead\b|\b(?:was|were) (?:gonna|going to) cancel\b.{0,20}\bbut"
         r"|\b(?:appointment|visit|booked) .{0,40}(?:anything|something) (?:earlier|sooner"
         r"|later)\b|\bmove (?:[\w']+ ){0,4}?(?:up|back|out) to\b"
         r"|\breschedule (?:my|his|her|our|the) ", 5.0),
    ],
    Intent.BOOK: [
        (r"(?:i'd like|i want|i need|can i (?:get|have|book|schedule|do)|set up|schedule|book)"
         r" (?:a|an) (?:video|virtual|phone|telehealth|online) (?:visit|appointment|call|consult)"
         r"|\bfit (?:[\w']+ ){1,3}in\b|\bfit in (?:me|him|her|us|them|my \w+|[a-z]+ [a-z]+)\b"
         r"|do you have (?:a|an|any) (?:[\w']+ )?(?:opening|openings|slot|spot|availability"
         r"|appointments?)\b|\b(?:can|could) (?:we|i) do a (?:video|virtual|phone) visit\b",
         4.0),
        (r"\bput down [a-z]+ [a-z]+\b.{0,40}\bfor (?:a|an|the|his|her)\b"
         r"|\bget the (?:earliest|first|next) (?:you have|available|opening|slot|appointment)",
         3.0),
    ],
    Intent.CLINIC_INFO: [
        (r"\bis there (?:somewhere|anywhere|a place) (?:i|we) can\b"
         r"|\bdoes (?:anybody|anyone|somebody|someone) (?:there|here) do\b"
         r"|\bis (?:doctor|dr) \w+ (?:even )?(?:in|working|in the office)\b"
         r"|\b(?:do|does) (?:i|we|he|she|my \w+) (?:have to|need to) not eat\b"
         r"|\bis there anything (?:i|we) should bring\b", 4.0),
    ],
    Intent.BILLING: [
        (r"\bpay (?:what (?:i|we) owe|my bill|my balance|the balance)\b|\bwhat (?:i|we) owe\b"
         r"|\bupdate (?:the |my )?insurance\b|\binsurance (?:changed|on file|on my account)\b"
         r"|\bupdate it on my account\b", 4.0),
        (r"\bwhy (?:did|do) (?:i|we) (?:get|have) (?:a|an|this|that) .{0,25}(?:fee|charge|bill)\b",
         6.0),
    ],
    Intent.OTHER: [
        (r"\bwhat (?:the|is the|'s the) weather\b|\bweather(?:'s| is)? (?:gonna|going to) be\b"
         r"|\b(?:supposed|going) to (?:snow|rain)\b|\b(?:amazon|ups|fedex) (?:package|delivery)"
         r"|\bmy package\b|\breturn a (?:\w+ )?gift\b|\b5k\b|\bfun run\b", 6.0),
    ],
    Intent.SPEAK_TO_PERSON: [
        (r"\b(?:someone|somebody|anyone|anybody|a person) in (?:billing|scheduling|records"
         r"|the office)\b.{0,30}\b(?:talk|speak)|\b(?:talk|speak) (?:to|with) (?:someone|somebody"
         r"|a person) in (?:billing|scheduling|records)\b|\bcan i (?:have|get) a person\b", 6.0),
    ],
    Intent.TEST_RESULTS: [
        (r"\bmy (?:lab|blood|test|cholesterol|a1c) (?:numbers|levels|values)\b"
         r"|\babout my (?:a1c|cholesterol|psa|thyroid levels)\b", 4.0),
    ],
    Intent.INFORM: [
        (r"^(?:any ?day|any ?time|whenever|whoever'?s?|whichever|anyone|anybody)\b.{0,20}"
         r"\b(?:available|free|open|but|except)\b|^(?:\d{1,2}|noon)(?::\d\d)? (?:is|works|would be)"
         r" (?:fine|good|great|perfect|ok|okay)\b", 3.0),
    ],
    Intent.GOODBYE: [
        (r"(?:(?:thank you|thanks)(?: so much| very much)?|bye)\b,? you too$"
         r"|^(?:(?:ok|okay|great|perfect|alright|all right|thanks|thank you),? )*see you"
         r" (?:on )?(?:\w+day|tomorrow|then|the \d+\w*|next week)(?: then)?$"
         r"|^(?:no|nah|nope)?,? ?(?:i think )?(?:i'm|we're|i am) (?:good|all good),?"
         r" thanks?(?: you)?$"
         r"|^(?:(?:ok(?:ay)?|cool|alright|great),? )+(?:see ya|see you|later|bye now)$"
         r"|^(?:(?:ok(?:ay)?|great|perfect|alright|thanks),? )*see ya (?:on )?(?:\w+day|tomorrow"
         r"|then|the \d+\w*)(?: then)?$|\bhave a (?:good|nice|great|happy) (?:holiday|holidays"
         r"|new year|christmas|thanksgiving)\b",
         4.0),
        (r"(?:thank you|thanks|bye|bye now)(?: so much)?,? (?:and )?(?:merry christmas|happy"
         r" holidays|happy new year|happy thanksgiving)\b|\b(?:merry christmas|happy holidays),?"
         r" (?:bye|bye now|goodbye|take care)\b", 6.0),
    ],
}  # fmt: skip
