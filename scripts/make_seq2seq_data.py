"""Write the tiny bundled text pairs the summarisation and translation guide tests use (generated, license-clean).

    python scripts/make_seq2seq_data.py

* ``billsum_tiny.jsonl`` — BillSum-shaped: ``text`` (a short made-up bill), ``summary``, ``title``;
* ``opus_books_tiny.jsonl`` — opus_books-shaped (en-fr): ``id``, ``translation`` (``{"en": …, "fr": …}``).

Every sentence comes from small word lists (the French written for them here) with a fixed seed,
so the files are reproducible and free of third-party text.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "src" / "polymodal" / "datasets" / "data" / "text"
AGENCIES = ["Department of Water", "State Library", "Office of Parks", "Transit Authority", "Board of Health",
            "Energy Commission", "Department of Schools", "Housing Agency"]
SUBJECTS = ["public libraries", "city parks", "drinking water", "school buses", "solar panels", "bike lanes",
            "rural clinics", "flood barriers", "community gardens", "museum archives"]
ACTIONS = [("fund", "funds"), ("inspect", "inspects"), ("repair", "repairs"), ("expand", "expands"),
           ("report on", "reports on"), ("protect", "protects")]
AMOUNTS = ["$50,000", "$120,000", "$300,000", "$1,000,000", "$75,000"]
YEARS = [str(y) for y in range(2021, 2031)]

# (English, French) noun phrases and verbs for the translation pairs
NOUNS = [("the cat", "le chat"), ("the dog", "le chien"), ("the teacher", "le professeur"),
         ("my brother", "mon frère"), ("the farmer", "le fermier"), ("the child", "l'enfant"),
         ("the doctor", "le médecin"), ("the baker", "le boulanger")]
OBJECTS = [("the bread", "le pain"), ("a book", "un livre"), ("the garden", "le jardin"),
           ("the house", "la maison"), ("a letter", "une lettre"), ("the river", "la rivière"),
           ("the apple", "la pomme"), ("the window", "la fenêtre")]
VERBS = [("sees", "voit"), ("likes", "aime"), ("finds", "trouve"), ("watches", "regarde"),
         ("paints", "peint"), ("cleans", "nettoie")]
TIMES = [("every morning", "chaque matin"), ("in the evening", "le soir"), ("today", "aujourd'hui"),
         ("on Sunday", "le dimanche"), ("", "")]


def billsum(rng: random.Random, count: int) -> list[dict]:
    rows = []
    for _ in range(count):
        agency, subject, year = rng.choice(AGENCIES), rng.choice(SUBJECTS), rng.choice(YEARS)
        verb, _ = rng.choice(ACTIONS)
        amount = rng.choice(AMOUNTS)
        text = (f"The people of the State enact as follows: SECTION 1. The {agency} shall {verb} {subject} in "
                f"every county. SECTION 2. The {agency} may spend up to {amount} each year for this purpose. "
                f"SECTION 3. The {agency} shall report to the Legislature on {subject} by January 1, {year}. "
                "SECTION 4. No reimbursement is required by this act.")
        summary = (f"This bill would require the {agency} to {verb} {subject}, allow spending of up to {amount} "
                   f"a year, and require a report by {year}.")
        title = f"An act relating to {subject}."
        rows.append({"text": text, "summary": summary, "title": title})
    return rows


def opus_books(rng: random.Random, count: int) -> list[dict]:
    rows = []
    for index in range(count):
        (en_n, fr_n), (en_v, fr_v), (en_o, fr_o), (en_t, fr_t) = (rng.choice(NOUNS), rng.choice(VERBS),
                                                                  rng.choice(OBJECTS), rng.choice(TIMES))
        en = f"{en_n} {en_v} {en_o}{' ' + en_t if en_t else ''}."
        fr = f"{fr_n} {fr_v} {fr_o}{' ' + fr_t if fr_t else ''}."
        rows.append({"id": str(90000 + index), "translation": {"en": en[0].upper() + en[1:],
                                                               "fr": fr[0].upper() + fr[1:]}})
    return rows


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, rows in (("billsum", billsum(random.Random(16), 60)), ("opus_books", opus_books(random.Random(17), 80))):
        with open(OUT / f"{name}_tiny.jsonl", "w", encoding="utf-8") as handle:
            for row in rows:
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
        print(f"{name}: {len(rows)} rows")


if __name__ == "__main__":
    main()
