"""The triage rule set: what patients write when something is wrong, and what changes its meaning.

Plain Python data (no Django, no spaCy): `messaging/triage.py` turns these into medspaCy
TargetRules and ConTextRules. Kept apart so clinicians can read and review the rules as a list,
and so the rules can be checked without building a pipeline.

Phrase syntax (one phrase = one spaCy Matcher pattern, one slot per token):
- `a|b|c`     one token whose lemma is any of these (lemmas are lower-case, see `lemma()`, so
              "VOMITED", "vomitting" and "vomits" all have the lemma "vomit");
- `slot?`     the slot is optional;
- `~N`        up to N tokens of anything in the same sentence (a gap: "blood in my poo");
- `$group`    a named word group below (`$poo`, `$belly`, ...), usable with `|` and `?`;
- `#num`      a number ("8", "ten"); `#many` a number that is not a normal dose (not 1-3);
- `=word`     exactly this lower-cased word, not its lemma ("=cutting" but not "cut");
- `!a|b`      one token that is none of these.
Write for the words patients use (slang, misspellings, British and American spelling), not for
a test corpus: every rule is checked by tests/messaging/triage_corpus.jsonl, and an independent
set kept outside the project measures the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass

from carecore.clinical.severity import Severity

# --- lemmas -----------------------------------------------------------------------------------

# Irregular forms, spelling variants (British/American), misspellings and slang, each mapped to
# the lemma the phrases use. Regular inflections (-s, -es, -ed, -ing, doubled consonants) are
# handled by `lemma()` for every word that appears in a phrase.
LEMMA_VARIANTS: dict[str, str] = {
    # tokenizer pieces: spaCy splits "can't" into "ca" + "n't", "cant" into "ca" + "nt", "wanna"
    # into "wan" + "na", "gonna" into "gon" + "na", "cannot" into "can" + "not".
    "not": (
        "n't nt n\u2019t never dosnt doesent dosent dident havnt hasnt didnt doesnt isnt wasnt "
        "arent werent havent couldnt wouldnt shouldnt"
    ),
    "trouble": (
        "truble troble trubble difficulty dificulty difficulity difficultly dificult difficult"
    ),
    "bring": "brought bringing brings brung",
    "can": "ca could cud",
    "will": "wo would ll 'll wuld wud woud whould",
    "better": "beter bettr betta",
    "want": "wan wanna wana wnt",
    "going": "gon gonna goin",
    "to": "na ta 2",
    "myself": "meself myslef mysef myselfe mself urself",
    "i": "im i'm ive i've id i'd",
    "be": "am is are was were been being 'm m 's 're re",
    "have": "has had having 've ve got get gotten getting",
    "do": "does did doing done",
    # breathing
    "breathe": (
        "breath breaths breathing breathin breating brething breth brethe breate breahte breahting "
        "breaths brreathe"
    ),
    "breathless": "breathlessness winded",
    "wheeze": "wheezy wheezing wheezed wheezes",
    "gasp": "gasping gasped",
    # vomiting
    "vomit": (
        "vomitting vommiting vommitting vomitted vommited vomiting vomited vommit vomt vomitin vom "
        "vomming barfing barf barfed emesis"
    ),
    "puke": "puking puked puk pukeing spew spewing spewed hurl hurling hurled chunder chundering",
    "throw": "threw thrown throwing throwin throws trew",
    "sick": "sicked",
    "retch": "retching heaving heave dry heaving",
    # blood and bleeding
    "blood": "bloood blod bloodd blud",
    "bleed": "bleeding bled bleedin bleding bledding bleeds bleedng",
    "bloody": "bloodied blood-stained bloodstained bloodie",
    "spot": "spotty spots",
    "bump": "bumpy bumps",
    "haemorrhage": "hemorrhage hemorrhaging haemorrhaging hemmorhage hemorrage",
    "haemorrhoid": "hemorrhoid hemorrhoids haemorrhoids piles",
    # stool and toilet
    "poo": (
        "poop poos poops pooh poo's stool stools bm bms faeces feces motion motions crap shit "
        "shits turd turds number2 twos number2s no2s poopoo doodoo pooing pooped pooed pooping "
        "stoool stoll"
    ),
    "diarrhoea": (
        "diarrhea diarhea diarrea diarrhoe diarhoea diarrohea diahrrea diareah runs squits trots"
    ),
    "loo": "toilet bathroom restroom lav lavatory wc john bog potty",
    "bottom": "bum butt arse ass backside behind anus rectum rear bumhole butthole rectal anal",
    "wipe": "wiping wiped wipes",
    "tarry": "tar tarlike tar-like sticky",
    "melaena": "melena malena",
    # belly
    "stomach": (
        "stomache stomack stomac stomachache tummy belly abdomen abdominal abdo gut guts tum "
        "tummyache bellyache"
    ),
    "pain": (
        "pains painful ache aches aching achy hurt hurts hurting sore cramp cramps cramping pian "
        "pane"
    ),
    # chest and heart
    "tongue": "tounge tung toungue tonge",
    "chest": "chesst chets cheast chect chset chestt",
    "tight": "tightness tighter tightening tighten constricted constricting",
    "pressure": "pressing heaviness heavy crushing crushed squeezing squeeze squeezed",
    # skin
    "rash": "rashes rashy spots spotty blotches blotchy hives",
    "blister": "blisters blistering blistered blistery vesicles vesicle bubbles",
    "peel": "peeling peeled peels peling pealing peelin shedding shed sloughing slough",
    "eczema": "excema eczma exema ecsema eczemia ekzema dermatitis atopic",
    "swollen": (
        "swelling swell swelled swells swolen swolled puffy puffed puff ballooned ballooning swole"
    ),
    "fever": (
        "feverish fevers fevar fevor fevere temperature temp febrile pyrexia feaver fevah "
        "temprature temperture"
    ),
    "chills": "chill shivers shivering shivery rigors rigours",
    "yellow": "yellowish yellowy yellowing yelow yellowed",
    "jaundice": "jaundiced jaundise jandice",
    # mind
    "suicide": "suicidal suicidial sucidal suicidle suiside suicidel suisidal suicid sucide",
    "kill": "killing killed kil kills",
    "die": "dying died dead death dies dyin",
    "overdose": "overdosed overdosing od od'd oded o.d. overdoes overdoze",
    "pill": (
        "pills tablets tablet tabs meds medication medications medicine paracetamol acetaminophen "
        "tylenol ibuprofen painkillers painkiller antidepressants capsules codeine codamol aspirin "
        "insulin lithium amitriptyline sertraline diazepam oxycodone morphine tramadol propranolol "
        "citalopram fluoxetine zopiclone quetiapine pregabalin gabapentin"
    ),
    # other
    "faint": "fainted fainting fainty feint feinted",
    "collapse": "collapsed collapsing colapsed colapse",
    "unconscious": "unresponsive unconcious unconsious",
    "seizure": "seizures seizing fit fits fitting convulsion convulsions convulsing",
    "swallow": "swallowing swallowed swalow swallo swollow swollowing",
    "vision": "sight eyesight visión",
    "weight": "wieght wight weigh",
    "kilo": "kilos kg kgs kilograms kilogram pounds pound lb lbs stone stones st",
    "lose": "lost losing loosing dropped dropping drop",
    "night": "nights nite overnight nighttime night-time 3am 2am 4am",
    "mum": "mom mother mam ma mommy mummy mama",
    "dad": "father papa daddy pa da",
}

# Regular inflections tried, in order, when a word is not listed above: (suffix, replacement).
_SUFFIXES: tuple[tuple[str, str], ...] = (
    ("ies", "y"),
    ("ied", "y"),
    ("ing", ""),
    ("ing", "e"),
    ("ed", ""),
    ("ed", "e"),
    ("es", ""),
    ("s", ""),
)

# --- word groups ------------------------------------------------------------------------------

GROUPS: dict[str, str] = {
    "poo": "poo|diarrhoea|loo|bowel|bottom|wipe|paper|movement|stool|pan|bowl",
    "stoolword": "poo|diarrhoea|bowel|movement",
    "belly": "stomach",
    "severe": (
        "severe|severly|worst|excruciating|unbearable|agonising|agonizing|extreme|terrible|"
        "horrendous|horrible|intense|crippling|awful|killing|insane|unreal"
    ),
    "me": "myself",
    "pill": "pill",
    "family": (
        "mum|dad|brother|sister|son|daughter|husband|wife|partner|grandma|grandmother|"
        "granny|nan|nana|grandad|grandpa|grandfather|aunt|auntie|uncle|cousin|friend|"
        "boyfriend|girlfriend|kid|kids|child|baby|niece|nephew|flatmate|roommate|neighbour|"
        "neighbor|colleague|fiance|fiancee|stepdad|stepmum|parent|parents|sibling|twin|"
        "family|relative"
    ),
}

# Words common in routine messages to a dermatology and gut clinic. Only used to choose which
# word of a phrase the cheap prefilter looks for (see triage.candidate_sentences), never to
# decide a flag.
EVERYDAY: frozenset[str] = frozenset(
    [
        "eczema",
        "skin",
        "rash",
        "patch",
        "face",
        "hand",
        "hands",
        "stomach",
        "pain",
        "poo",
        "diarrhoea",
        "loo",
        "bowel",
        "itch",
        "cream",
        "red",
        "spot",
        "night",
        "sleep",
        "sick",
        "weight",
        "lose",
        "eye",
        "eyes",
        "mouth",
        "lip",
        "lips",
        "arm",
        "arms",
        "leg",
        "legs",
        "back",
        "body",
        "fever",
        "swollen",
        "blister",
        "bottom",
        "wipe",
        "paper",
        "movement",
        "stool",
        "pan",
        "bowl",
        "go",
        "pill",
        "food",
        "day",
        "days",
        "week",
        "weeks",
        "month",
        "months",
        "time",
        "every",
        "keep",
        "next",
        "new",
        "little",
        "small",
        "lot",
        "lots",
        "many",
        "bad",
        "worse",
        "better",
        "good",
        "hot",
        "warm",
    ]
)

# --- target concepts -------------------------------------------------------------------------


@dataclass(frozen=True)
class Concept:
    """Something a patient can say: one target label for medspaCy's TargetMatcher."""

    code: str
    phrases: tuple[str, ...]


