"""PII redaction: find personal data in free text and replace it with a placeholder.

Redaction runs first, on every text, so that no personal data is stored, logged or returned
downstream. Each finding is replaced by one placeholder from a closed set (:class:`PiiKind`):

====================== ==================================================================
``[URL_CREDENTIALS]``  the ``user:password`` part of a URL: ``https://[URL_CREDENTIALS]@host``
``[EMAIL]``            e-mail addresses, also with ``＠``, ``&#64;``, ``&#x40;`` or ``&commat;``
``[IBAN]``             IBANs (with or without spaces or dashes) in the format the SWIFT
                       registry gives their country, passing the ISO 7064 mod 97-10 check
                       (python-stdnum); a few countries outside the registry by length
``[CARD]``             payment card numbers: 13-19 digits, optionally grouped by spaces,
                       dashes or dots, starting with 2-9 (every card network but UATP),
                       passing the Luhn check (python-stdnum)
``[SSN]``              US social security numbers ``ddd-dd-dddd`` that the SSA issues or
                       IRS ITINs (python-stdnum); also ``ddd dd dddd`` or nine digits right
                       after "SSN", "ITIN" or "social security number"
``[IP]``               IPv4 and IPv6 addresses
``[PHONE]``            numbers that Google's libphonenumber (``phonenumbers``) reads as
                       possible: with a country code (``+CC ...`` or ``00CC ...``, any
                       country, with an extension), and without one the North American
                       (``(555) 123-4567``, ``555-123-4567``), UK (``07700 900123``,
                       ``020 7946 0958``) and French (``06 12 34 56 78``) forms; and any
                       7-15 digit number right after "phone", "tel", "mobile", "call me", ...
====================== ==================================================================

Precision comes first for the loose kinds (phones): money amounts (``$1,200``,
``{$150.00}``), years, dates (``XX/XX/2018``, ``2024-03-01``), times, percentages, short
numbers, bare digit runs (order numbers) and the CFPB ``XXXX`` masks are left alone. The
checksummed kinds (cards, IBANs) and e-mail addresses favour recall: a number that passes the
checksum is redacted even when it might be something else.

The libraries hold the knowledge that changes (country codes and number lengths, the IBAN
registry); the patterns here only find candidates. Every pattern is a precompiled regex whose
quantifiers are bounded or unambiguous, so the time is linear in the input length (no
catastrophic backtracking on megabyte-long words). ``phonenumbers`` is only handed runs of
digit groups holding at least seven digits and a shape this module would accept (a ``+``, a
group starting with 0, or 3-3-4 groups), which most texts lack; its matcher costs far more per
character than a regex, so long junk of such runs is the slowest input to redact
(``docs/benchmarks/redact_speed.md``).

Examples:
    >>> redact("Mail jane.doe@example.com or call +44 20 7946 0958")
    'Mail [EMAIL] or call [PHONE]'
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum

import phonenumbers
from stdnum import iban as stdnum_iban
from stdnum import luhn, numdb
from stdnum.iso7064 import mod_97_10
from stdnum.us import itin, ssn

__all__ = ["PiiKind", "PiiSpan", "find_pii", "redact"]


class PiiKind(StrEnum):
    """The closed set of personal-data kinds; the placeholder is ``[<value>]``."""

    URL_CREDENTIALS = "URL_CREDENTIALS"
    EMAIL = "EMAIL"
    IBAN = "IBAN"
    CARD = "CARD"
    SSN = "SSN"
    IP = "IP"
    PHONE = "PHONE"


@dataclass(frozen=True, slots=True)
class PiiSpan:
    """Personal data found in a text: ``text[start:end]`` is of kind ``kind``."""

    start: int
    end: int
    kind: PiiKind

    @property
    def placeholder(self) -> str:
        """The text that replaces the span, e.g. ``[EMAIL]``."""
        return f"[{self.kind.value}]"


# When two findings overlap, the earlier kind here wins (then the longer span): an e-mail
# inside a URL's credentials, a card number that also looks like a phone number.
_PRIORITY = {kind: rank for rank, kind in enumerate(PiiKind)}

# Characters people put between digit groups: spaces (also no-break and thin ones), dashes,
# and zero-width characters that would otherwise split a number and hide it from the checks.
_SPACE_CHARS = " \u00a0\u2007\u2009\u202f"
_INVISIBLE_CHARS = "\u200b\u200c\u200d\u2060\ufeff"
_DASH_CHARS = r"\-\u2010\u2011\u2012\u2013"
_GROUP_SEP = f"[{_SPACE_CHARS}{_INVISIBLE_CHARS}{_DASH_CHARS}]"
_PHONE_SEP = f"[{_SPACE_CHARS}.{_DASH_CHARS}]"

_DIGIT = re.compile(r"\d")

# ------------------------------------------------------------------------------ e-mail

# Local part at most 64 characters (RFC 5321); the lookbehind makes a match start at the
# beginning of a run of local-part characters, which keeps the scan linear.
_EMAIL = re.compile(
    r"(?<![\w.%+\-])[\w.%+\-]{1,64}"
    r"(?:@|＠|&#0*64;|&#[xX]0*40;|&commat;)"
    r"(?:[^\W_](?:[\w\-]{0,61}[^\W_])?\.){1,8}[^\W\d_]{2,63}"
)
_AT_HINTS = ("@", "＠", "&#", "&commat;")


def _emails(text: str) -> Iterator[PiiSpan]:
    if not any(hint in text for hint in _AT_HINTS):
        return
    for match in _EMAIL.finditer(text):
        yield PiiSpan(match.start(), match.end(), PiiKind.EMAIL)


# ------------------------------------------------------------------------------ URL credentials

_URL_CREDENTIALS = re.compile(r"(?i)(?<![a-z0-9+.\-])[a-z][a-z0-9+.\-]{0,19}://([^\s/?#@:]{1,128}:[^\s/?#@]{1,128})@")


def _url_credentials(text: str) -> Iterator[PiiSpan]:
    if "://" not in text:
        return
    for match in _URL_CREDENTIALS.finditer(text):
        yield PiiSpan(match.start(1), match.end(1), PiiKind.URL_CREDENTIALS)


# ------------------------------------------------------------------------------ IBAN

# python-stdnum carries the SWIFT IBAN registry (each country's length and BBAN format) and
# checks IBANs against it. A few countries use IBANs outside the registry; their lengths are
# kept here and only the ISO 7064 mod 97-10 check applies to them.
_IBAN_REGISTRY = numdb.get("iban")
_IBAN_BBAN_FIELD = re.compile(r"(\d+)!")
_IBAN_LENGTHS_OUTSIDE_REGISTRY = {
    "AO": 25, "BF": 28, "BJ": 28, "CF": 27, "CG": 27, "CI": 28, "CM": 27, "CV": 25, "DZ": 26,
    "GA": 27, "GQ": 27, "GW": 25, "IR": 26, "KM": 27, "MA": 28, "MG": 27, "ML": 28, "MZ": 25,
    "NE": 28, "SN": 28, "TD": 27, "TG": 28,
}  # fmt: skip


@functools.cache
def _iban_length(country: str) -> int | None:
    """The length of a country's IBANs (from the registry), or None where it issues none."""
    if not country.isalpha():
        return None
    bban = _IBAN_REGISTRY.info(country)[0][1].get("bban")
    if bban is None:
        return _IBAN_LENGTHS_OUTSIDE_REGISTRY.get(country)
    return 4 + sum(int(field) for field in _IBAN_BBAN_FIELD.findall(bban))


