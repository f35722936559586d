#!/usr/bin/env python
"""Generate the bundled spoken-intent dataset (in the spirit of MInDS-14) with espeak-ng.

14 banking intents, several phrasings each, spoken by many espeak-ng voices at different
speeds and pitches, stored as 8 kHz mono Ogg/Vorbis (like MInDS-14's 8 kHz telephone audio,
so the guide's resampling step matters) with a CSV manifest. Train and test are split by
voice: the test voices are never heard in training.

    python scripts/make_intent_dataset.py [--out src/polymodal/datasets/data/spoken_intents]

Needs Debian's espeak-ng (apt-get install espeak-ng). Deterministic for a given espeak-ng.
"""

from __future__ import annotations

import argparse
import csv
import io
import subprocess
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

INTENTS = {
    "abroad": ["I am travelling abroad next week", "can I use my card in another country",
               "I need to tell you I am going overseas", "will my card work when I travel abroad",
               "how do I use my account while I am abroad", "set up a travel notice for my card"],
    "address": ["I want to change my address", "please update my home address",
                "I moved house and need a new address on file", "how do I change the address on my account",
                "my address is wrong", "update the postal address for my statements"],
    "app_error": ["the mobile app keeps crashing", "I cannot log in to the app",
                  "your app shows an error message", "the banking app is not working",
                  "the app freezes when I open it", "I get an error in the application"],
    "atm_limit": ["what is my cash machine limit", "how much can I withdraw from the ATM",
                  "I want to raise my daily withdrawal limit", "the ATM would not give me more money",
                  "increase my cash withdrawal limit", "what is the maximum I can take out"],
    "balance": ["what is my account balance", "how much money do I have",
                "tell me my current balance", "can you check my balance please",
                "I would like to know my balance", "how much is left in my account"],
    "business_loan": ["I need a loan for my business", "can my company borrow money",
                      "I want to apply for a business loan", "what loans do you offer small businesses",
                      "my shop needs financing", "how do I get a commercial loan"],
    "card_issues": ["my card is not working", "my card was declined at the shop",
                    "the chip on my card is broken", "my debit card got damaged",
                    "the card reader rejected my card", "I have a problem with my bank card"],
    "cash_deposit": ["how do I deposit cash", "I want to pay cash into my account",
                     "where can I deposit money", "can I put cash in at a branch",
                     "I need to deposit some bank notes", "how do I add cash to my account"],
    "direct_debit": ["I want to set up a direct debit", "cancel my direct debit please",
                     "a direct debit was taken twice", "how do I change a direct debit",
                     "stop the monthly direct debit", "I need to create a new direct debit"],
    "freeze": ["please freeze my account", "I lost my card, block it now",
               "someone stole my wallet, freeze my card", "can you lock my card",
               "I want to suspend my account", "block all payments on my card"],
    "high_value_payment": ["I need to make a large payment", "how do I send a big transfer",
                           "I want to pay a very large amount", "can I transfer fifty thousand pounds",
                           "what is the limit for high value payments", "I am buying a house and need to send money"],
    "joint_account": ["I want to open a joint account", "add my partner to my account",
                      "can we have a shared account", "how do I create a joint account with my wife",
                      "remove my husband from our joint account", "we would like an account together"],
    "latest_transactions": ["show me my recent transactions", "what did I spend last week",
                            "list my latest payments", "I want to see my last purchases",
                            "what are my most recent transactions", "check the payments from yesterday"],
    "pay_bill": ["I want to pay a bill", "how do I pay my electricity bill",
                 "pay my phone bill please", "I need to settle an invoice",
                 "can I pay my gas bill online", "help me pay the water bill"],
}

# (name, espeak voice, words per minute, pitch 0-99). The last two are the held-out test voices.
VOICES = [
    ("us_m1", "en-us+m1", 165, 45), ("us_f2", "en-us+f2", 150, 60), ("gb_m3", "en-gb+m3", 175, 40),
    ("gb_f1", "en-gb+f1", 140, 65), ("scot_m2", "en-gb-scotland+m2", 160, 50),
    ("rp_f3", "en-gb-x-rp+f3", 170, 55), ("car_m4", "en-029+m4", 150, 35), ("nyc_f4", "en-us-nyc+f4", 185, 58),
    ("lanc_m5", "en-gb-x-gbclan+m5", 155, 48), ("wmid_f5", "en-gb-x-gbcwmd+f5", 165, 62),
    ("us_m7", "en-us+m7", 145, 42), ("gb_f4", "en-gb+f4", 180, 57),
    # held out
    ("rp_m6", "en-gb-x-rp+m6", 160, 44), ("us_f1", "en-us+f1", 170, 63),
]
TEST_VOICES = {"rp_m6", "us_f1"}
SAMPLING_RATE = 8000


def speak(text: str, voice: str, speed: int, pitch: int) -> np.ndarray:
    wav = subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "--stdout", text],
        check=True, capture_output=True,
    ).stdout
    audio, rate = sf.read(io.BytesIO(wav), dtype="float32")
    audio = soxr.resample(audio, rate, SAMPLING_RATE)
    peak = np.abs(audio).max()
    return (0.8 * audio / peak).astype(np.float32) if peak > 0 else audio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="src/polymodal/datasets/data/spoken_intents")
    args = parser.parse_args()
    out = Path(args.out)
    (out / "audio").mkdir(parents=True, exist_ok=True)
    rows = []
    for voice_name, voice, speed, pitch in VOICES:
        for intent, phrases in INTENTS.items():
            for i, text in enumerate(phrases):
                name = f"audio/{voice_name}_{intent}_{i}.ogg"
                audio = speak(text, voice, speed, pitch)
                sf.write(out / name, audio, SAMPLING_RATE, format="OGG", subtype="VORBIS", compression_level=1.0)
                split = "test" if voice_name in TEST_VOICES else "train"
                rows.append({"path": name, "label": intent, "transcription": text.lower(),
                             "speaker": voice_name, "split": split})
    with open(out / "metadata.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {len(rows)} clips to {out}")


if __name__ == "__main__":
    main()
