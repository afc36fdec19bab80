#!/usr/bin/env python3
"""Generate tests/fixtures/tokenizer.gguf: the nuwa-pytorch 0.7.8 text tokenizer's outputs on a
seeded corpus of strings (docs/MODEL.md section 6), for tests/libnuwa/tokenizer.c.

    sh tools/setup_env.sh && tools/.venv/bin/python tools/make_tokenizer_fixture.py

The file holds the `nuwa.tokenizer.*` keys exactly as tools/convert.py writes them (the merges of
the pinned nuwa-pytorch's bpe_simple_vocab_16e6.txt), plus

    test.tokenizer.texts           string[n]   the corpus (UTF-8, no NUL)
    test.tokenizer.context_length  u32         256, the reference's default tokenize() length
    test.tokenizer.ids             I32 tensor  SimpleTokenizer.encode(text) of every text, concatenated
    test.tokenizer.offsets         I32 tensor  n+1 offsets into ids (text i = ids[off[i]:off[i+1]])
    test.tokenizer.long_index      I32 tensor  indices of the texts with more than 256 tokens
    test.tokenizer.truncated       I32 tensor  (n_long, 256) tokenize(text, 256, truncate_text=True)
    test.tokenizer.seed, test.tokenizer.versions (JSON), test.tokenizer.dropped (u32)

The reference is imported as the module nuwa_pytorch.tokenizer only (the package __init__ pulls in
torchvision and the trainers).  Strings that ftfy's mojibake repair (fix_encoding) changes are not
reproduced by libnuwa (see libnuwa/tokenizer.c) and are dropped; their number is printed and stored.

`--c-tables` instead prints the C tables embedded at the end of libnuwa/tokenizer.c (HTML5 named
character references with ftfy's upper-case variants, ftfy's width map), generated from this
Python's html.entities and ftfy.
"""

import argparse
import html
import html.entities
import importlib
import importlib.util
import json
import os
import random
import sys
import types
import unicodedata

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

SEED = 20240607
CONTEXT = 256
MIN_STRINGS = 2000
OUT = os.path.join(ROOT, "tests", "fixtures", "tokenizer.gguf")


# --------------------------------------------------------------------------------------------
# reference

def load_reference():
    """nuwa_pytorch.tokenizer without running nuwa_pytorch/__init__.py."""
    if "nuwa_pytorch" not in sys.modules:
        spec = importlib.util.find_spec("nuwa_pytorch")
        if spec is None or not spec.submodule_search_locations:
            sys.exit("make_tokenizer_fixture.py: nuwa_pytorch is not installed (run: sh tools/setup_env.sh)")
        pkg = types.ModuleType("nuwa_pytorch")
        pkg.__path__ = list(spec.submodule_search_locations)
        pkg.__file__ = spec.origin
        pkg.__package__ = "nuwa_pytorch"
        pkg.__spec__ = spec
        sys.modules["nuwa_pytorch"] = pkg
    try:
        return importlib.import_module("nuwa_pytorch.tokenizer")
    except ModuleNotFoundError as e:
        sys.exit(f"make_tokenizer_fixture.py: the reference tokenizer needs {e.name!r} "
                 "(regex: apt-get install python3-regex; ftfy: sh tools/setup_env.sh)")


def versions():
    from importlib.metadata import version
    import ftfy
    import regex
    out = {"python": sys.version.split()[0], "unicodedata": unicodedata.unidata_version,
           "ftfy": ftfy.__version__, "regex": regex.__version__}
    for d in ("nuwa-pytorch",):
        try:
            out[d] = version(d)
        except Exception:
            out[d] = "unknown"
    return out


# --------------------------------------------------------------------------------------------
# corpus