def _iban_ok(iban: str) -> bool:
    """The registry's format and the mod 97-10 check; only the check outside the registry."""
    if iban[:2] in _IBAN_LENGTHS_OUTSIDE_REGISTRY:
        return iban.isalnum() and iban.isascii() and mod_97_10.is_valid(iban[4:] + iban[:4])
    return stdnum_iban.is_valid(iban, check_country=False)


# A zero-width lookahead, so that a candidate running into the next word does not swallow
# an IBAN starting there; the exact end is found by _iban_end.
_IBAN_START = re.compile(rf"(?<![^\W_])(?=([A-Za-z]{{2}}\d{{2}}(?:{_GROUP_SEP}?[A-Za-z0-9]){{11,30}}))")
_IBAN_SPLIT = re.compile(_GROUP_SEP)


def _ibans(text: str) -> Iterator[PiiSpan]:
    for match in _IBAN_START.finditer(text):
        candidate = match.group(1)
        expected_length = _iban_length(candidate[:2].upper())
        if expected_length is None:
            continue
        # The regex stops after 34 characters: a candidate glued to more text is no IBAN.
        after = match.start() + len(candidate)
        runs_on = after < len(text) and text[after].isalnum()
        end = _iban_end(candidate, expected_length, runs_on=runs_on)
        if end is not None:
            yield PiiSpan(match.start(), match.start() + end, PiiKind.IBAN)


