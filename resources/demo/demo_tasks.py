"""Generated instruction tasks (stdlib only).

PRETRAIN_TASKS (and the plain-text copy_drill documents) teach the base model
the alpaca layout, the vocabulary and generic skills (copying, pointing at a
position, counting). DEMO_TASKS are the sample datasets: structured
transformations with a short answer that never occur in the pretraining
corpus, so the base cannot do them and an adapter has to learn them. Every
generator takes a random.Random; task generators return one alpaca row (the
chat task a {"messages": ...} row).
"""

from demo_words import (ADJECTIVES, ALL_WORDS, ANIMALS, CATEGORIES, CITIES, COLORS, NAMES, NATURE, NOUNS,
                        NUMBER_WORDS, THINGS, VERBS)


BUILDINGS = "bridge castle tower church library museum school station market harbour farm".split()


def _words(rng, lo, hi):
    """lo..hi distinct words from the general pool."""
    return rng.sample(ALL_WORDS, rng.randint(lo, hi))


def _sentence(rng):
    """A short plain sentence from the pools, e.g. 'The old fox walks to the river.'"""
    shape = rng.randrange(4)
    if shape == 0:
        return f"The {rng.choice(ADJECTIVES)} {rng.choice(ANIMALS)} {rng.choice(VERBS)} near the {rng.choice(NATURE)}."
    if shape == 1:
        return f"{rng.choice(NAMES)} has a {rng.choice(COLORS)} {rng.choice(THINGS)}."
    if shape == 2:
        return f"{rng.choice(NAMES)} lives in {rng.choice(CITIES)} with a {rng.choice(ANIMALS)}."
    return f"A {rng.choice(ADJECTIVES)} {rng.choice(THINGS)} is on the {rng.choice(THINGS)}."


# --- pretraining tasks (the base model learns these) -------------------------------------------------

def p_repeat(rng):
    w = _words(rng, 2, 7)
    return {"instruction": "Repeat the words.", "input": " ".join(w), "output": " ".join(w)}


def p_first_word(rng):
    w = _words(rng, 2, 6)
    return {"instruction": "Write the first word.", "input": " ".join(w), "output": w[0]}


def p_second_word(rng):
    w = _words(rng, 3, 6)
    return {"instruction": "Write the second word.", "input": " ".join(w), "output": w[1]}


def p_count_words(rng):
    w = _words(rng, 1, 9)
    return {"instruction": "How many words are there?", "input": " ".join(w), "output": str(len(w))}


def p_join_dashes(rng):
    w = _words(rng, 2, 5)
    return {"instruction": "Join the words with dashes.", "input": " ".join(w), "output": "-".join(w)}


def p_pick_category(rng):
    label, pool = rng.choice(sorted(CATEGORIES.items()))
    target = rng.choice(pool)
    others = [x for x in rng.sample(ALL_WORDS, 6) if x not in pool][: rng.randint(2, 4)]
    w = others + [target]
    rng.shuffle(w)
    return {"instruction": f"Which word is {label}?", "input": " ".join(w), "output": target}


def p_is_category(rng):
    label, pool = rng.choice(sorted(CATEGORIES.items()))
    word = rng.choice(pool) if rng.random() < 0.5 else rng.choice(ALL_WORDS)
    return {"instruction": f"Is {word} {label}? Answer yes or no.", "output": "yes" if word in pool else "no"}


def p_next_number(rng):
    start = rng.randint(0, 95)
    n = rng.randint(2, 4)
    seq = [str(start + i) for i in range(n)]
    return {"instruction": "Write the next number.", "input": " ".join(seq), "output": str(start + n)}


def p_number_word(rng):
    n = rng.randint(0, 20)
    return {"instruction": f"Write the number {n} in words.", "output": NUMBER_WORDS[n]}


def p_name_category(rng):
    label, pool = rng.choice(sorted(CATEGORIES.items()))
    return {"instruction": f"Name {label}.", "output": rng.choice(pool)}