WORDS = """a an the cat dog bird horse man woman child person people car bike boat train plane road
street city house tree forest river lake sea ocean beach mountain hill sky cloud sun moon star rain
snow wind fire water light dark red green blue yellow orange purple black white gray brown pink
big small tall short long old young new fast slow happy sad running walking riding flying swimming
jumping dancing playing eating drinking sleeping reading writing singing talking looking moving
digit number zero one two three four five six seven eight nine ten hundred thousand mnist video
frame image picture photo painting drawing sketch cartoon animation movie scene shot camera zoom
pan tilt close up wide view of in on at with from to and or but not is are was were be been being
has have had do does did will would can could should may might must shall this that these those
there here where when why how what who which while during after before above below under over
between through across along around near far left right top bottom middle center front back side
gently quickly slowly suddenly beautiful ugly strange weird amazing incredible golden silver
wooden metal glass stone paper plastic cotton silk leather night morning evening afternoon sunset
sunrise spring summer autumn winter today tomorrow yesterday always never sometimes often rarely
robot alien monster dragon wizard knight princess king queen soldier pilot doctor teacher student
kitchen bedroom garden park school hospital office factory market restaurant museum library stadium
basketball football tennis soccer baseball golf chess guitar piano violin drum trumpet flute
hello world test testing tokenizer byte pair encoding lowercase uppercase whitespace punctuation
nuwa pytorch generative transformer attention nearby sparse diffusion model pneumonoultramicroscopicsilicovolcanoconiosis
antidisestablishmentarianism supercalifragilisticexpialidocious floccinaucinihilipilification""".split()

PUNCT = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"

REFERENCE_EXAMPLES = [  # docs/MODEL.md section 6, with the expected ids (asserted below)
    ("a cat riding a bike!", [320, 2368, 6765, 320, 3701, 256]),
    ("Hello, World's 123 &amp;amp; test", [3306, 267, 1002, 568, 272, 273, 274, 261, 1628]),
    ("A  moving\tMNIST digit 7", [320, 3584, 76, 17782, 27472, 278]),
    ("!!", [748]),
    ("\u201cquoted\u201d", [257, 27706, 257]),
    ("x<|endoftext|>y", [343, 49407, 344]),
    ("don't   STOP", [847, 713, 1691]),
    ("42", [275, 273]),
    ("\u00dcn\u00efc\u00f6d\u00e9 na\u00efve caf\u00e9", [6522, 77, 35689, 66, 7255, 67, 4166, 1097, 35689, 563, 15304]),
]

