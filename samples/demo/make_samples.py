"""Write the demo's datasets (checked in beside this script; rerun to regenerate them exactly).

    python samples/demo/make_samples.py

Four folders, one story each (``tailor local demo`` uploads them):

- ``support-bot/``: multi-turn customer-support conversations for **fine-tuning** Nova Lite, with a
  validation file and ``"deploy": {"onDemand": true}``;
- ``support-distill/``: customer questions (prompts only) for **distillation** from Nova Premier
  (teacher) to Nova Lite (student), with an ``edge`` section: the compact open intent classifier
  (built at demo time by ``tailor.edge.sample``, never a Nova model) goes to the demo fleet;
- ``support-cpt/``: an unlabelled product-manual corpus for **continued pre-training**, which
  Bedrock does not run for Nova: Tailor validates it and says where it does run (HyperPod);
- ``support-broken/``: a fine-tuning set with three mistakes a person makes, on known lines.
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCHEMA = "bedrock-conversation-2024"
SYSTEM = (
    "You are the support assistant of Acme Outdoor Gear. Answer briefly and kindly, and ask for the "
    "order number when you need it."
)

# (opening question, assistant, follow-up, assistant): two user turns per conversation.
CONVERSATIONS = [
    (
        "Where is my order?",
        "I can check that. What is your order number?",
        "It's AC-10422.",
        "Order AC-10422 left our warehouse yesterday; it should arrive within two working days.",
    ),
    (
        "Can I return a tent I used once?",
        "Yes, within 30 days if it is clean and complete. Shall I start a return?",
        "Yes please, order AC-10377.",
        "Done: a prepaid label for AC-10377 is on its way to your email.",
    ),
    (
        "Do you ship to Norway?",
        "We do: delivery takes five to seven working days.",
        "Are there customs fees?",
        "Norway may charge import VAT on arrival; our checkout shows an estimate.",
    ),
    (
        "How do I reset my password?",
        "Choose 'Forgot password' on the sign-in page and follow the email.",
        "The email never came.",
        "Please check your spam folder; if it is not there, I can resend it to the address on your account.",
    ),
    (
        "Is the Trail 40 backpack waterproof?",
        "It is water resistant; add the rain cover for heavy rain.",
        "Is the rain cover included?",
        "It is sold separately, for 19 euros.",
    ),
    (
        "Can I change my delivery address?",
        "Yes, until the order ships. What is the order number?",
        "AC-10510.",
        "AC-10510 has not shipped yet: open it in your account and edit the address.",
    ),
    (
        "What sizes does the Summit jacket come in?",
        "From XS to XXL, in regular and long cuts.",
        "I'm 1.92 m, which cut?",
        "The long cut adds 5 cm to the sleeves and back: most people your height prefer it.",
    ),
    (
        "Do you price-match?",
        "We match identical items sold by authorised dealers within 14 days.",
        "I saw the Ridge stove cheaper at Peak Sports.",
        "Peak Sports is an authorised dealer: send us the link and we will refund the difference.",
    ),
    (
        "How long is the warranty on stoves?",
        "Two years, covering manufacturing defects.",
        "Mine leaks gas after a year.",
        "Stop using it, please. I will open a warranty claim: what is the order number?",
    ),
    (
        "Can I pay in instalments?",
        "Yes: at checkout choose 'Pay in 3' for orders above 100 euros.",
        "Is there interest?",
        "No interest and no fee if each instalment is paid on time.",
    ),
    (
        "My sleeping bag zipper broke.",
        "Sorry about that. Is it still under warranty?",
        "Bought it last spring.",
        "Then it is covered: we repair zippers for free, send it with the form in your account.",
    ),
    (
        "Do you have gift cards?",
        "Yes, from 20 to 500 euros, sent by email.",
        "Can I schedule the email?",
        "Yes, pick a delivery date when you buy it.",
    ),
    (
        "I was charged twice.",
        "I'm sorry. Which order was it?",
        "AC-10601.",
        "I see two charges for AC-10601; the duplicate is refunded and will show in three to five days.",
    ),
    (
        "Can I cancel my order?",
        "If it has not shipped, yes. What is the order number?",
        "AC-10633.",
        "AC-10633 is cancelled and fully refunded.",
    ),
    (
        "Do boots run true to size?",
        "Most of ours do; the Alp boots run half a size small.",
        "I wear 43 in sneakers.",
        "Take 43 in most boots and 43.5 in the Alp.",
    ),
    (
        "Is there a store in Lyon?",
        "Not yet: our nearest store is in Geneva.",
        "Can I pick up there?",
        "Yes, choose 'Click and collect Geneva' at checkout.",
    ),
    (
        "How do I clean a down jacket?",
        "Machine wash cold with a down detergent, then tumble dry low with two tennis balls.",
        "Can I use normal detergent?",
        "Better not: it strips the down's oils and it loses warmth.",
    ),
    (
        "The app keeps logging me out.",
        "Updating the app usually fixes it. Which version do you have?",
        "4.1.",
        "Version 4.2 fixes that: please update from your app store.",
    ),
    (
        "Do you sell used gear?",
        "Yes, in our Second Life section, checked and with a one-year warranty.",
        "Can I sell you mine?",
        "Yes: bring it to a store for a voucher worth up to 40% of its price.",
    ),
    (
        "My discount code doesn't work.",
        "Which code are you using?",
        "SPRING15.",
        "SPRING15 ended on 31 May; I can offer WELCOME10 instead.",
    ),
    (
        "How heavy is the Nomad tent?",
        "2.1 kg packed.",
        "Is there a lighter two-person one?",
        "The Nomad UL weighs 1.3 kg, for 90 euros more.",
    ),
    (
        "Can I get an invoice with my company's VAT number?",
        "Yes: add it under Account, Billing.",
        "The order is already placed.",
        "Send me the order number and the VAT number and I will reissue the invoice.",
    ),
    (
        "When will the Trail 40 be back in stock?",
        "We expect it in two weeks.",
        "Can you notify me?",
        "Yes: press 'Notify me' on the product page and we will email you.",
    ),
    (
        "Does the headlamp use batteries?",
        "It charges over USB-C; a full charge lasts 40 hours on low.",
        "Can I use AAA batteries in an emergency?",
        "Yes, it takes three AAA batteries as a backup.",
    ),
]
VALIDATION = CONVERSATIONS[-8:]
TRAINING = CONVERSATIONS[:-8]

PROMPTS_TOPICS = [
    "my order {n}",
    "a return for order {n}",
    "the warranty on my stove from order {n}",
    "a refund for order {n}",
    "changing the address of order {n}",
    "the invoice of order {n}",
]
PROMPT_FORMS = [
    "Hi, I have a question about {t}.",
    "Can you help me with {t}?",
    "What is the status of {t}?",
    "I need help urgently with {t}.",
    "Quick question about {t}, please.",
]

MANUAL = [
    "The Nomad tent pitches outer-first: stake the four corners, insert the two poles into the "
    "sleeves, then clip the inner tent.",
    "Season the Ridge stove's burner by running it for five minutes before the first cooking.",
    "Store sleeping bags uncompressed in the cotton sack provided; compression damages the down.",
    "Re-proof waterproof jackets every twenty washes with a wash-in treatment at 30 degrees.",
    "The Trail 40 harness adjusts in four positions for back lengths from 42 to 52 centimetres.",
    "Headlamp: hold the button two seconds to lock it, so it cannot turn on in the pack.",
    "Replace stove O-rings every two seasons; a cracked O-ring is the usual cause of leaks.",
    "Dry a tent fully before storage: mildew forms within two days on a damp flysheet.",
    "Alp boots need about twenty kilometres of walking before the leather shapes to the foot.",
    "Clean zippers with a soft brush and lubricate them with a dry wax stick.",
]


def _conversation(opening: str, answer: str, follow_up: str, second: str) -> dict[str, object]:
    def turn(role: str, text: str) -> dict[str, object]:
        return {"role": role, "content": [{"text": text}]}

    return {
        "schemaVersion": SCHEMA,
        "system": [{"text": SYSTEM}],
        "messages": [
            turn("user", opening),
            turn("assistant", answer),
            turn("user", follow_up),
            turn("assistant", second),
        ],
    }


def _lines(records: list[dict[str, object]]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


def _spec(**fields: object) -> str:
    return json.dumps({"specVersion": "1", **fields}, indent=2) + "\n"


def write() -> None:
    folder = HERE / "support-bot"
    folder.mkdir(exist_ok=True)
    (folder / "train.jsonl").write_text(_lines([_conversation(*c) for c in TRAINING]))
    (folder / "validation.jsonl").write_text(_lines([_conversation(*c) for c in VALIDATION]))
    (folder / "job.json").write_text(
        _spec(
            technique="fine-tuning",
            baseModel="nova-lite",
            training="train.jsonl",
            validation="validation.jsonl",
            hyperParameters={"epochCount": 2},
            deploy={"onDemand": True},
        )
    )

    folder = HERE / "support-distill"
    folder.mkdir(exist_ok=True)
    prompts = [
        {
            "schemaVersion": SCHEMA,
            "system": [{"text": SYSTEM}],
            "messages": [
                {"role": "user", "content": [{"text": form.format(t=topic.format(n=f"AC-{11000 + i}"))}]}
            ],
        }
        for i, (topic, form) in enumerate(
            (topic, form) for topic in PROMPTS_TOPICS for form in PROMPT_FORMS for _ in range(4)
        )
    ]
    (folder / "prompts.jsonl").write_text(_lines(prompts))
    (folder / "job.json").write_text(
        _spec(
            technique="distillation",
            baseModel="nova-lite",
            teacherModel="nova-premier",
            training="prompts.jsonl",
            edge={
                "model": "intent-student.onnx",
                "golden": "golden.json",
                "name": "support-intents",
                "targets": ["thinggroup/demo-fleet"],
                "profiles": ["linux-x86_64"],
            },
        )
    )

    folder = HERE / "support-cpt"
    folder.mkdir(exist_ok=True)
    (folder / "corpus.jsonl").write_text(_lines([{"text": text} for text in MANUAL]))
    (folder / "job.json").write_text(
        _spec(technique="continued-pre-training", baseModel="nova-lite", training="corpus.jsonl")
    )

    folder = HERE / "support-broken"
    folder.mkdir(exist_ok=True)
    good = [json.dumps(_conversation(*c), ensure_ascii=False) for c in TRAINING[:10]]
    good[1] = '{"schemaVersion": "' + SCHEMA + '", "messages": [{"role": "user", "content": ['  # truncated
    wrong = _conversation(*TRAINING[3])
    wrong["messages"] = list(reversed(wrong["messages"]))  # type: ignore[call-overload]
    good[3] = json.dumps(wrong)  # starts with the assistant
    good[4] = good[4].replace("Is the rain cover included?", "User: is the rain cover included?")
    (folder / "train.jsonl").write_text("\n".join(good) + "\n")
    (folder / "job.json").write_text(
        _spec(technique="fine-tuning", baseModel="nova-lite", training="train.jsonl")
    )


if __name__ == "__main__":
    write()
