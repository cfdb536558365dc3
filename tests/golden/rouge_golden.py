#!/usr/bin/python3
# Golden values for tests/test_metrics_text.c: ROUGE-L (stemmed and unstemmed), the Porter
# stemmer on a word list, and corpus BLEU-4.
# Provenance: NLTK 3.8 from Debian's python3-nltk 3.8-1 (nltk.stem.porter.PorterStemmer, mode
# NLTK_EXTENSIONS, the default; nltk.translate.bleu_score.corpus_bleu), Python 3 from Debian.
# Google's rouge_score package is not in Debian, so its tokenizer and LCS scorer are
# reimplemented below from rouge_score 0.1.2 (tokenize.py: lowercase, [^a-z0-9]+ -> space,
# split on whitespace, stem tokens longer than 3 chars, keep ^[a-z0-9]+$ tokens; rouge_scorer.py
# _score_lcs: LCS table, P = lcs/|pred|, R = lcs/|target|, F = 2PR/(P+R), 0 for an empty side).
# The reimplementation uses Python's str.lower() as rouge_score does; the script checks that for
# every pair it gives the same tokens as Lethe's ASCII-only rule (METRICS.md 1.2), so the
# fixture contains no string where the two differ.
# Words for the stemmer list: the distinct ROUGE tokens of the TOFU answers and questions
# (../shared/data/tofu/full.json beside the repository, or $LETHE_DATA/tofu; shuffled with seed 4,
# first 1500) plus hand-picked cases.
# Run: /usr/bin/python3 tests/golden/rouge_golden.py > tests/golden/rouge_golden.txt
# Format: '#' comments; "pair REF PRED rS pS fS rU pU fU" (S stemmed, U unstemmed, r = recall,
# p = precision, f = F1, repr floats); "stem WORD STEM"; "bleu_item REF HYP" lines then
# "bleu VALUE" for one corpus. Strings are percent-encoded UTF-8: every byte outside 0x21-0x7e
# and '%' as %XX, so fields never contain spaces ("" is written as %).
import json
import random
import re
import sys

import nltk
from nltk.stem.porter import PorterStemmer
from nltk.translate.bleu_score import corpus_bleu

assert nltk.__version__ == "3.8", nltk.__version__
stemmer = PorterStemmer()  # mode NLTK_EXTENSIONS
assert stemmer.mode == PorterStemmer.NLTK_EXTENSIONS

NON_ALNUM = re.compile(r"[^a-z0-9]+")
SPACES = re.compile(r"\s+")
VALID = re.compile(r"^[a-z0-9]+$")


def rs_tokenize(text, stem):
    """rouge_score.tokenize.tokenize with DefaultTokenizer(use_stemmer=stem)."""
    text = text.lower()
    text = NON_ALNUM.sub(" ", text)
    tokens = SPACES.split(text)
    if stem:
        tokens = [stemmer.stem(x) if len(x) > 3 else x for x in tokens]
    return [x for x in tokens if VALID.match(x)]


def lethe_tokenize(text, stem):
    """METRICS.md 1.2 on UTF-8 bytes: ASCII lowercase only, other bytes separate."""
    b = text.encode("utf-8")
    low = bytes(c + 32 if 65 <= c <= 90 else c for c in b)
    toks = [t.decode("ascii") for t in re.split(rb"[^a-z0-9]+", low) if t]
    if stem:
        toks = [stemmer.stem(x) if len(x) > 3 else x for x in toks]
    return toks


def lcs(a, b):
    """rouge_score's _lcs_table, last cell."""
    rows, cols = len(a), len(b)
    t = [[0] * (cols + 1) for _ in range(rows + 1)]
    for i in range(1, rows + 1):
        for j in range(1, cols + 1):
            if a[i - 1] == b[j - 1]:
                t[i][j] = t[i - 1][j - 1] + 1
            else:
                t[i][j] = max(t[i - 1][j], t[i][j - 1])
    return t[-1][-1]


