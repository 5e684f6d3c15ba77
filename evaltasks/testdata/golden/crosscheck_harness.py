#!/usr/bin/env python3
"""Cross-check the zero-shot golden prompts against an independent Python
rendering of the lm-evaluation-harness templates (hellaswag/utils.py,
arc_easy.yaml, mmlu/default/_default_template_yaml, commonsense_qa/default.yaml,
belebele/_default_template_yaml), written from those configs, not from the Go code.

Usage (from evaltasks/): python3 testdata/golden/crosscheck_harness.py
Exits non-zero and prints a diff when a golden file disagrees.
"""
import csv, difflib, json, os, re, sys

def hellaswag_pre(text):
    text = text.strip()
    text = text.replace(" [title]", ". ")
    text = re.sub("\\[.*?\\]", "", text)
    return text.replace("  ", " ")

def records(path):
    with open(path, encoding="utf-8") as f:
        data = f.read()
    if data.lstrip().startswith("["):
        return json.loads(data)
    return [json.loads(l) for l in data.splitlines() if l.strip()]

def hellaswag(path):
    for r in records(path):
        q = hellaswag_pre(r["activity_label"] + ": " + r["ctx_a"] + " " + r["ctx_b"].capitalize())
        yield q, [hellaswag_pre(e) for e in r["endings"]], int(str(r["label"]).strip())

def arc(path):
    for r in records(path):
        labels = [c["label"] for c in r["question"]["choices"]]
        yield ("Question: " + r["question"]["stem"] + "\nAnswer:",
               [c["text"] for c in r["question"]["choices"]], labels.index(r["answerKey"]))

def csqa(path):
    for r in records(path):
        ch = r["question"]["choices"]
        q = "Question: " + r["question"]["stem"].strip() + "".join(
            "\n%s. %s" % (c["label"], c["text"]) for c in ch) + "\nAnswer:"
        labels = [c["label"] for c in ch]
        yield q, labels, labels.index(r["answerKey"])

def mmlu(path):
    subject = os.path.basename(path).rsplit("_", 1)[0]
    desc = "The following are multiple choice questions (with answers) about %s.\n\n" % " ".join(subject.split("_"))
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.reader(f):
            q = row[0].strip() + "\nA. %s\nB. %s\nC. %s\nD. %s\nAnswer:" % tuple(row[1:5])
            yield desc + q, ["A", "B", "C", "D"], "ABCD".index(row[5])

def belebele(path):
    for r in records(path):
        q = "P: %s\nQ: %s\nA: %s\nB: %s\nC: %s\nD: %s\nAnswer:" % (
            r["flores_passage"], r["question"].strip(), r["mc_answer1"], r["mc_answer2"],
            r["mc_answer3"], r["mc_answer4"])
        yield q, ["A", "B", "C", "D"], ["1", "2", "3", "4"].index(r["correct_answer_num"])

def generic(path):
    for r in records(path):
        yield r["context"], r["choices"], r["label"]

FIXTURES = [
    (hellaswag, "testdata/hellaswag/hellaswag_val.jsonl"),
    (hellaswag, "testdata/hellaswag/hellaswag_fr_array.json"),
    (arc, "testdata/arc/ARC-Challenge-Test.jsonl"),
    (mmlu, "testdata/mmlu/data/test/abstract_algebra_test.csv"),
    (csqa, "testdata/csqa/dev_rand_split.jsonl"),
    (belebele, "testdata/belebele/fra_Latn.jsonl"),
    (generic, "testdata/generic/capitals.jsonl"),
]

def go_quote(s):
    # Go's %q for the printable strings used in the fixtures.
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'

def zero_shot_blocks(text):
    blocks = re.split(r"(?m)^(?==== doc )", text)
    return "".join(b for b in blocks if re.match(r"=== doc \d+ id=\S* gold=\d+ shots=0\n", b))

def strip_ids(text):
    return re.sub(r"(?m)^(=== doc \d+) id=\S*", r"\1", text)

failed = False
for render, path in FIXTURES:
    out = []
    for i, (query, choices, gold) in enumerate(render(path)):
        out.append("=== doc %d gold=%d shots=0\n%s\n--- continuations\n" % (i, gold, query))
        out.extend(go_quote(" " + c) + "\n" for c in choices)
    want = "".join(out)
    golden = os.path.join("testdata", "golden", os.path.basename(path) + ".txt")
    with open(golden, encoding="utf-8") as f:
        got = strip_ids(zero_shot_blocks(f.read()))
    if got != want:
        failed = True
        sys.stdout.writelines(difflib.unified_diff(want.splitlines(True), got.splitlines(True), "python", golden))
    else:
        print("ok", golden)
sys.exit(1 if failed else 0)
