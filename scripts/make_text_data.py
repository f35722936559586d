"""Write the tiny bundled text sets the NLP guide tests use (generated, license-clean).

    python scripts/make_text_data.py

* ``squad_tiny.jsonl`` — SQuAD-shaped: ``id``, ``title``, ``context``, ``question``,
  ``answers`` (``{"text": [...], "answer_start": [...]}``), answers are spans of the context;
* ``swag_tiny.jsonl`` — SWAG-shaped: ``sent1``, ``sent2``, ``ending0..3``, ``label`` (+ ``split``);
* ``eli5_tiny.jsonl`` — ELI5-shaped: ``q_id``, ``title``, ``answers`` (``{"text": [...]}``).

Every sentence is generated from small word lists with a fixed seed, so the files are
reproducible and free of third-party text.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "src" / "polymodal" / "datasets" / "data" / "text"
PEOPLE = ["Ada", "Bruno", "Chen", "Dara", "Emil", "Farah", "Goro", "Hana", "Ivan", "Jun", "Kofi", "Lena"]
PLACES = ["Lisbon", "Osaka", "Nairobi", "Quito", "Oslo", "Hanoi", "Lima", "Tunis", "Perth", "Riga"]
JOBS = ["baker", "pilot", "teacher", "gardener", "painter", "nurse", "chemist", "farmer", "architect"]
THINGS = ["bicycle", "violin", "telescope", "kite", "lantern", "compass", "notebook", "camera", "teapot"]
COLORS = ["red", "blue", "green", "yellow", "orange", "purple", "silver", "black"]
YEARS = [str(y) for y in range(1950, 2021, 3)]
ACTIONS = ["walks to the market", "opens the window", "reads a letter", "paints the fence", "feeds the cat",
           "waters the plants", "tunes the radio", "bakes fresh bread", "climbs the hill", "writes a poem"]


def squad(rng: random.Random, count: int) -> list[dict]:
    rows = []
    for index in range(count):
        person, place, job = rng.choice(PEOPLE), rng.choice(PLACES), rng.choice(JOBS)
        thing, color, year = rng.choice(THINGS), rng.choice(COLORS), rng.choice(YEARS)
        sentences = [f"{person} was born in {place} in {year}.", f"{person} works as a {job}.",
                     f"Every morning {person} rides a {color} {thing} to work.",
                     f"The {thing} was a gift from an old friend."]
        rng.shuffle(sentences)
        context = " ".join(sentences)
        question, answer = rng.choice([
            (f"Where was {person} born?", place), (f"What does {person} work as?", f"a {job}"),
            (f"When was {person} born?", year), (f"What color is the {thing}?", color),
            (f"What does {person} ride to work?", f"a {color} {thing}"),
        ])
        rows.append({"id": f"q{index:05d}", "title": person, "context": context, "question": question,
                     "answers": {"text": [answer], "answer_start": [context.index(answer)]}})
    return rows


def swag(rng: random.Random, count: int) -> list[dict]:
    rows = []
    for index in range(count):
        person, other = rng.sample(PEOPLE, 2)
        action = rng.choice(ACTIONS)
        endings = rng.sample([a for a in ACTIONS if a != action], 3)
        label = rng.randrange(4)
        endings.insert(label, action)
        rows.append({"video-id": f"v{index:05d}", "fold-ind": str(index), "gold-source": "gen",
                     "sent1": f"{person} wakes up early and {action}.", "sent2": f"Later {other}",
                     **{f"ending{i}": ending for i, ending in enumerate(endings)}, "label": label,
                     "split": "validation" if index % 5 == 0 else "train"})
    return rows


def eli5(rng: random.Random, count: int) -> list[dict]:
    rows = []
    for index in range(count):
        texts = []
        for _ in range(rng.randint(1, 3)):
            person, place, job, thing = rng.choice(PEOPLE), rng.choice(PLACES), rng.choice(JOBS), rng.choice(THINGS)
            texts.append(f"{person} is a {job} in {place}. {person} {rng.choice(ACTIONS)} and keeps a {thing} "
                         f"at home because the {thing} is {rng.choice(COLORS)}.")
        rows.append({"q_id": f"e{index:05d}", "title": f"Why does {rng.choice(PEOPLE)} {rng.choice(ACTIONS)}?",
                     "answers": {"a_id": [f"a{index}_{i}" for i in range(len(texts))], "text": texts,
                                 "score": [rng.randint(1, 9) for _ in texts]}})
    return rows


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, make, count in (("squad_tiny", squad, 200), ("swag_tiny", swag, 200), ("eli5_tiny", eli5, 200)):
        rows = make(random.Random(name), count)
        lines = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
        (OUT / f"{name}.jsonl").write_text(lines, encoding="utf-8")
        print(f"wrote {OUT / name}.jsonl ({count} rows)")


if __name__ == "__main__":
    main()