FIXED = [
    "", " ", "   ", "\n", "\t\t", "\u00a0", "\u3000", " a ", "!", "!!x", "!!!", "x!!", "?!?!", "...", "\u2026",
    "<|startoftext|>", "<|endoftext|>", "<|startoftext|>a cat<|endoftext|>", "<|endoftext|><|endoftext|>",
    "<|STARTOFTEXT|>hello", "<|EndOfText|>", "<|endoftext", "<|endoftext|", "endoftext", "<| endoftext |>",
    "<|\u017ftartoftext|>", "x<|startoftext|>y", "a<|endoftext|>b<|startoftext|>c",
    "don't", "we'll", "it's", "I'm", "they're", "we've", "he'd", "DON'T", "WE'LL", "IT'S", "I'M", "THEY'RE",
    "WE'VE", "HE'D", "'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'x", "''s", "x's's", "rock'n'roll",
    "o'clock", "'tis", "y'all'd've", "the cat's toy", "'", "''", "'''", "a'b", "'\u017f", "it'\u017f",
    "3.14", "1,000,000", "2023-01-01", "12:30pm", "007", "\u0661\u0662\u0663", "\u00bd \u00b2 \u2167",
    "\u2460\u2461", "10\u00b3", "\uff11\uff12\uff13",
    "&amp;", "&lt;", "&gt;", "&#39;", "&#x27;", "&amp;amp;", "&amp;amp;amp;", "&amp;amp;amp;amp;", "&quot;",
    "&nbsp;", "&copy; 2024", "caf&eacute;", "CAF&EACUTE;", "&NTILDE;", "&ntilde;", "&nTILDE;",
    "STRA&SZLIG;E", "&amp", "&ampx", "&amp x", "&notit;", "&notin;", "&not", "this&not that", "&#0;",
    "&#1;", "&#9;", "&#10;", "&#11;", "&#12;", "&#13;", "&#28;", "&#31;", "&#127;", "&#128;", "&#x80;",
    "&#x85;", "&#x9f;", "&#150;", "&#xD800;", "&#xdfff;", "&#1114111;", "&#1114112;", "&#x110000;",
    "&#99999999999999999999;", "&#x41;&#X42;&#67;", "&#65abc;", "&#65", "&#x41", "&#xZZ;", "&#;",
    "&#x;", "&;", "&", "&&&", "&Tab;", "&NewLine;", "&nbsp", "&NBSP;", "&AMP;", "&LT;", "&lt", "&LTx",
    "&ltimes;", "&LTIMES;", "&frac12;", "&FRAC12;", "&fjlig;", "&ThickSpace;", "&NotEqualTilde;",
    "&acE;", "&bne;", "&Jscr;ohn &HilbertSpace;ancock", "&checkmark;", "&hellip;", "&mdash;", "&rsquo;",
    "&ldquo;x&rdquo;", "&lsquo;y&rsquo;", "&#x201c;q&#x201d;", "&#8220;q&#8221;", "&amp;lt;b&amp;gt;",
    "a < b &amp; c", "a&lt;b", "1 &lt; 2 < 3", "<b>&amp;</b>", "x &amp; y\n<z> &amp; w",
    "<i>\n&amp;", "&amp;\n<i>\n&amp;", "&amp;\r<i>", "&eacute\u0301", "&#x301;e", "e&#x301;",
    "&abcdefghijklmnopqrstuvwxyzabcdefgh;", "&abcdefghijklmnopqrstuvwxyzabcdef;", "&aaaaaaaaaaaaaaaaaaaaaaaaa;",
    "&amp;\u00e9;", "&\u00e9;", "&am\u00e9;",
    "\u2018single\u2019 \u201cdouble\u201d \u201alow\u201b \u201elow\u201f \u02bcmod",
    "\ufb01ne \ufb02at \ufb03ce \ufb04e \ufb05 \ufb06 \u0132 \u0133 \u0149 \u01f1 \u01f2 \u01f3 \u01c4 \u01c5 \u01c6",
    "\u01c7 \u01c8 \u01c9 \u01ca \u01cb \u01cc", "\uff2c\uff2f\uff35\uff24\u3000\uff2e\uff2f\uff29\uff33\uff25\uff33",
    "\uff35\uff80\uff70\uff9d", "\uff8a\uff9f", "\uff76\uff9e", "\uffe3", "\uffe0\uffe1\uffe5\uffe6",
    "\uffa1\uffc2", "\uff5f\uff60\uff61\uff62",
    "line1\r\nline2\rline3\u2028line4\u2029line5\u0085line6", "a\x0bb\x0cc", "tab\there",
    "\x1b[31mred\x1b[0m", "\x1b[1;32;40mgreen", "\x1b[\u0663mx", "\x1b[", "\x1b[12", "\x1b[12;", "\x1bx",
    "a\x01b\x02c\x07d\x08e\x0ef\x1fg\x7fh", "\u206a\u206fx\ufeffy\ufff9z\ufffc", "\ufffd", "\u200b\u200c\u200d",
    "\u200e\u200f\u202a\u202e", "\U000e0067\U000e0062", "\x1c\x1d\x1e\x1f", "a\x1cb",
    "e\u0301", "E\u0301COLE", "\u0065\u0301\u0302", "n\u0303", "\u1100\u1161\u11a8", "\u212b", "\u2126",
    "A\u030a", "\u0340\u0341", "\u0f73", "\u0344",
    "\u03a3", "\u039f\u0394\u039f\u03a3", "\u03a3\u0391\u03a3 \u039a\u0391\u0399", "A\u03a3", "A\u03a3.",
    "A\u03a3'B", "A\u03a3\u0301", "A\u0301\u03a3", "\u03a3A", "1\u03a3", "A\u03a3B", "\u00aa\u03a3",
    "\u24d0\u03a3", "\U0001f130\u03a3", "\u02b0\u03a3", "A\u03a3\u02b0", "A\u03a3\u00ba",
    "\u039f\u0394\u03a5\u03a3\u03a3\u0395\u03a5\u03a3", "\u0391\u0398\u0397\u039d\u0391",
    "\u041c\u041e\u0421\u041a\u0412\u0410", "\u041f\u0440\u0438\u0432\u0435\u0442, \u043c\u0438\u0440!",
    "STRA\u1e9eE", "Stra\u00dfe", "\u00df", "\u1e9e", "\u0130STANBUL", "\u0130", "\u0131", "I\u0307",
    "\u0130\u0130\u0130", "\u212a", "\u212aelvin", "\u01c5", "\u1c90\u1c91", "\u13a0\u13a1", "\U00010400\U00010401",
    "\U0001e900", "\u0345", "a\u0345b", "\u0391\u0345", "\u1fb3", "\u1fbc", "\u180e", "a\u180eb",
    "\u0587", "\ufb00", "\u0149n", "\u1e96",
    "\U0001f600", "\U0001f44d\U0001f3fd", "\U0001f468\u200d\U0001f469\u200d\U0001f467", "\U0001f1fa\U0001f1f8",
    "\u2764\ufe0f", "I \u2764 NY", "\u00a9\u00ae\u2122", "\U0001d400\U0001d41a", "\U00020000\U0002a6d6",
    "\ue000\uf8ff", "\U000f0000", "\ufdd0", "\ufffe", "\uffff", "\U0010ffff",
    "\u0080\u0081\u009f", "\u0085", "a\u0080b", "\u00a0\u00a0x\u00a0",
]

