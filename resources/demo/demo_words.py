"""Word pools and the alpaca prompt for the demo's generated text (stdlib only).

The pretraining corpus and the demo datasets draw from the same pools, so the
base model knows every word a demo task uses; what it has not seen is the
demo tasks themselves.
"""

ANIMALS = """cat dog horse cow sheep goat pig duck goose chicken rabbit mouse rat fox wolf bear deer lion tiger
zebra monkey camel whale shark fish frog snake owl eagle crow swan bee ant spider tortoise otter seal""".split()

COLORS = "red blue green yellow orange purple pink brown black white grey gold silver violet".split()

FOODS = """apple pear plum grape lemon orange cherry peach melon banana bread cheese butter honey rice soup
salad cake pie milk tea coffee sugar salt pepper carrot potato onion tomato bean egg""".split()

THINGS = """table chair door window lamp book pencil paper clock phone key bottle cup plate spoon fork knife
bag box hat shoe coat shirt ring bell ball kite drum boat train car bus bicycle ladder mirror candle
basket blanket pillow bucket hammer rope wheel brush camera radio""".split()

NATURE = """river lake sea ocean hill mountain valley forest tree flower grass leaf stone rock sand cloud rain
snow wind storm sun moon star sky field garden island bridge road village city town castle tower
farm market school library museum church harbour station""".split()

ADJECTIVES = """big small tall short long old young new quick slow happy sad bright dark warm cold soft hard
loud quiet clean dirty empty full heavy light rich poor strong weak sweet sour wild calm busy lazy
brave shy kind proud rough smooth narrow wide deep""".split()

VERBS = """runs walks jumps sings reads writes sleeps eats drinks swims flies climbs waits smiles listens
watches paints builds cooks dances""".split()

NAMES = """Anna Ben Clara David Emma Felix Grace Henry Iris Jack Laura Max Nina Oscar Paul Rosa Sam Tom Vera
Will""".split()

CITIES = """Paris London Rome Berlin Madrid Vienna Prague Dublin Oslo Lisbon Athens Warsaw Tokyo Cairo Lima
Quito Boston Denver Sydney Toronto""".split()

NOUNS = sorted(set(ANIMALS + FOODS + THINGS + NATURE))
ALL_WORDS = sorted(set(NOUNS + COLORS + ADJECTIVES))

NUMBER_WORDS = """zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen
sixteen seventeen eighteen nineteen twenty""".split()

CATEGORIES = {"an animal": ANIMALS, "a color": COLORS, "a food": FOODS, "a city": CITIES, "a name": NAMES}


def alpaca_prompt(instruction, input_text=""):
    """The Stanford Alpaca prompt exactly as the engine's alpaca template renders it."""
    if not input_text:
        return ("Below is an instruction that describes a task. Write a response that appropriately completes "
                "the request.\n\n### Instruction:\n" + instruction + "\n\n### Response:")
    return ("Below is an instruction that describes a task, paired with an input that provides further context. "
            "Write a response that appropriately completes the request.\n\n### Instruction:\n" + instruction +
            "\n\n### Input:\n" + input_text + "\n\n### Response:")


def alpaca_text(row):
    """A training document equal in tokens to the engine's rendering of an alpaca row.

    The engine tokenizes prompt and response separately, and sentencepiece puts
    a word boundary before the response's first word; one space after
    "### Response:" yields the same pieces when the whole text is tokenized.
    """
    return alpaca_prompt(row["instruction"], row.get("input", "")) + " " + row["output"]