CONCEPTS: tuple[Concept, ...] = (
    # emergency ---------------------------------------------------------------------------
    Concept(
        "airway_swelling",
        (
            "throat|tongue|lip|lips|face|mouth|airway ~3 swollen|tight|close|closing|shut",
            "swollen ~2 throat|tongue|lip|lips|face|mouth",
            "throat ~3 feel|feels|like ~3 close|closing|shut|tight",
            "eye|eyes ~2 swollen ~1 shut",
            "tongue|lip|lips|throat ~3 thick|tingle|tingling|tingly|huge|fat|massive",
            "face|lip|lips|tongue|throat|eye|eyes ~2 blown ~1 up",
            "anaphylaxis|anaphylactic|angioedema|angio",
            "allergic reaction|shock",
            "epipen|epi|adrenaline",
            "hives ~6 breathe|throat|tongue|lip|lips|swollen",
            "can not ~1 swallow ~3 saliva|spit",
        ),
    ),
    Concept(
        "breathing",
        (
            "trouble|difficulty|difficult|hard|struggle|struggling|problem|problems|can|"
            "unable|barely|hardly|cant ~2 breathe",
            "can not ~3 breathe",
            "short|shortness ~1 of breathe",
            "out of breathe",
            "breathless|wheeze|gasp|suffocate|suffocating|choke",
            "can not ~2 catch|get ~2 breathe|air",
            "struggle|struggling|fight|fighting|gasp ~2 for ~1 air|breathe",
            "breathe ~3 difficult|hard|laboured|labored|fast|rapid|shallow|weird|noisy|tight",
            "lips|lip|face|fingers ~3 blue|grey|gray",
            "sob",
            "asthma ~1 attack",
            "inhaler ~4 not ~2 work|help|touch",
        ),
    ),
    Concept(
        "chest_pain",
        (
            "chest ~3 pain|tight|pressure|burn|burning|kill|weird|funny|discomfort|stab|"
            "stabbing|squeeze|weight|elephant",
            "pain|tight|pressure|discomfort|stab|stabbing|burn ~7 chest",
            "sit|sitting|sat|standing|elephant|weight ~3 on ~2 chest",
            "heart attack|attacks",
            "angina|cardiac",
            "pain ~4 left arm|jaw ~3 chest|sweat|sweaty|sick",
            "elephant ~3 chest",
            "heartburn|indigestion|chest ~6 arm|jaw",
        ),
    ),
    Concept(
        "vomiting_blood",
        (
            "vomit|puke|retch ~5 blood|bloody|red|coffee",
            "sick !of ~6 blood|bloody|red|coffee",
            "throw|bring|cough|coughing ~1 up ~5 blood|bloody|red|coffee",
            "blood|bloody ~4 vomit|sick|puke",
            "blood ~3 in|on ~2 vomit|sick|puke",
            "haematemesis|hematemesis",
            "coffee ground|grounds ~2 vomit|sick|puke",
        ),
    ),
    Concept(
        "heavy_bleeding",
        (
            "bleed ~2 heavily|badly|loads|lots|everywhere|nonstop|profusely|buckets|alot|"
            "bad|heavy|massively|like",
            "bleed ~2 a ~1 lot",
            "not|never ~2 stop ~2 bleed",
            "bleed ~6 not ~2 stop",
            "bleed ~2 for ~2 hour|hours|ages|ever",
            "lot|lots|loads|pool|pools|puddle|tons ~2 of blood",
            "blood ~3 everywhere|pouring|gushing|spurting|pumping|soaked|soaking|dripping|"
            "pissing|streaming|flooding|spraying|shooting",
            "pour|pouring|gush|gushing|spurt|spurting|squirt|pumping ~3 blood",
            "soak|soaked|soaking ~4 through|pad|pads|towel|towels|bandage|sheets",
            "haemorrhage",
        ),
    ),
    Concept(
        "black_stool",
        (
            "black|tarry|jet ~4 $stoolword",
            "$stoolword ~5 black|tarry|tar",
            "melaena",
        ),
    ),
    Concept(
        "collapse",
        (
            "faint|collapse|unconscious|seizure",
            "pass|passing|passed ~1 out",
            "black|blacked|blacking ~1 out",
            "lose|lost|losing ~1 consciousness",
            "keel|keeled ~1 over",
            "knock|knocked ~1 out",
            "come|came ~1 round|to ~3 floor",
            "woke|wake ~2 up ~2 on ~2 floor",
            "next ~1 thing ~2 knew",
            "find|found ~2 me ~3 floor",
            "end|ended|ending ~1 up ~3 on ~2 floor|ground",
            "legs ~1 gave|buckled ~1 way|out|under",
            "not ~2 remember ~3 fall|falling|fell|hitting|collapsing|going ~1 down",
        ),
    ),
    Concept(
        "nonblanching_rash",
        (
            "rash|mark|marks|blotch|bruise|bruises|dot|dots ~6 not ~2 fade|disappear|go|"
            "blanch|vanish|change|white",
            "glass|tumbler ~4 test",
            "non|nonblanching|non-blanching ~1 blanch|blanching",
            "purpura|purpuric|petechiae|petechial|meningitis|septicaemia|sepsis|septic|"
            "meningococcal",
            "purple|dark ~2 spots|rash|blotches|dots|marks|pinpricks|pinprick",
        ),
    ),
    Concept(
        "sjs_named",
        (
            "stevens ~1 johnson|johnsons",
            "sjs",
            "toxic ~1 epidermal",
            "skin ~4 come|coming|came|fall|falling|slide|sliding ~1 off",
            "skin ~3 off ~2 in ~1 sheets|layers|patches",
        ),
    ),
    Concept(
        "skin_peeling",
        (
            "skin ~7 peel|blister|raw|shedding",
            "blister ~3 rash|body|everywhere|all",
            "rash ~3 blister",
            "peel|blister ~4 skin|body|everywhere|arms|legs|chest|back|face",
        ),
    ),
    Concept(
        "mucosal_sores",
        (
            "mouth|lips|lip|gums|tongue|eyes|eye|genitals|genital|privates|vagina|penis|"
            "cheeks|cheek|below ~5 pain|sore|sores|ulcer|ulcers|blister|raw|bleed|crust|crusty|"
            "crusted|peel|red|burn|burning|sticky",
            "sore|sores|ulcer|ulcers|blister ~4 mouth|lips|lip|gums|tongue|eyes|eye|genitals|"
            "privates|vagina|penis|below|cheeks|cheek",
        ),
    ),
    # crisis ------------------------------------------------------------------------------
    Concept(
        "suicidal",
        (
            "suicide",
            "kill|end|top|off|unalive ~2 $me",
            "kms|unalive|killmyself",
            "want|going|plan|planning|ready|try|tried|wish ~3 die|dead",
            "kill|end ~1 my ~1 self",
            "better ~1 off ~4 die|without|gone|here",
            "want|wish ~2 it|everything ~2 all? ~2 end|over",
            "end it|everything|myself",
            "end ~1 my ~1 life|lives",
            "end ~1 it ~1 all",
            "take ~2 my ~1 own ~1 life",
            "no|not ~2 reason|point|worth ~5 live|living|alive",
            "no ~1 point ~2 carry ~1 on",
            "not ~1 go ~1 on ~1 living|live|anymore",
            "not|never ~3 want ~3 live|alive|here|exist|wake|around",
            "not ~1 want ~2 do ~1 life",
            "do ~1 life ~1 anymore",
            "=cnt|=carnt|=cannt do this|it anymore",
            "=cnt|=carnt|=cannt =go on",
            "wish ~4 not|never ~2 born|here|wake|exist",
            "go ~2 sleep ~3 not|never ~2 wake",
            "suicide|goodbye ~1 note|letter",
            "write|wrote|written ~3 note|goodbye|letters",
            "jump ~3 bridge|building|roof|train|off|front",
            "hang ~1 myself|rope|noose",
            "noose",
            "done ~2 life|living",
            "point ~3 live|living|alive|existing|exist",
            "nobody|noone ~3 miss ~1 me",
            "miss ~1 me ~3 gone|die|dead",
            "sleep ~2 forever|permanently",
            "think|thinking|thought|thoughts ~3 =death|=suicide|=dead",
            "keep ~1 myself ~1 safe",
            "danger ~2 to ~1 myself",
            "stop|cease ~1 exist|existing",
            "tired|sick|fed ~2 of ~1 living|life|alive|existing",
            "be ~1 better ~1 die",
            "end ~1 thing|things",
            "rope|noose|bridge ~4 plan",
            "plan ~4 rope|noose|bridge",
            "want|wish ~3 disappear|vanish",
            "want|wish|hope|pray ~4 never ~1 wake",
            # Passive wishes and hopelessness: how people say it without the words "die" or
            # "suicide" (Columbia scale item 1, "wish to be dead").
            "hope|pray|wish ~3 not ~2 wake",
            "want ~3 not ~2 exist|existing|here|alive|around|live|wake",
            "wish ~4 not|never ~2 alive|around|exist|existing|live|living",
            "rather ~2 die|dead",
            "point ~4 go|going|carry|carrying|keep|keeping ~1 on|going",
            "point ~2 anymore|anything|everything|life|existence|existing|me",
            "point any more",
            "point ~1 of|in ~1 it ~1 all",
            "no|not|nothing ~3 reason|point ~4 keep|carry|carrying|go|going ~1 going|on|go",
            "nothing|nobody|noone|no ~3 live ~1 for",
            "no|not|only ~3 way ~1 out",
            "i|me|myself ~4 burden",
            "burden ~2 to|on ~3 everyone|everybody|family|them|people|anyone|others|all|my|you",
            "not ~1 care ~3 live|living|die|dead|alive|wake",
            "give ~1 up ~2 on ~2 life|living|everything|myself|existing|me",
            "happy|happier|easier|better|simpler|relieved|relief ~5 if ~2 i ~3 gone|dead|here|"
            "around|die|exist|born|alive",
            "better ~1 off ~4 around|alive|exist|born",
            "better ~1 off ~3 not ~2 here|around|alive|exist|existing|live|living|born|life|lives",
            "hate ~1 alive|life|existing|existence",
            "not ~1 want ~2 carry|=go on anymore|living|like|any",
            "happy|happier|easier|better|simpler ~5 if ~2 i ~2 not here|around|alive|born",
            "better ~2 without ~1 me|myself",
            "want|wish ~3 it ~1 all ~2 stop|end|over",
            "want|wish ~2 everything ~2 stop|end",
            "done ~2 with ~1 everything|life|living",
            "=done ~2 with ~1 it ~1 all",
            "can not do this|it anymore",
            "can not do this|it any more",
            "not ~1 want ~2 do this|it anymore",
            "can not take it|this anymore",
            "can not take it|this any more",
            "feel|feeling like =dying",
            "life ~3 pointless|meaningless|worthless|hopeless",
            "about|of ~1 not ~1 be|existing ~1 here|alive|around",
            "nobody|noone|no ~3 care|notice|miss ~4 gone|die|dead|disappear|disappeared|here|"
            "around|alive",
            "end ~1 forever|permanently",
            "not ~3 around|here ~3 long|longer|much",
            "not ~3 see ~2 future",
            "do ~1 something ~1 stupid|silly|drastic",
            "this ~1 be ~1 goodbye",
            "=ctb|=sewerslide|=su1cide|=suic1de|=su1c1de|=s*icide|=unalived",
            "sewer ~1 slide",
            "what ~3 do ~1 to ~1 myself",
            "look|looking|looked|search|searching|searched|research|researching|google|"
            "googling|googled ~3 way|ways|how|methods ~3 die|kill|end|overdose|hang",
            "how ~1 many ~3 pill ~4 take|kill|die|overdose|lethal|fatal|enough",
            "my ~1 own? ~1 funeral",
            "write|wrote|written|make|made|making|sort|sorted ~1 a|my ~1 =will",
            "give|giving|gave|given ~2 my|all ~1 things|stuff|belongings|possessions ~1 away",
            "give|giving|gave|given ~1 away ~2 my|all ~1 things|stuff|belongings|possessions",
            "keep ~1 living|live|existing ~1 like ~1 this",
            "can not ~2 live|living|exist ~1 like ~1 this",
            "rest ~1 forever|permanently",
            "end ~2 of ~1 my ~1 rope|tether",
            "should ~1 not ~1 be ~1 here|alive|around",
            "drive|driving|drove|crash|crashing|swerve|swerving ~3 into ~2 wall|tree|bridge|"
            "traffic|lorry|truck|train|river",
            "in ~1 front ~1 of ~2 train|bus|lorry|truck|car|traffic",
            "think|thinking|thought|thoughts ~3 =dying",
            "waste ~1 of ~1 space|oxygen|air|life",
            "rather ~2 not ~1 exist|be ~1 alive|here|around",
            "rather ~2 not ~1 exist",
            "world ~3 stop ~4 get ~1 off",
            "fine|ok|okay|happier|better ~2 without ~1 me",
            "deserve ~2 better ~1 mum|mother|mom|dad|father|partner|wife|husband|person|parent|"
            "friend|son|daughter ~1 than ~1 me",
        ),
    ),
    # Phrases that are suicidal on their own but everyday with an object ("I want out of this
    # contract", "I can't go on holiday"): a separate concept so the IDIOM guard below applies
    # to these alone.
    Concept(
        "despair",
        (
            "want|wanna|wish out",
            "can not =go on",
            "can not keep go|going",
            "can not carry on",
            "not ~3 can carry|=go on",
            "not ~3 can keep go|going",
            "ready|want|going ~2 give ~1 up",
            "give|given ~1 up ~1 on ~1 everything|life|myself|me",
            "want|wish ~3 it ~2 stop ~1 forever",
            "can not ~1 face ~1 another ~1 day|morning|week|night",
            "think|thinking|thought|thoughts ~2 about|of ~1 =jumping",
        ),
    ),
    Concept(
        "self_harm",
        (
            "self ~1 harm|harming|injure|injury|hurt",
            "selfharm|sh",
            "cut|cutting|burn|burning|hurt|harm|hit|punch|stab|starve|starving|bite|biting|bit ~2 "
            "$me",
            "punch|punching|punched|hit|hitting ~1 wall|walls",
            "scratch|scratching|scratched|pick|picking|picked|bite|biting|bit|hit|hitting|punch|"
            "punching|burn|burning ~6 on ~1 purpose",
            "scratch|scratching|scratched|pick|picking|picked|bite|biting|bit|hit|hitting|punch|"
            "punching|burn|burning ~6 deliberately|intentionally",
            "=cutting|=cuts|=slashing|=slashed ~3 arm|arms|wrist|wrists|thigh|thighs|leg|legs",
            "razor|blade|blades ~4 arm|arms|wrist|wrists|thigh|thighs|myself|skin|legs",
            "arm|arms|wrist|wrists|thigh|thighs|legs|skin ~4 razor|blade|blades|knife|scissors",
            "relapse|relapsed ~3 self|cut|cutting|sh",
            "=cutting ~1 again|myself|arms|legs|wrists",
            "cut|slit|slash|slashed ~2 wrist|wrists",
            "start|started|been|keep ~1 =cutting",
            "myself ~6 on ~1 purpose",
            "on ~1 purpose ~4 myself",
            "lighter|cigarette|cigarettes ~4 arm|arms|skin|leg|legs|wrist|wrists|myself",
            "arm|arms|skin|leg|legs|wrist|wrists ~4 lighter|cigarette|cigarettes",
        ),
    ),
    Concept(
        "overdose",
        (
            "overdose",
            "took|swallow|taken|necked|downed ~6 all|whole|entire|lot|bunch|handful|handfuls|"
            "load|loads|lots|box|boxes|packet|packets|pack|bottle|many|extra|strip ~4 pill",
            "took|swallow|taken|necked|downed ~3 #many ~3 pill",
            "took|swallow|taken|necked|downed ~1 everything ~4 cabinet|cupboard|drawer|pill",
            "take ~2 all ~2 my|the ~1 pill",
            "too ~1 many ~2 pill",
            "=dose|=doses|=insulin|=overdose ~6 on ~1 purpose",
            "more ~2 than ~1 i? ~2 should|supposed|meant|allowed ~6 pill",
            "pill ~6 more ~2 than ~1 i? ~2 should|supposed|meant|allowed",
            "deliberately|purposely ~4 pill|dose|insulin|overdose",
            "pill ~3 to ~2 end|die",
            "save|saving|saved|stockpile|stockpiling|hoard|hoarding|collect|collecting|"
            "stash|stashing ~3 pill",
        ),
    ),
    # urgent ------------------------------------------------------------------------------
    Concept(
        "rectal_bleeding",
        (
            "blood|bloody|bleed|red ~5 $poo",
            "$poo ~5 blood|bloody|bleed|red",
            "rectal|bottom ~1 bleed",
            "bleed|blood ~3 from ~2 bottom|back|passage|behind",
            "pass|passing|passed ~2 blood|clots",
            "blood ~3 when ~2 i ~1 wipe|poo|go",
            "haematochezia|hematochezia|colitis",
            "bright ~1 red ~1 blood",
            "blood ~4 tissue|tissues|paper ~6 wipe|wiping|loo|toilet|poo",
        ),
    ),
    Concept(
        "eczema_herpeticum",
        (
            "eczema ~1 herpeticum|herpes",
            "herpeticum|kaposi",
            "eczema|rash|skin|patch|patches|face|hands ~8 blister|blistery|punched|=sores|"
            "pus|pustules|crusty|crusting|weep|weeping|oozing|ooze",
            "blister|=sores ~4 spread|spreading|painful|pain|cluster|clusters|little|tiny|"
            "small|lots|many|all|crust|crusting|punched|pus|weep|weeping|popping|burst",
            "spread|spreading|painful|pain|cluster|clusters|little|tiny|small|lots|many|"
            "new|weeping ~3 blister|=sores",
            "cold ~1 =sore|=sores ~8 eczema|spread|spreading|face|skin",
            "fluid ~1 filled",
            "punched ~1 out",
        ),
    ),
    Concept(
        "red_streaks",
        (
            "red ~2 streak|streaks|line|lines|lines|track|tracking|stripe|stripes",
            "streak|streaks|streaking|tracking ~4 up|arm|leg|spread|spreading|red",
            "cellulitis|sepsis|septic|abscess|impetigo|erysipelas",
        ),
    ),
    Concept(
        "spreading_redness",
        (
            "red|redness|patch|area|swelling|swollen|skin|infection|infected|cut|wound|bite|"
            "spot|boil|lump|rash ~5 spread|spreading|bigger|grow|growing|larger|hot|warm|"
            "pus|ooze|oozing|throbbing|creep|creeping|moving|tracking",
            "spread|spreading|hot|warm|angry ~3 red|redness|patch|swelling|rash|infection",
            "infect|infected|infection|pus|oozing|ooze",
        ),
    ),
    Concept(
        "severe_abdominal_pain",
        (
            "$severe ~4 stomach ~2 pain?",
            "$severe ~2 pain|cramp ~3 in ~4 stomach|side",
            "#num ~1 out ~1 of ~1 10|ten",
            "10 / 10",
            "stomach ~2 pain ~5 $severe|ever|unbearable",
            "stomach ~3 kill|agony|excruciating|unbearable",
            "really|very|so|extremely|super ~1 bad ~2 stomach ~2 pain?",
            "stomach ~2 pain ~6 not ~2 stand|walk|move",
            "not ~2 straighten",
            "double|doubled|doubling|curled ~1 over|up ~4 pain|stomach|agony",
            "stomach ~3 rigid",
            "stomach ~3 hard ~2 board|rock",
            "appendicitis|appendix|peritonitis|obstruction|perforated|perforation",
            "pain ~3 so ~1 bad ~3 not? cry|crying|scream|screaming|move|walk|stand|breathe",
        ),
    ),
    Concept(
        "persistent_vomiting",
        (
            "not|never|unable|cant ~4 keep|hold ~3 anything|nothing|water|fluid|fluids|food|"
            "drink|drinks|liquid|liquids|down|it|sips|sip",
            "vomit|puke|sick|throw|retch ~4 all ~1 day|night|morning|week|time",
            "vomit|puke|sick|throw|retch ~4 nonstop|non|constantly|continuously|every|since|"
            "days|hours|times|repeatedly",
            "vomit|puke|sick|throw|retch ~3 #num ~1 times|hours|days",
            "dehydrate|dehydrated|dehydration",
            "not|no ~4 pee|peed|wee|weed|urine|urinate|urinated|piss|pissed|wees",
            "pee|wee|urine ~3 dark|brown|hardly|barely|tiny|little",
            "vomit|puke|sick|throw ~6 can not|unable ~3 drink|eat|stop",
            "can not ~1 stop ~2 vomit|puke|sick|throw|retch",
        ),
    ),
    Concept(
        "dysphagia",
        (
            "food|bread|meat|pills|pill|everything|things ~5 stick|stuck|lodge|lodged|catch|"
            "catches|caught|jam|jammed",
            "trouble|hard|struggle ~3 getting ~2 food|it|things|anything ~1 down",
            "lodge|lodged|stuck ~4 breastbone|gullet",
            "food|drink|things ~4 not ~2 go|going|stay ~1 down",
            "stuck ~4 throat|chest|gullet|oesophagus|esophagus|swallow",
            "trouble|difficulty|difficult|hard|problem|problems|pain|struggle|struggling|"
            "unable|can|cant|hurt|hurts ~3 swallow",
            "swallow ~4 hurt|pain|difficult|hard|stuck|problem|trouble|impossible|choke",
            "not ~2 swallow",
            "dysphagia|odynophagia",
        ),
    ),
    Concept(
        "eye_emergency",
        (
            "sudden|suddenly|severe|really|very|terrible|awful|bad|intense|excruciating ~4 eye ~2 "
            "pain|hurt|agony|ache",
            "sudden|suddenly|severe|terrible|awful|intense|excruciating ~3 pain ~4 eye|eyes",
            "eye ~2 pain|hurt|agony ~3 sudden|suddenly|severe|really|very|terrible|awful|bad|"
            "excruciating|red",
            "lose|losing|lost|loss|gone|went ~3 vision|sight",
            "vision|sight ~4 gone|went|black|dark|blurry|blurred|blurring|blur|curtain|shadow|"
            "double|lose|lost|losing|loss|weird|funny|fuzzy|cloudy",
            "can not ~2 see",
            "eye|eyes ~3 went|gone|go|turned|turn ~2 dark|black|blank|blurry|grey|gray|cloudy",
            "see|seeing ~1 double|stars|flashes",
            "eye|eyes ~4 agony|agonising|agonizing|excruciating|unbearable|killing",
            "blind|blindness|curtain|flash|flashes|floaters",
            "sudden|suddenly ~4 blurry|blurred|blur|double|blind",
        ),
    ),
    Concept(
        "jaundice",
        (
            "jaundice",
            "yellow ~3 skin|eye|eyes|whites|face",
            "skin|eye|eyes|whites|face|i ~4 yellow",
            "look|looking|gone|go|turn|turned|turning|going ~2 yellow",
            "pale|white|grey|clay ~2 poo ~4 dark ~1 pee|wee|urine",
            "dark ~1 pee|wee|urine ~4 pale|white|grey|clay ~1 poo",
        ),
    ),
    # soon --------------------------------------------------------------------------------
    Concept(
        "weight_loss",
        (
            "lose ~4 weight|kilo|half|loads|lot|lots|much|size|sizes",
            "lose ~2 #num ~1 kilo|dress|sizes|size",
            "#num ~1 kilo ~1 lighter",
            "lighter|thinner ~3 than",
            "weight ~4 lose|fall|falling|drop|loss|down|off",
            "clothes|trousers|jeans|pants|belt|dress|dresses ~4 loose|baggy|falling|fall|"
            "hanging|hang",
            "wasting|cachexia|skinny|thinner|thin ~3 without",
        ),
    ),
    Concept(
        "nocturnal",
        (
            "have|get ~1 up ~3 night|#num ~4 $poo|toilet|loo",
            "up ~3 night ~4 $poo|toilet|loo|pain|cramp",
            "wake|woke|woken|waking ~9 $poo|pain|cramp|cramps|stomach|itch|itching|"
            "scratch|scratching|sweat|sweats|run|rush|dash",
            "$poo|pain|cramp|stomach|rush|run ~6 at|every|each|all|through|most|in|during "
            "~1 the? night",
            "night ~1 sweat|sweats|sweating",
            "$poo|pain|cramp|cramps|stomach|itch|itching ~4 wake|waking|woke|woken",
            "wake|waking|woke ~3 drench|drenched|soaked|soaking|sweating|sweaty",
            "drench|drenched|drenching|soak|soaked|soaking ~4 sweat|sweats|sheets|bed|pyjamas|"
            "pajamas",
            "sweat|sweating ~4 night|bed|sheets",
        ),
    ),
    Concept(
        "other_alarm",
        (
            "change|changes|changed ~3 in ~2 bowel|bowels|poo|habit|habits",
            "bowel|bowels|poo ~3 change|changed|different",
            "anaemia|anaemic|anemia|anemic",
            "low ~2 iron|ferritin|haemoglobin|hemoglobin|hb|blood ~1 count",
            "iron|ferritin|haemoglobin|hemoglobin ~3 low|deficiency|deficient",
            "lump|mass|swelling ~4 stomach|side|groin|rectum|bottom",
            "mole|freckle|spot|birthmark ~7 change|changing|changed|grow|growing|bigger|bleed|"
            "bleeding|itch|itchy|dark|darker|irregular|new|shape|colour|color",
            "sore|ulcer|spot|lesion|wound|patch|scab ~6 not|never ~2 heal|healed|healing",
            "sore|ulcer|spot|lesion|wound|patch|scab ~6 not|never ~2 go ~1 away",
            "fever|sweat ~6 week|weeks|month|months|every|keep|keeps|constant",
            "heartburn|reflux|indigestion ~6 weight|week|weeks|month|months|every|vomit|"
            "swallow|worse",
            "cancer",
            "coeliac|celiac|crohn|crohns|ibd",
            "pale|tired|exhausted|fatigue ~4 all|always|weeks|months|breathless",
        ),
    ),
    # components: only raise a category together with another concept ---------------------
    Concept(
        "fever",
        (
            "fever|chills|rigors",
            "high ~1 temp",
            "hot ~1 and ~1 cold",
            "burning ~1 up",
            "#num ~1 degrees|c|f",
            "38|39|40|101|102|103|104",
            "flu|fluey|shivery",
        ),
    ),
    Concept(
        "rash",
        (
            "rash|hives|welts|spots|blotches",
            "red ~1 spots|lumps|bumps|marks|patches",
            "blister",
            "skin ~3 red|angry|flared|flaring|breaking|broken",
            "flare|flareup|flaring|flared",
            "eczema ~3 flare|bad|worse|angry|infected",
        ),
    ),
)