SENTENCES_UNICODE = [
    "Le ch\u00e2teau de la for\u00eat est tr\u00e8s \u00e9l\u00e9gant.",
    "\u00c9t\u00e9 \u00e0 l'h\u00f4tel, o\u00f9 \u00e7a co\u00fbte cher.",
    "Gr\u00fc\u00dfe aus M\u00fcnchen: \u00dcberm\u00e4\u00dfig sch\u00f6ne B\u00e4ume.",
    "Espa\u00f1a, ni\u00f1o, coraz\u00f3n, \u00bfqu\u00e9 tal? \u00a1Ol\u00e9!",
    "Ti\u1ebfng Vi\u1ec7t c\u00f3 nhi\u1ec1u d\u1ea5u thanh.",
    "\u0141\u00f3d\u017a, \u017b\u00f3\u0142w, \u0107ma, \u015bwiat.",
    "\u010ce\u0161tina: \u0159e\u0159icha, \u017elu\u0165ou\u010dk\u00fd k\u016f\u0148.",
    "\u00d8resund, \u00c6r\u00f8, \u00e5lesund.",
    "T\u00fcrk\u00e7e: \u015fehir, \u0131\u015f\u0131k, \u011fa\u011f.",
    "\u4e00\u53ea\u732b\u5728\u9a91\u81ea\u884c\u8f66\u3002",
    "\u6771\u4eac\u306e\u591c\u666f\u3092\u898b\u308b\u3002\u30ab\u30bf\u30ab\u30ca\u3082\u3002",
    "\ud55c\uad6d\uc5b4 \ubb38\uc7a5\uc785\ub2c8\ub2e4.",
    "\u0627\u0644\u0639\u0631\u0628\u064a\u0629 \u0644\u063a\u0629 \u062c\u0645\u064a\u0644\u0629",
    "\u05e2\u05d1\u05e8\u05d9\u05ea \u05d6\u05d5 \u05e9\u05e4\u05d4",
    "\u0e20\u0e32\u0e29\u0e32\u0e44\u0e17\u0e22\u0e07\u0e48\u0e32\u0e22",
    "\u0939\u093f\u0928\u094d\u0926\u0940 \u092d\u093e\u0937\u093e",
    "\u0395\u03bb\u03bb\u03b7\u03bd\u03b9\u03ba\u03ac: \u03ba\u03b1\u03bb\u03b7\u03bc\u03ad\u03c1\u03b1 \u039a\u038c\u03a3\u039c\u0395",
    "\u0420\u0443\u0441\u0441\u043a\u0438\u0439 \u0442\u0435\u043a\u0441\u0442 \u0441 \u0401\u043b\u043a\u043e\u0439",
    "\u0540\u0561\u0575\u0565\u0580\u0565\u0576 \u0587 \u10e5\u10d0\u10e0\u10d7\u10e3\u10da\u10d8",
    "\u12a0\u121b\u122d\u129b \u1290\u12cd",
    "emoji party \U0001f389\U0001f38a with cake \U0001f382 and \U0001f600\U0001f600\U0001f600",
]

# assigned in Unicode 14 (Python 3.11's unicodedata), blocks that exercise every class
UNICODE_POOLS = [
    (0x00a1, 0x024f), (0x0370, 0x03ff), (0x0400, 0x04ff), (0x0530, 0x058f), (0x0590, 0x05ff),
    (0x0600, 0x06ff), (0x0900, 0x097f), (0x0e00, 0x0e7f), (0x10a0, 0x10ff), (0x1e00, 0x1fff),
    (0x2000, 0x206f), (0x20a0, 0x20cf), (0x2100, 0x218f), (0x2190, 0x23ff), (0x2460, 0x24ff),
    (0x2500, 0x27bf), (0x2c00, 0x2c7f), (0x3000, 0x30ff), (0x3400, 0x3500), (0x4e00, 0x4f00),
    (0xac00, 0xad00), (0xfb00, 0xfb4f), (0xfe30, 0xfe6f), (0xff00, 0xffef), (0x10400, 0x1044f),
    (0x1d400, 0x1d7ff), (0x1f300, 0x1f64f), (0x1f900, 0x1f9ff), (0x0300, 0x036f), (0x0080, 0x00a0),
]