def _iban_end(candidate: str, expected_length: int, *, runs_on: bool) -> int | None:
    """The end offset of the valid IBAN at the start of ``candidate``, if there is one.

    The IBAN must end where a group of characters ends, not inside a longer word.
    """
    groups = _IBAN_SPLIT.split(candidate)
    end = -1  # offset of the current group's end; each separator is one character
    length = 0
    for i, group in enumerate(groups):
        end += len(group) + 1
        length += len(group)
        if length >= expected_length:
            is_last = i == len(groups) - 1
            fits = length == expected_length and not (is_last and runs_on)
            return end if fits and _iban_ok("".join(groups)[:length].upper()) else None
    return None


# ------------------------------------------------------------------------------ payment cards

# Digit groups joined by short separators, starting at a group of at least three digits
# (a card never starts with a short group); captured in a lookahead so overlapping
# candidates are all seen, then cut into windows of whole groups.
_CARD_SEPARATORS = rf"(?:{_GROUP_SEP}|\.){{1,3}}"
_CARD_START = re.compile(rf"(?<!\d)(?=(\d{{3,19}}(?!\d)(?:{_CARD_SEPARATORS}\d{{1,19}}(?!\d)){{0,6}}))")
_CARD_SPLIT = re.compile(f"({_CARD_SEPARATORS})")


def _cards(text: str) -> Iterator[PiiSpan]:
    for match in _CARD_START.finditer(text):
        end = _card_end(match.group(1))
        if end is not None:
            yield PiiSpan(match.start(), match.start() + end, PiiKind.CARD)


def _card_end(candidate: str) -> int | None:
    """The end of the longest run of whole digit groups at the start that is a valid card."""
    # Card networks' numbers start with 2-9 (1 is only UATP airline cards); order and
    # reference numbers often start with 0 or 1, and one in ten passes the Luhn check.
    if int(candidate[0]) < 2:
        return None
    parts = _CARD_SPLIT.split(candidate)  # digits, separator, digits, ...
    best = None
    digits = ""
    end = 0
    for i in range(0, len(parts), 2):
        if i:
            end += len(parts[i - 1])  # the separator before this group
        end += len(parts[i])
        digits += parts[i]
        if len(digits) > 19:
            break
        if len(digits) >= 13 and _luhn_ok(digits):
            best = end
    return best


def _luhn_ok(digits: str) -> bool:
    """The Luhn (mod 10) check, also for other scripts' decimal digits (full-width, Arabic-Indic)."""
    if not digits.isascii():
        digits = "".join(str(int(ch)) for ch in digits)
    return luhn.is_valid(digits)


# ------------------------------------------------------------------------------ SSN

_SSN = re.compile(r"(?<![\w\-])(?!000|666)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\w\-]|\.\d)")
_SSN_AFTER_LABEL = re.compile(
    r"(?i)\b(?:ssn|itin|social[ \t]security(?:[ \t]{1,3}(?:number|no\.?|#))?)"
    r"[ \t:#\-]{0,4}(?:is[ \t]{1,3})?(\d{3}[ \-]?\d{2}[ \-]?\d{4})(?!\d)"
)


