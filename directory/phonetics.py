"""Names by sound: the Kölner Phonetik (Cologne phonetics, Hans Joachim Postel, 1969).

A German-aware phonetic code: names that sound alike get the same string of digits, so
`Schmitt`, `Schmidt`, `Schmid` and `Schmied` are all 862, `Maier`, `Meyer`, `Mayer` and `Meier`
all 67, `Philipp` and `Filip` both 351.

The code of a word, letter by letter (the context is always the neighbouring letter as written):

    A E I J O U Y                                          0
    H                                                      no code
    B; P not before H                                      1
    D T not before C S Z                                   2
    F V W; P before H                                      3
    G K Q                                                  4
    C first in the word, before A H K L O Q R U X          4
    C elsewhere before A H K O Q U X, unless after S or Z  4
    X not after C K Q                                      48
    L                                                      5
    M N                                                    6
    R                                                      7
    S Z                                                    8
    C after S or Z                                         8
    C first in the word, before any other letter or none   8
    C elsewhere, not before A H K O Q U X                  8
    D T before C S Z                                       8
    X after C K Q                                          8

Then runs of the same digit become one digit (H, having no code, does not separate them) and every
0 goes except a leading one.

Umlauts, ß and accents are folded before coding (directory.places.fold: ä as a, ß as ss, é as e):
the Kölner Phonetik codes Ä, Ö and Ü as vowels (0) like A, O and U, a double S codes as one S, and
German `ae`/`oe`/`ue` code as their vowel alone, so folding first changes no code. Anything but
the letters a-z left after folding (digits, letters of other scripts) is passed over.

`directory_phonetic()` and `directory_phonetic_codes()` (migration 0008) are the SQL twins of
`cologne()` on a folded word and of `codes()`; tests/test_phonetics.py checks they agree.
"""

import re

from directory.places import fold

_DIGITS = {
    **dict.fromkeys("aeijouy", "0"),
    "b": "1",
    **dict.fromkeys("dt", "2"),
    **dict.fromkeys("fvw", "3"),
    **dict.fromkeys("gkq", "4"),
    "l": "5",
    **dict.fromkeys("mn", "6"),
    "r": "7",
    **dict.fromkeys("sz", "8"),
}
# The neighbours that matter (sets, so that the "" before the first and after the last letter
# is in none of them).
_D_T_AS_8_BEFORE = frozenset("csz")
_X_AS_8_AFTER = frozenset("ckq")
_C_AS_8_AFTER = frozenset("sz")
_C_AS_4_FIRST_BEFORE = frozenset("ahkloqrux")
_C_AS_4_BEFORE = frozenset("ahkoqux")
_NOT_LETTERS = re.compile(r"[^a-z]+")


def _code_letters(letters: str) -> str:
    """The code of a string of the letters a-z (lower case)."""
    digits = []
    for i, letter in enumerate(letters):
        before = letters[i - 1] if i else ""
        after = letters[i + 1] if i + 1 < len(letters) else ""
        if letter == "h":
            continue
        if letter == "p":
            digits.append("3" if after == "h" else "1")
        elif letter in "dt":
            digits.append("8" if after in _D_T_AS_8_BEFORE else "2")
        elif letter == "x":
            digits.append("8" if before in _X_AS_8_AFTER else "48")
        elif letter == "c":
            if not before:
                hard = after in _C_AS_4_FIRST_BEFORE
            else:
                hard = before not in _C_AS_8_AFTER and after in _C_AS_4_BEFORE
            digits.append("4" if hard else "8")
        else:
            digits.append(_DIGITS[letter])
    code = "".join(digits)
    # One digit for each run of the same digit, then no 0 but a leading one.
    code = re.sub(r"(.)\1+", r"\1", code)
    return code[:1] + code[1:].replace("0", "")


def _code_folded(word: str) -> str:
    """The code of a word that directory.places.fold has already folded, as directory_phonetic
    gives it: only the letters a-z count."""
    return _code_letters(_NOT_LETTERS.sub("", word.lower()))


def cologne(word: str) -> str:
    """The Kölner Phonetik code of one word, e.g. `Müller-Lüdenscheidt` -> 65752682.

    The word is folded first (case, umlauts, ß, accents); a hyphen or other mark inside it is
    passed over, so a double name gives one code. A word without letters gives "".
    """
    return _code_folded(fold(word))


def codes(text: str) -> list[str]:
    """The codes of the words of `text` in order, after folding (as directory_phonetic_codes).

    Folding splits `Müller-Lüdenscheidt` into two words, 657 and 52682; words without a code
    (only digits, or only H) are left out.
    """
    return [code for word in fold(text).split(" ") if (code := _code_folded(word))]