def unicode_ok(c):
    ch = chr(c)
    cat = unicodedata.category(ch)
    return c != 0 and cat not in ("Cn", "Cs")


def random_word(rng):
    w = rng.choice(WORDS)
    r = rng.random()
    if r < 0.15:
        w = w.upper()
    elif r < 0.35:
        w = w.capitalize()
    return w


def ascii_sentence(rng):
    n = rng.randint(1, 14)
    parts = []
    for _ in range(n):
        parts.append(random_word(rng))
        r = rng.random()
        if r < 0.1:
            parts[-1] += rng.choice([",", ".", "!", "?", ";", ":", "'s", "'t", "...", "!!", "?!"])
        elif r < 0.15:
            parts[-1] = rng.choice(["(", "\"", "'", "["]) + parts[-1] + rng.choice([")", "\"", "'", "]"])
        elif r < 0.2:
            parts.append(str(rng.randint(0, 10 ** rng.randint(1, 6))))
    s = " ".join(parts)
    return s[0].upper() + s[1:] if rng.random() < 0.5 else s


def punct_run(rng):
    k = rng.randint(1, 12)
    run = "".join(rng.choice(PUNCT) for _ in range(k))
    return rng.choice(["", random_word(rng)]) + rng.choice(["", " "]) + run + rng.choice(["", " ", "x"]) + \
        rng.choice(["", random_word(rng)])


def digits(rng):
    kinds = [lambda: str(rng.randint(0, 10 ** rng.randint(1, 12))),
             lambda: f"{rng.random() * 1000:.{rng.randint(1, 4)}f}",
             lambda: f"{rng.randint(1, 12)}/{rng.randint(1, 28)}/{rng.randint(1900, 2100)}",
             lambda: f"frame {rng.randint(0, 99)} of {rng.randint(100, 999)}",
             lambda: "".join(rng.choice("0123456789.,-") for _ in range(rng.randint(1, 15)))]
    return rng.choice(kinds)()


CONTRACTIONS = ["don't", "won't", "can't", "we'll", "it's", "I'm", "they're", "we've", "he'd", "she'll",
                "you're", "isn't", "that's", "let's", "y'all", "ma'am", "o'clock", "rock'n'roll"]


def contraction(rng):
    c = rng.choice(CONTRACTIONS)
    r = rng.random()
    if r < 0.3:
        c = c.upper()
    elif r < 0.45:
        c = c.capitalize()
    elif r < 0.55:
        c = c.replace("'", rng.choice(["\u2019", "\u2018", "''", "`", "&#39;", "&#x27;", "&apos;", "&rsquo;"]))
    return " ".join([random_word(rng), c, random_word(rng)][rng.randint(0, 1):rng.randint(2, 3)])


def entity_text(rng, names):
    out = []
    for _ in range(rng.randint(1, 5)):
        r = rng.random()
        if r < 0.45:
            name = rng.choice(names)
            if rng.random() < 0.2 and name.endswith(";"):
                name = name.upper()
            out.append("&" + name)
        elif r < 0.6:
            out.append(f"&#{rng.randint(0, 0x2ffff)};" if rng.random() < 0.8 else f"&#{rng.randint(0, 300)}")
        elif r < 0.75:
            out.append(f"&#x{rng.randint(0, 0x2ffff):x};" if rng.random() < 0.5 else f"&#X{rng.randint(0, 0x2ffff):X}")
        elif r < 0.85:
            out.append("&amp;" * rng.randint(1, 3) + rng.choice(["lt;", "gt;", "amp;", "#39;", "quot;"]))
        else:
            out.append(random_word(rng))
        if rng.random() < 0.5:
            out.append(rng.choice([" ", "", "x", ";", "<", "\n", "1"]))
    return "".join(out)


def unicode_text(rng):
    out = []
    for _ in range(rng.randint(1, 12)):
        lo, hi = rng.choice(UNICODE_POOLS)
        for _ in range(100):
            c = rng.randint(lo, hi)
            if unicode_ok(c):
                break
        out.append(chr(c))
        if rng.random() < 0.25:
            out.append(rng.choice([" ", "a", "A", "1", "'", "!", "\u0301", "\u03a3"]))
    return "".join(out)