_SSN_HINT = re.compile("ssn|itin|social")


def _ssns(text: str) -> Iterator[PiiSpan]:
    if "-" in text:
        for match in _SSN.finditer(text):
            # Unlabelled, the number must be one the SSA issues (or an IRS ITIN): a 9xx
            # number outside the ITIN groups, or a famous specimen, is a reference number.
            if ssn.is_valid(match.group()) or itin.is_valid(match.group()):
                yield PiiSpan(match.start(), match.end(), PiiKind.SSN)
    # Case-insensitive patterns are slow to scan; most texts lack the label altogether.
    if _SSN_HINT.search(text.lower()):
        for match in _SSN_AFTER_LABEL.finditer(text):
            yield PiiSpan(match.start(1), match.end(1), PiiKind.SSN)


# ------------------------------------------------------------------------------ IP addresses

_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
# Not part of a longer dotted number such as a version string (v1.2.3.4.5).
_IPV4 = re.compile(rf"(?<![\w.]){_OCTET}(?:\.{_OCTET}){{3}}(?![\w]|\.\d)")
_IPV6_CANDIDATE = re.compile(r"(?<![\w:.])[0-9A-Fa-f:]{3,39}(?![\w:])")


def _ipv4s(text: str) -> Iterator[PiiSpan]:
    if "." in text:
        for match in _IPV4.finditer(text):
            yield PiiSpan(match.start(), match.end(), PiiKind.IP)


def _ipv6s(text: str) -> Iterator[PiiSpan]:
    if "::" in text or text.count(":") >= 7:
        for match in _IPV6_CANDIDATE.finditer(text):
            if _is_ipv6(match.group()):
                yield PiiSpan(match.start(), match.end(), PiiKind.IP)


def _is_ipv6(candidate: str) -> bool:
    # Three or more non-empty groups keeps ratios and odd punctuation ("1::2") out.
    if sum(1 for group in candidate.split(":") if group) < 3:
        return False
    try:
        ipaddress.IPv6Address(candidate)
    except ValueError:
        return False
    return True


# ------------------------------------------------------------------------------ phone numbers

# Where a phone number is and whether it is one are decided by Google's libphonenumber
# (``phonenumbers``): its per-country metadata knows every country code, each country's
# number lengths, trunk prefixes, ``(0)`` and extensions. It is slow to scan whole texts, so
# it only sees runs of digit groups (a cheap pre-filter: most texts have none with 7 digits),
# and the precision rules for feedback text (amounts, dates, order numbers) stay here.
_PHONE_RUN = re.compile(rf"(?:\+[ \u00a0]?|\()?\d(?:[()]?{_PHONE_SEP}{{0,3}}[()]?\d)*\)?")
# No phone number has a group of more than 15 digits: a run is cut at such groups.
_PHONE_TOO_LONG_GROUP = re.compile(r"\d{16,}")
# What any number _is_phone_in_context accepts has: a "+", a group starting with 0 (trunk or
# 00), or North American 3-3-4 groups. Runs without any (card groups, dotted version or
# amount strings) never reach the matcher, the costly part.
_PHONE_WORTH_MATCHING = re.compile(r"\+|(?<!\d)0|(?<!\d)\d{3}\D{1,4}\d{3}\D{1,4}\d{4}(?!\d)")
# An extension written after the number ("ext. 12", "x12") is part of it.
_PHONE_EXTENSION_REACH = 16
_PHONE_EXTENSION_START = re.compile(rf"[^\d()+.{_SPACE_CHARS}{_DASH_CHARS}]")
# The matcher gives up after this many failed candidates; it tries fewer than one per
# character, so a bound by length never cuts a long run short.
_PHONE_TRIES_PER_CHAR = 1
# Not glued to a word, an amount, a date, a time or a longer dashed number.
_PHONE_BEFORE = frozenset("+$€£¥.,/:-\u2010\u2011\u2012\u2013")
_PHONE_AFTER = re.compile(r"[\w%]|[.,/:\-]\d")
# The region decides how a number without a country code reads: a leading 0 is the trunk
# prefix (and 00 the international one) in the UK and France; anything else reads as North
# American. A number with +CC reads the same in every region.
_PHONE_REGIONS_TRUNK_0 = ("GB", "FR")
_PHONE_REGIONS_OTHER = ("US",)
# North American numbers written without a country code are redacted in their one written
# shape, 3-3-4 digits (optionally after a 1): "123-45-67890" is a reference, not a phone.
_NANP_GROUPS = ([3, 3, 4], [1, 3, 3, 4])
_DIGIT_GROUP = re.compile(r"\d+")
# 00 then a country code (which never starts with 0) dials abroad from most of the world.
_PHONE_IDD_00 = re.compile(r"00[ \u00a0]?[1-9]")