# --- categories -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Category:
    """A red flag: raised when every concept of any one of its `triggers` is asserted."""

    code: str
    label: str
    severity: Severity
    triggers: tuple[tuple[str, ...], ...]


CATEGORIES: tuple[Category, ...] = (
    Category(
        "anaphylaxis",
        "Anaphylaxis or airway swelling",
        Severity.EMERGENCY,
        (("airway_swelling",),),
    ),
    Category("breathing", "Trouble breathing", Severity.EMERGENCY, (("breathing",),)),
    Category("chest_pain", "Chest pain", Severity.EMERGENCY, (("chest_pain",),)),
    Category("vomiting_blood", "Vomiting blood", Severity.EMERGENCY, (("vomiting_blood",),)),
    Category("heavy_bleeding", "Heavy bleeding", Severity.EMERGENCY, (("heavy_bleeding",),)),
    Category("black_stool", "Black, tarry stool", Severity.EMERGENCY, (("black_stool",),)),
    Category("collapse", "Collapse or fainting", Severity.EMERGENCY, (("collapse",),)),
    Category(
        "nonblanching_rash_fever",
        "Non-blanching rash, or rash with fever",
        Severity.EMERGENCY,
        (("nonblanching_rash",), ("rash", "fever")),
    ),
    Category(
        "sjs_ten",
        "Blistering or peeling skin with mouth, eye or genital sores",
        Severity.EMERGENCY,
        (("sjs_named",), ("skin_peeling", "mucosal_sores")),
    ),
    Category(
        "suicidal",
        "Suicidal thoughts or plans",
        Severity.CRISIS,
        (("suicidal",), ("despair",)),
    ),
    Category("self_harm", "Self-harm", Severity.CRISIS, (("self_harm",),)),
    Category("overdose", "Overdose", Severity.CRISIS, (("overdose",),)),
    Category("rectal_bleeding", "Rectal bleeding", Severity.URGENT, (("rectal_bleeding",),)),
    Category(
        "eczema_herpeticum",
        "Possible eczema herpeticum (painful or spreading blisters)",
        Severity.URGENT,
        (("eczema_herpeticum",),),
    ),
    Category(
        "skin_infection",
        "Spreading skin infection with fever or red streaks",
        Severity.URGENT,
        (("red_streaks",), ("spreading_redness", "fever")),
    ),
    Category(
        "severe_abdominal_pain",
        "Severe abdominal pain",
        Severity.URGENT,
        (("severe_abdominal_pain",),),
    ),
    Category(
        "persistent_vomiting",
        "Persistent vomiting or dehydration",
        Severity.URGENT,
        (("persistent_vomiting",),),
    ),
    Category("dysphagia", "New trouble swallowing", Severity.URGENT, (("dysphagia",),)),
    Category(
        "eye_emergency",
        "Sudden eye pain or vision loss",
        Severity.URGENT,
        (("eye_emergency",),),
    ),
    Category("jaundice", "Jaundice (yellow skin or eyes)", Severity.URGENT, (("jaundice",),)),
    Category(
        "weight_loss",
        "Unintentional weight loss",
        Severity.SOON,
        (("weight_loss",),),
    ),
    Category(
        "nocturnal_symptoms",
        "Symptoms that wake the patient at night",
        Severity.SOON,
        (("nocturnal",),),
    ),
    Category(
        "alarm_feature",
        "Other alarm feature (NICE NG12/CG61, Rome IV)",
        Severity.SOON,
        (("other_alarm",), ("spreading_redness",)),
    ),
)