WS = ["\t", "\n", "\r\n", "\r", "\x0b", "\x0c", " ", "\u00a0", "\u3000", "\u2000", "\u2003", "\u200a",
      "\u1680", "\u205f", "\u202f", "\u2028", "\u2029", "\u0085", "\u180e", "\u200b", "\ufeff"]


def whitespace_text(rng):
    out = [rng.choice(WS) * rng.randint(0, 3)]
    for _ in range(rng.randint(1, 6)):
        out.append(random_word(rng))
        out.append("".join(rng.choice(WS) for _ in range(rng.randint(1, 5))))
    return "".join(out)


def mixed_case_unicode(rng):
    pool = ["\u039f\u0394\u03a5\u03a3\u03a3\u0395\u03a5\u03a3", "\u03a3", "\u03c3", "\u03c2", "\u0391\u03a3",
            "\u041c\u041e\u0421\u041a\u0412\u0410", "\u0416\u0401\u041b\u0422\u042b\u0419", "\u0130", "\u0131",
            "\u0130stanbul", "STRA\u1e9eE", "Stra\u00dfe", "\u00df", "\u212a", "\u01c5", "\u00c5NGSTR\u00d6M",
            "\u00c9COLE", "\u0100\u0102\u0104", "\u1e9e", "\u0394\u0399\u0391\u03a3\u03a4\u0397\u039c\u0391",
            "\u0544\u0531\u0550\u0534", "\u10d0\u1c90", "\U00010400\U00010428", "\u13a0\u13f5\uab70"]
    return " ".join(rng.choice(pool) + rng.choice(["", "'S", "'s", ".", "!", "1", " ", "\u0301"])
                    for _ in range(rng.randint(1, 5)))


def long_text(rng):
    kind = rng.randint(0, 3)
    if kind == 0:
        return " ".join(ascii_sentence(rng) for _ in range(rng.randint(30, 60)))
    if kind == 1:
        return " ".join(str(rng.randint(0, 9)) for _ in range(rng.randint(257, 400)))
    if kind == 2:
        return "!? " * rng.randint(130, 200)
    return "".join(unicode_text(rng) for _ in range(rng.randint(40, 70)))


def build_corpus(rng, names):
    texts = [t for t, _ in REFERENCE_EXAMPLES] + FIXED + SENTENCES_UNICODE
    gens = [(ascii_sentence, 420), (punct_run, 150), (digits, 120), (contraction, 150),
            (lambda r: entity_text(r, names), 320), (unicode_text, 330), (whitespace_text, 120),
            (mixed_case_unicode, 120), (long_text, 14)]
    for g, n in gens:
        texts += [g(rng) for _ in range(n)]
    # combinations of everything
    singles = [ascii_sentence, punct_run, digits, contraction, unicode_text, whitespace_text, mixed_case_unicode,
               lambda r: entity_text(r, names), lambda r: r.choice(FIXED), lambda r: r.choice(SENTENCES_UNICODE)]
    for _ in range(260):
        texts.append(rng.choice([" ", "", "\n", "\t"]).join(rng.choice(singles)(rng) for _ in range(rng.randint(2, 4))))
    out, seen = [], set()
    for t in texts:
        assert "\x00" not in t
        t.encode("utf-8")  # no surrogates
        if t not in seen:
            seen.add(t)
            out.append(t)
    return out


# --------------------------------------------------------------------------------------------
# C tables (embedded in libnuwa/tokenizer.c)

def _c_bytes(s):
    out, prev_hex = "", False
    for b in s.encode("utf-8"):
        c = chr(b)
        if 0x20 <= b < 0x7f and c not in '"\\?':
            out += ('""' if prev_hex and c in "0123456789abcdefABCDEF" else "") + c
            prev_hex = False
        else:
            out += f"\\x{b:02x}"
            prev_hex = True
    return '"' + out + '"'