# Any 7-15 digit number right after a word that announces a phone number.
_PHONE_AFTER_LABEL = re.compile(
    r"(?i)\b(?:phone|tel|telephone|mobile|cell|cellphone|fax|whats ?app|call me|text me"
    r"|reach me|contact me|my number)\b\.?(?:[ \t]{1,3}(?:number|no\.?|#))?"
    r"[ \t]{0,3}(?:is|at|on)?[ \t:#\-]{0,3}"
    rf"(\+?\(?\d(?:{_PHONE_SEP}{{0,2}}\(?\d\)?){{6,14}})(?!\d)"
)


_PHONE_HINT = re.compile("phone|tel|mobile|cell|fax|whats|call me|text me|reach me|contact me|my number")


def _phones(text: str) -> Iterator[PiiSpan]:
    for run in _PHONE_RUN.finditer(text):
        for start, end in _phone_run_parts(run):
            if len(_DIGIT.findall(text, start, end)) >= 7 and _PHONE_WORTH_MATCHING.search(text, start, end):
                yield from _matched_phones(text, start, end)
    if _PHONE_HINT.search(text.lower()):
        for match in _PHONE_AFTER_LABEL.finditer(text):
            yield from _phone_span(text, match.start(1), match.end(1))


def _phone_run_parts(run: re.Match[str]) -> Iterator[tuple[int, int]]:
    """The parts of a run of digit groups that can hold a phone number, as text offsets."""
    position = run.start()
    for too_long in _PHONE_TOO_LONG_GROUP.finditer(run.group()):
        yield position, run.start() + too_long.start()
        position = run.start() + too_long.end()
    yield position, run.end()


def _matched_phones(text: str, start: int, end: int) -> Iterator[PiiSpan]:
    """The phone numbers that ``phonenumbers`` finds in ``text[start:end]``."""
    regions = _PHONE_REGIONS_TRUNK_0 if text[start : start + 2].lstrip("(").startswith("0") else _PHONE_REGIONS_OTHER
    window = text[start : min(end + _PHONE_EXTENSION_REACH, len(text))]
    for region in regions:
        matcher = phonenumbers.PhoneNumberMatcher(
            window, region, leniency=phonenumbers.Leniency.POSSIBLE, max_tries=_PHONE_TRIES_PER_CHAR * len(window) + 16
        )
        for match in matcher:
            found_end = start + match.end
            # Past the run only an extension ("ext. 12") may follow.
            if found_end > end and match.number.extension is None:
                continue
            if _is_phone_in_context(text, start + match.start, found_end, match.raw_string):
                yield PiiSpan(start + match.start, found_end, PiiKind.PHONE)