# --- ConText modifiers -----------------------------------------------------------------------

# Categories medspaCy's ConText sets attributes for, plus ours. A mention modified by one of
# SUPPRESSING does not raise a flag; UNCERTAIN is recorded for the clinician but still raises
# it ("I think I'm having a heart attack" must reach someone).
NEGATED = "NEGATED_EXISTENCE"
UNCERTAIN = "POSSIBLE_EXISTENCE"
HISTORICAL = "HISTORICAL"
HYPOTHETICAL = "HYPOTHETICAL"
FAMILY = "FAMILY"
RESOLVED = "RESOLVED"
INTENTIONAL = "INTENTIONAL"
IDIOM = "IDIOM"
SELF = "SELF"  # "I", "me": ends a family mention's scope ("my husband found me collapsed")
CLAUSE_BREAK = "CLAUSE_BREAK"  # ",", "but", "and now": where negation and the like stop
PSEUDO = "PSEUDO"  # looks like a modifier but is not ("not only", "can't stop", "as if")

SUPPRESSING: frozenset[str] = frozenset(
    {NEGATED, HISTORICAL, HYPOTHETICAL, FAMILY, RESOLVED, INTENTIONAL, IDIOM}
)


@dataclass(frozen=True)
class Modifier:
    category: str
    direction: str  # FORWARD, BACKWARD, BIDIRECTIONAL, PSEUDO
    phrases: tuple[str, ...]
    max_scope: int | None = None
    # Which target concepts it may modify (None: all), or may not.
    allowed: frozenset[str] | None = None
    excluded: frozenset[str] | None = None