def print_c_tables():
    import ftfy.chardata as cd
    h5 = html.entities.html5
    names = sorted({k.rstrip(";") for k in h5})
    rows = []
    for n in names:
        semi, bare = n + ";" in h5, n in h5
        assert semi, n  # every legacy name also exists with ';'
        if bare:
            assert h5[n] == h5[n + ";"], n
        upper = cd.HTML_ENTITIES.get("&" + n.upper() + ";") if n == n.lower() and n.upper() != n else None
        if upper is not None and ("&" + n.upper() + ";") in ["&" + k for k in h5]:
            upper = None  # a real entity, found directly
        flags = (1 if semi else 0) | (2 if bare else 0)
        if upper is not None and upper == h5[n + ";"]:
            flags |= 4
            upper = None
        elif upper is not None:
            flags |= 8
        rows.append(f'{{"{n}", {flags}, {_c_bytes(h5[n + ";"])}, {_c_bytes(upper) if upper is not None else "NULL"}}}')
    # every ftfy upper-case entity is covered
    n_upper = sum(1 for k in cd.HTML_ENTITIES if k[1:] not in h5)
    assert n_upper == sum(1 for r in rows if r.split(", ")[1] in ("5", "7", "9", "11")), n_upper
    print(f"/* HTML5 named character references (Python {sys.version.split()[0]} html.entities.html5, {len(h5)} names)\n"
          " * and ftfy's upper-case variants &NAME; of all-lower-case names (ftfy.chardata.HTML_ENTITIES, "
          f"{n_upper}).\n * Generated by tools/make_tokenizer_fixture.py --c-tables. Sorted by name. */")
    print("static const NwEntity nw_entities[] = {")
    line = "   "
    for r in rows:
        if len(line) + len(r) + 2 > 110:
            print(line)
            line = "   "
        line += " " + r + ","
    print(line)
    print("};")
    wm = cd.WIDTH_MAP
    assert wm[0x3000] == " "
    print("/* ftfy's width map for U+FF5F..U+FFEF (U+FF01..U+FF5E map to U+0021..U+007E, U+3000 to U+0020; U+FFE3 "
          "maps to U+0020 U+0304): 0 = unchanged. */")
    print("static const uint16_t nw_width_ff5f[0xfff0 - 0xff5f] = {")
    vals = []
    for c in range(0xff5f, 0xfff0):
        v = wm.get(c)
        if c == 0xffe3:
            assert v == " \u0304"
            vals.append("0")
        elif v is None:
            vals.append("0")
        else:
            assert len(v) == 1
            vals.append(f"0x{ord(v):04x}")
    for c in range(0xff01, 0xff5f):
        assert wm[c] == chr(c - 0xfee0)
    for i in range(0, len(vals), 12):
        print("    " + ", ".join(vals[i:i + 12]) + ",")
    print("};")


# --------------------------------------------------------------------------------------------