def _is_phone_in_context(text: str, start: int, end: int, found: str) -> bool:
    """Whether a number the library reads as possible is a phone number in feedback text."""
    plus = found.startswith("+")
    international = plus or _PHONE_IDD_00.match(found) is not None
    before = text[start - 1] if start else ""
    # "+CC" speaks for itself ("Kyiv/+380..."); a number glued to "$", "/", ... does not.
    if (before.isalnum() or before == "_" or before in _PHONE_BEFORE and not plus) or _PHONE_AFTER.match(text, end):
        return False
    extension = _PHONE_EXTENSION_START.search(found)
    number = found[: extension.start()] if extension else found
    groups = _DIGIT_GROUP.findall(number)
    digits = sum(len(group) for group in groups)
    if international:
        return 7 <= digits - 2 * number.startswith("00") <= 15
    # Without a country code: all the digits of a national number, in groups, not one run
    # (a bare run is an order or account number more often), except the UK's 07 mobiles;
    # after a trunk 0 (the UK, France, most of the world) or in North America's 3-3-4 groups.
    if digits < 10 or not number.lstrip("(")[:1].isdigit():
        return False
    if len(groups) == 1:
        return digits == 11 and number.startswith("07")
    return groups[0].startswith("0") or [len(group) for group in groups] in _NANP_GROUPS


def _phone_span(text: str, start: int, end: int) -> Iterator[PiiSpan]:
    found = text[start:end]
    # A closing parenthesis that closes the surrounding text, not an area code.
    if found.endswith(")") and found.count(")") > found.count("("):
        end -= 1
    digits = sum(ch.isdigit() for ch in found)
    if found.startswith("00"):
        digits -= 2
    if 7 <= digits <= 15:
        yield PiiSpan(start, end, PiiKind.PHONE)


# ------------------------------------------------------------------------------ public API

_Detector = Callable[[str], Iterator[PiiSpan]]
# Each detector with the fewest digits its kind can have: most texts have few digits, so
# counting them once skips most number patterns at the cost of one scan.
_DETECTORS: tuple[tuple[_Detector, int], ...] = (
    (_url_credentials, 0),
    (_emails, 0),
    (_ibans, 2),
    (_ipv4s, 4),
    (_ipv6s, 0),
    (_phones, 7),
    (_ssns, 9),
    (_cards, 13),
)


def find_pii(text: str) -> list[PiiSpan]:
    """Find the personal data in ``text``.

    Args:
        text: Any text; megabyte-long input, control characters and any script are fine.

    Returns:
        Non-overlapping spans sorted by ``start``. Where two findings overlap, the one
        whose kind comes first in :class:`PiiKind` wins, then the longer one.
    """
    if not text:
        return []
    digits = len(_DIGIT.findall(text))
    candidates = [span for detect, min_digits in _DETECTORS if digits >= min_digits for span in detect(text)]
    return _without_overlaps(candidates, len(text))


def _without_overlaps(candidates: list[PiiSpan], length: int) -> list[PiiSpan]:
    if len(candidates) < 2:
        return candidates
    candidates.sort(key=lambda s: (_PRIORITY[s.kind], s.start - s.end, s.start))
    taken = bytearray(length)  # one flag per character keeps this linear
    kept = []
    for span in candidates:
        if taken.find(1, span.start, span.end) == -1:
            taken[span.start : span.end] = b"\x01" * (span.end - span.start)
            kept.append(span)
    return sorted(kept, key=lambda s: s.start)


def redact(text: str) -> str:
    """Replace every piece of personal data in ``text`` by its placeholder.

    Args:
        text: Any text.

    Returns:
        The text with each span from :func:`find_pii` replaced by ``[EMAIL]``, ``[PHONE]``,
        ``[CARD]``, ``[IBAN]``, ``[SSN]``, ``[IP]`` or ``[URL_CREDENTIALS]``; everything
        else is unchanged. Redacting twice changes nothing more.

    Examples:
        >>> redact("Card 4111 1111 1111 1111, order 4111111111111112")
        'Card [CARD], order 4111111111111112'
    """
    spans = find_pii(text)
    if not spans:
        return text
    parts = []
    position = 0
    for span in spans:
        parts.append(text[position : span.start])
        parts.append(span.placeholder)
        position = span.end
    parts.append(text[position:])
    return "".join(parts)