_ANY_CLAUSE = frozenset({CLAUSE_BREAK})

MODIFIERS: tuple[Modifier, ...] = (
    Modifier(
        NEGATED,
        "FORWARD",
        (
            "no|not|without|deny|denies|denied|none|nothing|zero|nor|neither|non",
            "free ~1 of",
            "absence ~1 of",
            "no ~1 sign|signs|evidence|sign of",
            "never ~1 have",
            "no ~1 more|longer",
            "negative ~1 for",
            "stop|stopped ~1 have|having",
        ),
        max_scope=8,
    ),
    Modifier(
        NEGATED,
        "BACKWARD",
        (
            "none|negative|nope",
            "not ~1 anymore|any more|now|today|tonight|since|again",
            "is|was|be ~1 fine|normal|ok|okay|clear",
        ),
        max_scope=5,
    ),
    Modifier(
        UNCERTAIN,
        "FORWARD",
        (
            "maybe|perhaps|possibly|possible|probably|might|may|unsure|wonder|guess|seem|"
            "seems|suspect|worried|concern|concerned|scared|afraid|think",
            "not ~1 sure|certain",
            "could ~1 be|this|it",
            "feel|feels ~1 like",
            "kind|sort ~1 of",
            "a ~1 bit|little",
        ),
    ),
    Modifier(
        HISTORICAL,
        "BIDIRECTIONAL",
        (
            "last ~1 year|summer|winter|spring|autumn|fall|decade",
            "#num|a|few|couple|many ~2 year|years|decade|decades ~1 ago|back",
            "year|years|decade|decades|ages|long ~1 ago",
            "a ~1 long ~1 time ~1 ago",
            "as ~1 a ~1 child|kid|teen|teenager|baby|student|toddler",
            "when ~1 i ~1 be ~2 little|young|younger|kid|child|teen|teenager|small|baby|student|"
            "pregnant|school|uni|university|college",
            "in ~1 my ~1 teens|twenties|childhood|youth|20s|30s",
            "in ~1 the ~1 past",
            "use|used ~1 to",
            "history|hx|h/o|previously|formerly|childhood",
            "back ~1 in ~1 #num|the|january|february|march|april|may|june|july|august|"
            "september|october|november|december",
            "once ~1 before",
        ),
    ),
    Modifier(
        RESOLVED,
        "BACKWARD",
        (
            "resolve|resolved|healed|settled|cleared",
            "fine|better|ok|okay|good|great|normal|gone ~1 now|since|ever",
            "have|had ~1 gone ~1 and|now|completely|down|,|.|!",
            "=stopped|healing|improving",
            "clear|cleared ~1 up",
            "went|go|gone ~1 away|off",
            "all|long ~1 gone|good|fine|clear|better",
            "have|had ~1 stopped",
            "stopped|stop ~1 after|since|completely|now",
            "not ~1 since|again|anymore|any more",
            "never ~1 came|come ~1 back",
            "sorted|treated|fixed|recovered",
        ),
        max_scope=10,
    ),
    Modifier(
        HYPOTHETICAL,
        "FORWARD",
        (
            "if|unless|whether",
            "in ~1 case",
            "what ~1 if|happens|happen",
            "should ~1 i|it|there|this",
            "what ~2 do ~1 i ~1 do",
            "how ~1 would|do|will|can ~1 i ~1 know|tell",
            "ever",
        ),
        max_scope=12,
        # "if I just ended it all" is how people say it: a bare condition never hides a crisis.
        excluded=frozenset({"suicidal", "despair", "self_harm", "overdose"}),
    ),
    # A question about what to do one day, or about someone in general, is not a crisis now:
    # "If I ever felt suicidal, who do I call?", "What should I do if I feel suicidal?". These
    # phrases are longer than the bare "if" above, so where both match, ConText keeps these
    # (it prunes the shorter of overlapping modifiers) and they apply to every concept.
    # Overdose is left out: "What should I do if I've taken too many pills?" is usually now.
    Modifier(
        HYPOTHETICAL,
        "FORWARD",
        (
            "if|case|should|when|whether|were ~3 ever",
            "ever ~2 feel|felt|feeling|=get|=got|have|had|start|started",
            "who|where|what|which|how ~3 call|ring|phone|text|contact|go|number|talk|speak|"
            "turn|helpline|line ~2 if|when",
            "what|how ~1 should ~1 i|we|one|someone|you ~1 do|handle ~2 if|when",
            "if|when ~1 someone|somebody|anyone|anybody|people|patients|person|they|you",
            "hypothetically|hypothetical|theoretically",
            "for ~1 future ~1 reference",
            "in ~1 case ~1 i|you|someone|anyone ~2 ever",
            # A condition on feeling or starting something is about one day: "What happens if I
            # start feeling suicidal?", "If I feel like harming myself again, who do I call?".
            "if|should ~1 i|you|someone|anyone|they|we ~1 start|begin|=get|feel|become|"
            "develop|notice|experience|ever",
        ),
        max_scope=12,
        excluded=frozenset({"overdose"}),
    ),
    Modifier(
        HYPOTHETICAL,
        "BIDIRECTIONAL",
        (
            "side ~1 effect|effects",
            "can|could|does|do|will|might|may ~3 cause|causes|trigger|lead|give",
            "risk|risks|chance|chances|likely",
            "warning|danger|red ~1 sign|signs|flag|flags",
            "watch|look ~1 out|for",
            "leaflet|article|video|tiktok|website|show|programme|program|film|book",
            "prevent|avoid",
        ),
        max_scope=12,
    ),
    # Worry, reading and hoping make a symptom a question, but not a crisis: "I'm worried about
    # my suicidal thoughts", "I googled ways to kill myself", "hopefully I won't wake up".
    Modifier(
        HYPOTHETICAL,
        "BIDIRECTIONAL",
        (
            "worried|worry|worrying|scared|afraid|paranoid|anxious ~1 about|of|that",
            "read|reading|google|googled|heard",
            "hope|hopefully",
        ),
        max_scope=12,
        excluded=frozenset({"suicidal", "despair", "self_harm", "overdose"}),
    ),
    Modifier(
        FAMILY,
        "FORWARD",
        (
            "my|our|his|her|a ~1 $family",
            "$family ~1 have|had|has|be|is|was|were",
            "family ~1 history",
            "run|runs ~2 in ~2 family",
            "he|she|him|hes|shes",
            "her|his ~1 own",
        ),
    ),
    # Scope 1: medspaCy only sees two scopes overlap when one starts inside the other, so a
    # terminating modifier needs a small scope to cut a long one (see ConTextModifier.limit_scope).
    Modifier(SELF, "PSEUDO", ("i|me|my|myself|mine|im|ive|id",), max_scope=1),
    Modifier(
        INTENTIONAL,
        "BIDIRECTIONAL",
        (
            "diet|dieting|gym|slimming|calorie|calories|fasting|keto|purpose|intentionally|"
            "deliberately|trying|tried|goal|target|happy|pleased|proud|glad|workout|exercise|"
            "running|ozempic|wegovy|mounjaro|semaglutide|tirzepatide|surgery|plan|"
            "programme|program|weightwatchers|watchers|noom|intermittent",
        ),
        allowed=frozenset({"weight_loss"}),
    ),
    Modifier(
        IDIOM,
        "BACKWARD",
        (
            "of|from ~1 embarrassment|shame|boredom|laughter|laughing|cringe",
            "laugh|laughing|lol|lmao|haha",
            "to|for ~1 try|see|know|meet|get|go|eat|have",
        ),
        max_scope=3,
    ),
    # "I want out of this contract", "I can't go on holiday", "I can't keep going to the loo",
    # "I'm ready to give up dairy": what follows makes these everyday (the PSEUDO rules below
    # keep "out of this life" and "go on the way things are" as they are).
    Modifier(
        IDIOM,
        "BACKWARD",
        (
            "of|from|to|back|forth|round|in|into|onto|out|up|over|for|holiday|holidays|trip|trips|date|dates|walk|walks|the|a|an|my|your|his|"
            "her|those|these|that|about|at|smoking|dairy|gluten|sugar|alcohol|drinking|meat|"
            "caffeine|coffee|wheat|milk|bread|chocolate|vaping|foods|food|diet|fodmap|lactose|"
            "antibiotics|steroids|course|trial|contract|job|app|study|programme|program|scheme|"
            "membership|subscription",
        ),
        max_scope=1,
        allowed=frozenset({"despair"}),
    ),
    # "I don't want to be here at the clinic all day", "not wake up until noon lol".
    Modifier(
        IDIOM,
        "BACKWARD",
        (
            "until|till|til ~2 noon|lunch|lunchtime|midday|#num|tomorrow|morning|afternoon|"
            "late|later|spring|summer|weekend|monday|tuesday|wednesday|thursday|friday|"
            "saturday|sunday",
            "at|in ~2 clinic|hospital|office|surgery|appointment|waiting|ward|work|school|queue|"
            "line|room|pharmacy|airport",
            "all ~1 day|afternoon|morning|week|weekend",
            # "thinking of dying my hair" (dyeing).
            "hair|eyebrows|eyebrow|lashes|eyelashes|roots|beard|clothes|jeans|fabric|henna",
        ),
        max_scope=3,
        allowed=frozenset({"suicidal"}),
    ),
    # "Can I stop existing medication?": "stop existing" is not the wish to stop existing.
    Modifier(
        IDIOM,
        "BACKWARD",
        (
            "medication|medications|meds|treatment|treatments|cream|creams|tablets|prescription|"
            "prescriptions|dose|doses|regime|routine|plan|plans|appointment|appointments|"
            "conditions|condition|symptoms|eczema|rash|people|others|anyone|anybody|friends|"
            "family|them|him|her",
        ),
        max_scope=1,
        allowed=frozenset({"suicidal", "despair"}),
    ),
    # "I took all my tablets as prescribed".
    Modifier(
        IDIOM,
        "BACKWARD",
        ("as|like ~1 prescribed|directed|advised|instructed|told|usual|normal|always|recommended",),
        max_scope=4,
        allowed=frozenset({"overdose"}),
    ),
    Modifier(
        IDIOM,
        "BIDIRECTIONAL",
        ("accidentally|accident|shaving|shave|cooking|oven|kettle|stove|hob|gardening|bbq",),
        allowed=frozenset({"self_harm"}),
    ),
    Modifier(
        CLAUSE_BREAK,
        "PSEUDO",
        (
            ",|;|:|--|\u2014|\u2013|(|)",
            "but|however|although|though|except|yet|because|cos|coz|cuz|since|whereas|while|"
            "whilst|anyway|anyways|apart|instead|now|still|today|tonight|currently|suddenly|"
            "then|also|plus|though",
            "and|or|so ~1 i|my|me|it|its|there|now|then|this|today|tonight|the|suddenly|also",
            # A new "I will" / "I'm going to" starts a new clause: "If this rash doesn't go I'll
            # end it all" (the "not" belongs to the rash).
            "i will|going|gonna",
            "i be going|gonna",
        ),
        max_scope=1,
    ),
    Modifier(
        PSEUDO,
        "PSEUDO",
        (
            "not|no ~1 only|just|sure|certain|idea|doubt|matter|better|improving|helping|"
            "working|easing|settling|getting|going|ok|okay|well|good|great|right|fine|coping|"
            "alright|normal|myself|one|body|nobody",
            "not ~2 stop|stopping|help|helping|ease|easing|cope|coping|take|handle|sleep|"
            "function|work|know|understand|think|tell",
            "not ~1 feel|feeling ~1 well|good|great|right|ok|okay|myself",
            "no ~1 one|body",
            "as|even ~1 if|though",
            "nothing ~1 but|helps|works",
            "without ~1 try|trying|reason|warning|eat|eating|doing",
            "never ~1 end|ends|ending|stop|stops|better|again",
            "not|never ~1 go|gone|went ~1 away|off",
            "not ~1 stop|settle|clear|heal|better|resolve|improve",
            "no ~1 appetite|energy|sleep",
            "of|from ~1 this|my|the? ~1 life|world|existence|misery|body|head|pain|hell",
            "of|from ~1 here|everything|existence|life|it",
            "the ~1 way|same",
            # "I want to die lol but seriously": the joke is taken back.
            "lol|lmao|haha ~1 but|jk ~1 seriously|honestly|really|srsly|tbh|not",
            # "I don't see the point (of going on)": the "not" belongs to the despair.
            "not ~1 see ~2 point|future|reason|way|purpose|how",
            # "my family would be better off without me": the family is not the one at risk.
            "my|our|a|the ~1 $family ~4 better|happier|easier ~1 off|without|if",
            "everyone|everybody|world ~4 better|happier|easier ~1 off|without|if",
            "$family ~3 deserve",
            # "I'm scared of what I might do to myself" is not a worry about a symptom.
            "scared|afraid|worried|frightened|terrified ~1 of ~1 what",
        ),
    ),
)