def write_manifest(texts, ids, long_index, corpus, dropped, size):
    import hashlib
    import ftfy
    with open(OUT, "rb") as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    v = versions()
    lines = [
        "# Text tokenizer fixture",
        "",
        "Generated by `tools/make_tokenizer_fixture.py` (do not edit by hand). Reproduce from the repository root:",
        "",
        "```sh",
        "sh tools/setup_env.sh && tools/.venv/bin/python tools/make_tokenizer_fixture.py",
        "```",
        "",
        f"`tokenizer.gguf` ({size} bytes, sha256 `{sha[:16]}`): the `nuwa.tokenizer.*` keys as `tools/convert.py` "
        "writes them (48,894 merges of the pinned nuwa-pytorch's `bpe_simple_vocab_16e6.txt`) and "
        f"`SimpleTokenizer.encode` of {len(texts)} strings ({len(ids)} ids; {len(long_index)} longer than "
        f"{CONTEXT} tokens, with their `tokenize(..., {CONTEXT}, truncate_text=True)` rows). Keys and tensors: "
        "see the script's docstring.",
        "",
        f"Environment: Python {v['python']} (unicodedata {v['unicodedata']}), nuwa-pytorch {v['nuwa-pytorch']}, "
        f"ftfy {v['ftfy']}, regex {v['regex']} (Debian python3-regex), seed {SEED}. The reference module "
        "`nuwa_pytorch.tokenizer` is imported on its own (the package `__init__` is not run).",
        "",
        "Corpus: the docs/MODEL.md section 6 examples, `!!x` (B16), special-token strings, contractions, HTML "
        "entities (named, upper-case, numeric, nested, with and without `<`), ftfy's quote / ligature / width / "
        "line-break / ANSI / control-character fixes, NFC, Greek final sigma, İ, ß, Cyrillic, CJK, emoji, "
        "whitespace runs, seeded random ASCII sentences, punctuation runs, digits, random Unicode 14 text and "
        "combinations of all of these.",
        "",
        f"Dropped: {len(dropped)} of {len(corpus)} generated strings, because ftfy's mojibake repair "
        "(`fix_encoding`, not reproduced by libnuwa) changes them:",
        "",
    ]
    for t in dropped:
        lines.append(f"- `{ascii(t)}` -> `{ascii(ftfy.fix_text(t))}`")
    with open(os.path.join(os.path.dirname(OUT), "tokenizer.md"), "w") as f:
        f.write("\n".join(lines) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--c-tables", action="store_true", help="print the C tables of libnuwa/tokenizer.c and exit")
    ap.add_argument("-o", "--output", default=OUT)
    args = ap.parse_args()
    if args.c_tables:
        print_c_tables()
        return 0

    import ftfy
    import numpy as np
    import gguf
    from gguf import GGUFValueType
    import convert

    ref = load_reference()
    tok = ref.SimpleTokenizer()
    for text, want in REFERENCE_EXAMPLES:
        got = tok.encode(text)
        assert got == want, (text, got, want)
    assert tok.encode("!!x") == [748, 343], tok.encode("!!x")  # B16: '!' is id 0, so a row can hold id 0

    rng = random.Random(SEED)
    names = sorted(html.entities.html5)
    corpus = build_corpus(rng, names)

    texts, dropped = [], []
    for t in corpus:
        if ftfy.fix_text(t) != ftfy.fix_text(t, fix_encoding=False):
            dropped.append(t)
        else:
            texts.append(t)
    assert len(texts) >= MIN_STRINGS, len(texts)

    ids, offsets, long_index, truncated = [], [0], [], []
    import torch
    for i, t in enumerate(texts):
        e = tok.encode(t)
        ids += e
        offsets.append(len(ids))
        if len(e) > CONTEXT:
            long_index.append(i)
            row = tok.tokenize(t, context_length=CONTEXT, truncate_text=True)[0].tolist()
            assert row == e[:CONTEXT]
            try:
                tok.tokenize(t, context_length=CONTEXT, truncate_text=False)
                raise AssertionError("expected RuntimeError")
            except RuntimeError:
                pass
            truncated.append(row)
        else:
            row = tok.tokenize(t, context_length=CONTEXT)[0].tolist()
            assert row == e + [0] * (CONTEXT - len(e))
    assert long_index, "no over-long text in the corpus"
    del torch

    meta = convert.tokenizer_metadata()
    w = gguf.GGUFWriter(args.output, "nuwa")
    w.add_key_value("general.name", "libnuwa tokenizer fixture", GGUFValueType.STRING)
    for k, (v, vt) in meta.items():
        if isinstance(v, list):
            w.add_key_value(k, v, GGUFValueType.ARRAY, sub_type=vt)
        else:
            w.add_key_value(k, v, vt)
    w.add_key_value("test.tokenizer.texts", texts, GGUFValueType.ARRAY, sub_type=GGUFValueType.STRING)
    w.add_key_value("test.tokenizer.context_length", CONTEXT, GGUFValueType.UINT32)
    w.add_key_value("test.tokenizer.seed", SEED, GGUFValueType.UINT32)
    w.add_key_value("test.tokenizer.dropped", len(dropped), GGUFValueType.UINT32)
    w.add_key_value("test.tokenizer.versions", json.dumps(versions(), sort_keys=True), GGUFValueType.STRING)
    w.add_tensor("test.tokenizer.ids", np.asarray(ids, dtype=np.int32))
    w.add_tensor("test.tokenizer.offsets", np.asarray(offsets, dtype=np.int32))
    w.add_tensor("test.tokenizer.long_index", np.asarray(long_index, dtype=np.int32))
    w.add_tensor("test.tokenizer.truncated", np.asarray(truncated, dtype=np.int32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()

    size = os.path.getsize(args.output)
    if os.path.abspath(args.output) == os.path.abspath(OUT):
        write_manifest(texts, ids, long_index, corpus, dropped, size)
    print(f"make_tokenizer_fixture.py: wrote {os.path.relpath(args.output, ROOT)}: {len(texts)} texts, "
          f"{len(ids)} ids, {len(long_index)} longer than {CONTEXT} tokens, {size} bytes")
    print(f"make_tokenizer_fixture.py: dropped {len(dropped)} of {len(corpus)} strings that ftfy's mojibake "
          "repair changes (not reproduced by libnuwa):")
    for t in dropped:
        print(f"    {t!r} -> {ftfy.fix_text(t)!r}")
    print("versions:", json.dumps(versions(), sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