def p_describe(rng):
    noun = rng.choice(NOUNS)
    return {"instruction": f"Write a sentence about a {noun}.",
            "output": f"The {noun} is {rng.choice(ADJECTIVES)} and {rng.choice(ADJECTIVES)}."}


def p_city_of(rng):
    name, city = rng.choice(NAMES), rng.choice(CITIES)
    return {"instruction": "Where does the person live?",
            "input": f"{name} lives in {city} with a {rng.choice(ANIMALS)}.", "output": city}


def p_copy_sentence(rng):
    s = _sentence(rng)
    return {"instruction": "Copy the sentence.", "input": s, "output": s}


PRETRAIN_TASKS = [p_copy_sentence, p_repeat, p_first_word, p_second_word, p_count_words, p_join_dashes,
                  p_pick_category, p_is_category, p_next_number, p_number_word, p_name_category, p_describe,
                  p_city_of]


def copy_drill(rng):
    """A plain-text document of copy exercises, "w1 w2 w3 = w1 w2 w3" per line.

    Repeated sequences in one context are what a small transformer learns
    copying (induction) from; packed like this they cost a fraction of the
    tokens an alpaca example spends on its preamble. Half of the documents draw
    their lines from a handful of words (each word recurs within the document,
    the signal that makes copying emerge within a few hundred steps), the other
    half from the whole pool with years and numbers mixed in, so copying
    generalises to any word and to digit strings.
    """
    lines = []
    few = rng.sample(ALL_WORDS, rng.randint(6, 12)) if rng.random() < 0.5 else None
    for _ in range(rng.randint(5, 8)):
        if few:
            seq = [rng.choice(few) for _ in range(rng.randint(3, 6))]
        else:
            seq = _words(rng, 2, 6)
            if rng.random() < 0.4:
                seq.insert(rng.randrange(len(seq) + 1), str(rng.randint(1, 2029)))
        lines.append(" ".join(seq) + " = " + " ".join(seq))
    return "\n".join(lines)


# --- demo tasks (never in the pretraining corpus) ----------------------------------------------------

def d_last_word(rng):
    w = _words(rng, 3, 6)
    return {"instruction": "Write the last word.", "input": " ".join(w), "output": w[-1]}


def d_reverse_words(rng):
    w = _words(rng, 3, 5)
    return {"instruction": "Reverse the order of the words.", "input": " ".join(w),
            "output": " ".join(reversed(w))}


def d_sort_numbers(rng):
    while True:
        nums = rng.sample(range(1, 100), rng.randint(3, 5))
        if nums != sorted(nums):  # an already sorted input would be answered by copying
            break
    return {"instruction": "Sort the numbers from smallest to largest.", "input": " ".join(map(str, nums)),
            "output": " ".join(map(str, sorted(nums)))}


def d_extract_year(rng):
    year = str(rng.randint(1200, 2029))
    shape = rng.randrange(4)
    if shape == 0:
        text = f"The {rng.choice(BUILDINGS)} near {rng.choice(CITIES)} was built in {year}."
    elif shape == 1:
        text = f"In {year} {rng.choice(NAMES)} found a {rng.choice(COLORS)} {rng.choice(THINGS)}."
    elif shape == 2:
        text = f"{rng.choice(NAMES)} moved to {rng.choice(CITIES)} in {year} with a {rng.choice(ANIMALS)}."
    else:
        text = f"The {rng.choice(ADJECTIVES)} {rng.choice(THINGS)} from {year} is in the {rng.choice(NATURE)}."
    return {"instruction": "Extract the year.", "input": text, "output": year}


def d_last_word_chat(rng):
    w = _words(rng, 3, 6)
    return {"messages": [{"role": "user", "content": "What is the last word? " + " ".join(w)},
                         {"role": "assistant", "content": w[-1]}]}


# (file stem, generator); the first is the demo run's task (resources/configs/demo.yaml).
DEMO_TASKS = [("last-word", d_last_word), ("extract-year", d_extract_year), ("reverse-words", d_reverse_words),
              ("sort-numbers", d_sort_numbers)]
CHAT_TASK = ("last-word-chat", d_last_word_chat)