# Modifier categories whose scope stops at a clause break (and, for a family mention, at "I").
TERMINATED_BY: dict[str, frozenset[str]] = {
    NEGATED: _ANY_CLAUSE,
    UNCERTAIN: _ANY_CLAUSE,
    HISTORICAL: _ANY_CLAUSE,
    HYPOTHETICAL: frozenset({CLAUSE_BREAK}),
    FAMILY: frozenset({CLAUSE_BREAK, SELF}),
    INTENTIONAL: _ANY_CLAUSE,
    IDIOM: _ANY_CLAUSE,
    RESOLVED: frozenset(),
}

# --- helpers ----------------------------------------------------------------------------------

_VARIANT_TO_LEMMA: dict[str, str] = {
    variant: base for base, variants in LEMMA_VARIANTS.items() for variant in variants.split()
}
for _base in LEMMA_VARIANTS:
    _VARIANT_TO_LEMMA.setdefault(_base, _base)

GAP = "~"
OPTIONAL = "?"
EXACT = "="
NUMBER = "#num"
# A number that is more than a normal dose: not 1-3 (one, two, three, a couple).
MANY = "#many"
FEW = ("1", "2", "3", "one", "two", "three", "a", "an", "couple")
NUMBERS = (NUMBER, MANY)


def expand_groups(slot: str) -> list[str]:
    """The alternatives of one slot, with `$group` references replaced by their words."""
    words: list[str] = []
    for alternative in slot.split("|"):
        if alternative.startswith(EXACT):
            words.append(alternative)
        elif alternative.startswith("$"):
            words.extend(GROUPS[alternative[1:]].split("|"))
        else:
            words.append(alternative)
    return words


