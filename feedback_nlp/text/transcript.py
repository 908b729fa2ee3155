"""Transcripts: split a call or chat transcript into turns and keep the customer's side.

Labels describe what the customer says; agent turns are context only and never reach the
encoder.
"""

from __future__ import annotations

import re

from feedback_nlp.errors import InputError
from feedback_nlp.taxonomy.records import SPEAKER_ROLES, FeedbackKind, FeedbackRecord, Speaker, Turn, speaker_names

__all__ = ["customer_text", "parse_transcript"]

# The same names as in ``turns`` (records.SPEAKER_ROLES), so both forms accept the same speakers.
_SPEAKERS = SPEAKER_ROLES
# Longest names first so that "customer service:" is not read as "customer" + text.
_SPEAKER_NAMES = "|".join(sorted((re.escape(n) for n in _SPEAKERS), key=len, reverse=True))

# A speaker prefix at the start of a line, optionally after a timestamp ("[10:32]") or a
# list marker, and optionally with a number or a name ("Agent 2:", "Agent (Sam):").
_PREFIX = re.compile(
    r"[ \t]*(?:[\[(]?\d{1,2}:\d{2}(?::\d{2})?(?:[ \t]?[AaPp][Mm])?[\])]?[ \t]*)?"
    r"(?:[-*•>][ \t]*)?"
    rf"(?P<speaker>{_SPEAKER_NAMES})"
    r"[ \t]*(?:\d{1,3}[ \t]*)?(?:\([^()\n]{0,40}\)[ \t]*)?[:：]",
    re.IGNORECASE,
)


_LINE_START = r"[ \t]*(?:[\[(]?\d{1,2}:\d{2}(?::\d{2})?(?:[ \t]?[AaPp][Mm])?[\])]?[ \t]*)?(?:[-*•>][ \t]*)?"
# Labels contact-centre and chat exports write beside the names above: an agent word with up to two
# words before it and a name after it ("Agent Sarah:", "Virtual Agent:", "Customer Service Agent:",
# "Chatbot:"), a visitor or guest ("Visitor:", "Guest 12:").
_AGENT_LABEL = re.compile(
    _LINE_START + r"(?:[A-Za-z]+[ \t]+){0,2}(?:agent|chatbot|virtual[ \t]+assistant|assistant|representative|"
    r"advisor|adviser|csr|live[ \t]+chat)(?:[ \t]+(?-i:[A-Z])[\w'’.-]*)?[ \t]*(?:\d{1,3}[ \t]*)?"
    r"(?:\([^()\n]{0,40}\)[ \t]*)?[:：]",
    re.IGNORECASE,
)
_CUSTOMER_LABEL = re.compile(
    _LINE_START
    + r"(?:visitor|guest|consumer|end[ \t]+user)(?:[ \t]+(?-i:[A-Z])[\w'’.-]*)?[ \t]*(?:\d{1,3}[ \t]*)?[:：]",
    re.IGNORECASE,
)
# Labels that say who spoke but not in what role (speaker diarisation): refused, never guessed.
_ANONYMOUS_LABEL = re.compile(
    _LINE_START + r"(?P<label>(?:speaker|spk|channel|participant|person)[ \t_-]?[A-Za-z0-9]{1,2})[ \t]*[:：]",
    re.IGNORECASE,
)


def _speaker_of(line: str) -> tuple[Speaker, int] | None:
    """The speaker a line's prefix names and where its text starts; None for a line without one."""
    match = _PREFIX.match(line)
    if match:
        return _SPEAKERS[match.group("speaker").lower()], match.end()
    for pattern, speaker in ((_AGENT_LABEL, Speaker.AGENT), (_CUSTOMER_LABEL, Speaker.CUSTOMER)):
        match = pattern.match(line)
        if match:
            return speaker, match.end()
    anonymous = _ANONYMOUS_LABEL.match(line)
    if anonymous:
        raise InputError(
            f"the transcript labels its lines {anonymous.group('label')!r}, which does not say who the customer "
            "is: relabel the lines 'Customer:' and 'Agent:', or send turns with a speaker role (customer or agent)"
        )
    return None


def parse_transcript(text: str) -> list[Turn]:
    r"""Split a transcript written with speaker prefixes into turns.

    A line starting with ``Customer:``, ``Client:``, ``Caller:`` or ``User:`` opens a
    customer turn; ``Agent:``, ``Rep:``, ``Representative:``, ``Advisor:``, ``Operator:``,
    ``Bot:``, ``IVR:``, ``System:``, ``Support:`` or ``Customer service:`` an agent turn (the
    names of :data:`~feedback_nlp.taxonomy.records.SPEAKER_ROLES`, any case; a timestamp, list
    marker, number or name in parentheses may come with it). Exports' own labels are read too: an
    agent word with words before it or a name after it (``Agent Sarah:``, ``Virtual Agent:``,
    ``Customer Service Agent:``, ``Chatbot:``) opens an agent turn, ``Visitor:`` or ``Guest:`` a
    customer turn; ``Speaker 1:`` or ``spk_0:`` (who spoke, not in what role) is refused. A line
    without a prefix continues the previous turn; lines before the first prefix, or a text without
    any prefix, form a customer turn.

    Args:
        text: The transcript.

    Returns:
        The non-empty turns in order; a turn's lines are joined with ``"\n"``.

    Examples:
        >>> [(t.speaker.value, t.text) for t in parse_transcript("Agent: Hi\nCustomer: My card")]
        [('agent', 'Hi'), ('customer', 'My card')]
    """
    turns: list[tuple[Speaker, list[str]]] = []
    for line in text.splitlines():
        found = _speaker_of(line)
        if found:
            speaker, start = found
            turns.append((speaker, [line[start:].strip()]))
        elif line.strip():
            if not turns:
                turns.append((Speaker.CUSTOMER, []))
            turns[-1][1].append(line.strip())
    return [
        Turn(speaker=speaker, text="\n".join(line for line in lines if line)) for speaker, lines in turns if any(lines)
    ]


def customer_text(record: FeedbackRecord) -> str:
    r"""Return the text that a record's labels describe.

    Args:
        record: Any feedback record.

    Returns:
        For a transcript, the customer's turns joined with ``"\n"`` (from ``turns``, or
        parsed from ``text`` by :func:`parse_transcript`); for any other kind, ``text``.

    Raises:
        InputError: The transcript has no customer turn, or the record has no text.
    """
    if record.kind is not FeedbackKind.TRANSCRIPT:
        if record.text is None:
            raise InputError(f"{_name(record)} has no text: expected 'text' for kind '{record.kind}'")
        return record.text
    turns = record.turns if record.turns is not None else parse_transcript(record.text or "")
    customer = [turn.text.strip() for turn in turns if turn.speaker == Speaker.CUSTOMER]
    customer = [text for text in customer if text]
    if not customer:
        agent_turns = sum(1 for turn in turns if turn.speaker == Speaker.AGENT)
        names = ", ".join(speaker_names(Speaker.CUSTOMER))
        raise InputError(
            f"{_name(record)} has no customer turn: expected at least one customer turn (a line "
            f"starting with 'Customer:', 'Client:', 'Caller:' or 'User:', or a turn whose speaker "
            f"is one of {names}), got {agent_turns} agent turn(s) only. Mark the customer's lines, or "
            f"send text that is not a transcript with another kind"
        )
    return "\n".join(customer)


def _name(record: FeedbackRecord) -> str:
    return f"record {record.id!r}" if record.id is not None else "the record"