def rouge_l(ref, pred, stem):
    """rouge_score RougeScorer(['rougeL'], use_stemmer=stem).score(ref, pred)['rougeL']."""
    a, b = rs_tokenize(ref, stem), rs_tokenize(pred, stem)
    assert a == lethe_tokenize(ref, stem) and b == lethe_tokenize(pred, stem), (ref, pred)
    if not a or not b:
        return 0.0, 0.0, 0.0
    n = lcs(a, b)
    p = n / len(b)
    r = n / len(a)
    f = 2 * p * r / (p + r) if p + r > 0 else 0.0
    return r, p, f


def enc(s):
    b = s.encode("utf-8")
    if not b:
        return "%"
    return "".join(chr(c) if 0x21 <= c <= 0x7E and c != 0x25 else "%%%02X" % c for c in b)


def load(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


import os  # noqa: E402  (where the TOFU files are: $LETHE_DATA/tofu, else ../shared/data/tofu)
TOFU = os.path.join(os.environ.get("LETHE_DATA") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared", "data"), "tofu") + "/"
full = load(TOFU + "full.json")
pert = load(TOFU + "forget10_perturbed.json")

pairs = [
    ("The cats were running quickly.", "A cat runs quickly"),
    ("Café Déjà-vu: O'Neill's 3.5 novels!", "cafe deja vu oneill 35 novel"),
    ("Café Déjà-vu: O'Neill's 3.5 novels!", "Caf d j vu, O Neill s 3 5 novels"),
    ("", ""),
    ("", "something"),
    ("something", ""),
    ("!!! ... ???", "a b c"),
    ("   ", "\t\n"),
    ("was", "wa"),
    ("It was what it was.", "It is what it is."),
    ("HELLO World", "hello world"),
    ("hello-world", "hello world"),
    ("e-mail, E.MAIL; email", "emails"),
    ("the the the the", "the"),
    ("the", "the the the the"),
    ("a b c d e f g", "g f e d c b a"),
    ("a b a b a b", "b a b a b a"),
    ("1984 was published in 1949.", "Published in 1949, 1984."),
    ("3.14159 is pi; 2.71828 is e", "pi is 3 14159 and e is 2 71828"),
    ("Born on 08/09/1956 in Kuwait City", "born 8 September 1956, Kuwait city"),
    ("naïve résumé über straße", "na ve r sum ber stra e"),
    ("日本語のテキスト and English text", "English text 日本語"),
    ("Ελληνικά κείμενα", "Greek text"),
    ("emoji 🎉 party 🎉 time", "party time emoji"),
    ("tab\tseparated\tvalues", "tab separated values"),
    ("line one\nline two\r\nline three", "line one line two line three"),
    ("generalization relational conditional", "general relate condition"),
    ("hopping hopped hops hopper", "hop hop hop hop"),
    ("ponies skies flies dying lying tying", "pony sky fly die lie tie"),
    ("caresses agreed feed happy enjoy", "caress agree fee happi enjoi"),
    ("controlling biographies geology", "control biography geolog"),
    ("The writer's works explore identity, memory and loss.",
     "Identity, memory, and loss are explored in the writer's work."),
    ("He won the Booker Prize in 2001.", "She never won any prize."),
    ("UPPER lower MiXeD", "upper LOWER mixed"),
    ("x", "x"),
    ("x", "y"),
    ("abc123 def456", "ABC123 DEF456"),
    ("don't won't can't", "do not will not cannot"),
    ("yyyy syzygy yellowy", "syzygies yellow"),
    ("running runner ran runs", "run"),
    ("nationalization rationalization", "national rational"),
    ("'quoted' \"double\" (paren) [bracket] {brace}", "quoted double paren bracket brace"),
    ("a.b.c.d", "a b c d"),
    ("under_score and-dash", "under score and dash"),
    ("A", "a a a a a a a a a a"),
]

# TOFU answers against their paraphrases and perturbations
rng = random.Random(4)
for item in pert[:12]:
    pairs.append((item["answer"], item["paraphrased_answer"]))
    pairs.append((item["answer"], rng.choice(item["perturbed_answer"])))
# answers against other answers, and truncated generations
for _ in range(8):
    a, b = rng.sample(full, 2)
    pairs.append((a["answer"], b["answer"]))
for item in rng.sample(full, 6):
    words = item["answer"].split()
    pairs.append((item["answer"], " ".join(words[: max(1, len(words) // 2)])))
# long answers: several answers joined, against a shuffled and partly replaced version
for k in (8, 15, 25):
    items = rng.sample(full, k)
    ref = " ".join(it["answer"] for it in items)
    words = ref.split()
    w2 = list(words)
    for i in range(len(w2)):
        if rng.random() < 0.2:
            w2[i] = rng.choice(words)
    for _ in range(len(w2) // 10):
        i, j = rng.randrange(len(w2)), rng.randrange(len(w2))
        w2[i], w2[j] = w2[j], w2[i]
    pairs.append((ref, " ".join(w2)))
    pairs.append((" ".join(w2[: len(w2) // 3]), ref))

out = sys.stdout
out.write("# generated by tests/golden/rouge_golden.py with NLTK %s; do not edit\n" % nltk.__version__)
for ref, pred in pairs:
    s = rouge_l(ref, pred, True)
    u = rouge_l(ref, pred, False)
    out.write("pair %s %s %s\n" % (enc(ref), enc(pred), " ".join(repr(v) for v in s + u)))

# stemmer word list
words = set()
for it in full:
    for t in lethe_tokenize(it["question"] + " " + it["answer"], False):
        if t.isalpha():
            words.add(t)
words = sorted(words)
rng.shuffle(words)
extra = [
    "caresses", "ponies", "ties", "flies", "died", "spied", "agreed", "feed", "hopping",
    "falling", "happy", "enjoy", "relational", "conditional", "generalization", "hopeful",
    "goodness", "adoption", "controlling", "dying", "skies", "geology", "biographies", "neill",
    "was", "sky", "news", "innings", "inning", "outings", "outing", "cannings", "canning", "howe",
    "proceed", "exceed", "succeed", "lying", "tying", "ies", "ied", "eed", "sses", "y", "yy",
    "yyy", "yyyy", "syzygy", "syzygies", "toy", "toys", "ivy", "by", "be", "at", "is", "as",
    "a", "radically", "analogously", "differently", "vilely", "fully", "hopefully",
    "rationally", "anthropology", "logi", "electricity", "formalize", "triplicate",
    "sensibility", "sensitivity", "formality", "callousness", "decisiveness", "feudalism",
    "operator", "predication", "vietnamization", "digitizer", "conformably", "hesitancy",
    "valency", "rational", "bowdlerize", "effective", "homologous", "angularity", "activate",
    "communism", "dependent", "adjustment", "replacement", "irritant", "defensible",
    "adjustable", "gyroscopic", "airliner", "inference", "allowance", "revival", "controll",
    "roll", "rate", "cease", "filing", "failing", "hissing", "fizzed", "tanned", "sized",
    "troubled", "conflated", "motoring", "sing", "bled", "plastered", "generously",
    "1990s", "3rd", "mp3", "abc123def", "oed", "oing", "owed", "ying", "eying", "dyed",
]
stemlist = extra + [w for w in words if w not in set(extra)][:1500]
for w in stemlist:
    out.write("stem %s %s\n" % (w, stemmer.stem(w)))

# corpus BLEU-4: every hypothesis has >= 4 tokens (NLTK counts max(1, n-grams) per sentence)
# and every p_n > 0 (NLTK's method0 returns a tiny positive number, Lethe 0)
corpora = [
    [("The cat sat on the mat today", "The cat sat on a mat today"),
     ("there is a dog in the garden", "a dog is in the garden there")],
    [(it["answer"], it["paraphrased_answer"]) for it in pert[:10]],
    [(it["answer"], it["perturbed_answer"][0]) for it in pert[10:30]],
    [(it["answer"], " ".join(it["answer"].split()[:-2])) for it in full[:15]],
    [("one two three four five six", "one two three four five six seven eight")],
]
for corpus in corpora:
    refs = [[lethe_tokenize(r, False)] for r, _ in corpus]
    hyps = [lethe_tokenize(h, False) for _, h in corpus]
    assert all(len(h) >= 4 for h in hyps)
    v = corpus_bleu(refs, hyps)
    assert v > 1e-10, v
    for r, h in corpus:
        out.write("bleu_item %s %s\n" % (enc(r), enc(h)))
    out.write("bleu %r\n" % v)