def phrase_words(phrase: str) -> list[list[str]]:
    """The word alternatives of each slot of a phrase (gaps and numbers left out)."""
    slots = []
    for slot in phrase.split():
        slot = slot.rstrip(OPTIONAL)
        if slot.startswith(GAP) or slot in NUMBERS:
            continue
        slots.append(expand_groups(slot))
    return slots


def _all_phrases() -> list[str]:
    phrases = [p for concept in CONCEPTS for p in concept.phrases]
    return phrases + [p for modifier in MODIFIERS for p in modifier.phrases]


VOCABULARY: frozenset[str] = frozenset(
    word.lstrip(EXACT)
    for phrase in _all_phrases()
    for slot in phrase_words(phrase)
    for word in slot
) | frozenset(_VARIANT_TO_LEMMA.values())


def lemma(lower: str) -> str:
    """The lemma the phrases use for a lower-cased token: listed variants first, then regular
    inflections of a vocabulary word ("bleeding" -> "bleed", "stopped" -> "stop"), else the
    token itself. Deterministic and cheap; a stand-in for a full English lemmatizer, which a
    blank spaCy pipeline does not have."""
    lower = lower.replace("\u2019", "'")
    known = _VARIANT_TO_LEMMA.get(lower)
    if known is not None:
        return known
    for suffix, replacement in _SUFFIXES:
        if len(lower) > len(suffix) + 2 and lower.endswith(suffix):
            stem = lower[: -len(suffix)] + replacement
            for candidate in (stem, stem[:-1] if stem[-1:] == stem[-2:-1] else ""):
                if candidate in _VARIANT_TO_LEMMA:
                    return _VARIANT_TO_LEMMA[candidate]
                if candidate in VOCABULARY:
                    return candidate
    return lower


def category_by_code() -> dict[str, Category]:
    return {category.code: category for category in CATEGORIES}
