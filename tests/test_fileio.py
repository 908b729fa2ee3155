"""Tests for feedback_nlp.fileio: reading CSV, JSONL and Parquet; writing JSONL atomically."""

from __future__ import annotations

import io
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from feedback_nlp.errors import InputError
from feedback_nlp.fileio import RowResult, open_output, read_records, write_jsonl
from feedback_nlp.taxonomy.records import FeedbackKind, FeedbackRecord, Speaker


def _write_jsonl(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _errors(rows: list[RowResult]) -> dict[int, str]:
    return {row.line: row.error for row in rows if row.error is not None}


# ----------------------------------------------------------------------------- JSONL


def test_read_records_jsonl_maps_fields(tmp_path: Path) -> None:
    path = _write_jsonl(
        tmp_path / "in.jsonl",
        [
            json.dumps(
                {
                    "id": "a1",
                    "kind": "review",
                    "text": "Great staff",
                    "created_at": "2024-05-01T09:30:00Z",
                    "channel": "web",
                    "source": "trustpilot",
                    "rating": 4.5,
                    "nps": 9,
                }
            ),
            json.dumps(
                {
                    "kind": "transcript",
                    "turns": [
                        {"speaker": "customer", "text": "My card was charged twice."},
                        {"speaker": "agent", "text": "Let me check."},
                    ],
                }
            ),
        ],
    )

    first, second = list(read_records(path))

    assert first == RowResult(line=1, record=first.record, error=None)
    assert first.ok
    record = first.record
    assert record is not None
    assert record.id == "a1"
    assert record.kind is FeedbackKind.REVIEW
    assert record.created_at == datetime(2024, 5, 1, 9, 30, tzinfo=UTC)
    assert (record.channel, record.source, record.rating, record.nps) == ("web", "trustpilot", 4.5, 9)
    assert second.record is not None
    assert second.record.id == "2"  # no id: the line number
    assert second.record.turns is not None
    assert second.record.turns[0].speaker is Speaker.CUSTOMER


def _chat(turns: list[dict[str, Any]]) -> str:
    return json.dumps({"id": "c1", "kind": "transcript", "turns": turns})


def test_turns_take_the_keys_chat_exports_use(tmp_path: Path) -> None:
    # MultiDoGo-style turns: a turn number and an intent beside the text; a role key for the speaker.
    path = _write_jsonl(
        tmp_path / "chats.jsonl",
        [
            _chat(
                [
                    {"turn": 0, "role": "user", "utterance": "my order never came", "intent": "missing_order"},
                    {"turn": 1, "speaker": "agent", "text": "Sorry!", "metadata": {"queue": "b"}, "sentiment": 0},
                ]
            )
        ],
    )
    (row,) = list(read_records(path))
    assert row.error is None and row.record is not None and row.record.turns is not None
    first, second = row.record.turns
    assert (first.speaker, first.text) == (Speaker.CUSTOMER, "my order never came")
    assert first.metadata == {"turn": 0, "intent": "missing_order"}
    assert second.metadata == {"turn": 1, "sentiment": 0, "queue": "b"}


def test_turns_without_a_speaker_are_refused_with_what_to_do(tmp_path: Path) -> None:
    path = _write_jsonl(tmp_path / "chats.jsonl", [_chat([{"text": "hi"}, {"text": "i need a refund"}])])
    (row,) = list(read_records(path))
    assert row.record is None
    assert row.error == (
        "turns: 2 of 2 turns name no speaker; give each turn a speaker (customer or agent), or pass "
        "--turn-speaker customer if the export holds only the customer's turns"
    )


def test_turn_speaker_names_the_turns_that_name_none(tmp_path: Path) -> None:
    path = _write_jsonl(
        tmp_path / "chats.jsonl", [_chat([{"text": "hi"}, {"speaker": "agent", "text": "hello"}, {"text": "refund"}])]
    )
    (row,) = list(read_records(path, turn_speaker="customer"))
    assert row.record is not None and row.record.turns is not None
    assert [t.speaker for t in row.record.turns] == [Speaker.CUSTOMER, Speaker.AGENT, Speaker.CUSTOMER]


def test_turns_as_speaker_text_pairs_from_a_named_key(tmp_path: Path) -> None:
    # ABCD's chats: the turns under "original" as [speaker, text] pairs, system events as "action".
    abcd = {
        "convo_id": 3592,
        "scenario": {"flow": "product_defect"},
        "original": [
            ["agent", "How can I help you?"],
            ["customer", "I got the wrong size."],
            ["action", "Order found"],
        ],
    }
    path = _write_jsonl(tmp_path / "abcd.jsonl", [json.dumps(abcd)])
    (row,) = list(read_records(path, kind="transcript", id_column="convo_id", columns={"turns": "original"}))
    assert row.error is None and row.record is not None and row.record.turns is not None
    assert row.record.id == "3592"
    assert [(t.speaker, t.text) for t in row.record.turns] == [
        (Speaker.AGENT, "How can I help you?"),
        (Speaker.CUSTOMER, "I got the wrong size."),
        (Speaker.AGENT, "Order found"),
    ]
    assert row.record.metadata == {"scenario": {"flow": "product_defect"}}


def test_channel_fills_rows_without_one(tmp_path: Path) -> None:
    # A chat export without a channel column: --channel chat declares it, so chats get `chat`.
    path = _write_jsonl(
        tmp_path / "chats.jsonl",
        [
            _chat([{"speaker": "customer", "text": "hi"}]),
            json.dumps({"kind": "transcript", "text": "x", "channel": "phone"}),
        ],
    )
    rows = list(read_records(path, channel="chat"))
    assert [r.record.channel for r in rows if r.record] == ["chat", "phone"]  # a row's own channel wins
    with pytest.raises(InputError, match="--channel must not be empty"):
        read_records(path, channel=" ")


def test_turns_under_another_key_are_pointed_out(tmp_path: Path) -> None:
    path = _write_jsonl(tmp_path / "abcd.jsonl", [json.dumps({"original": [["customer", "wrong size"]], "n": [1]})])
    (row,) = list(read_records(path, kind="transcript"))
    assert row.error == (
        "text: missing or empty; expected the feedback text (the key 'original' holds a list of turns: "
        "pass --turns-column original)"
    )


def test_a_turn_that_is_no_pair_is_reported(tmp_path: Path) -> None:
    path = _write_jsonl(tmp_path / "chats.jsonl", [_chat([["customer", "late", "again"]])])  # type: ignore[list-item]
    (row,) = list(read_records(path))
    assert row.record is None and (row.error or "").startswith("turns.0:")


def test_parquet_reads_turns_from_a_list_column(tmp_path: Path) -> None:
    # Turns as a list of [speaker, text] pairs under another name, or of objects under `turns`; no text column.
    pairs, objects = tmp_path / "pairs.parquet", tmp_path / "objects.parquet"
    pq.write_table(
        pa.table({"convo_id": [7], "original": [[["customer", "late parcel"], ["agent", "sorry"]]]}), str(pairs)
    )
    pq.write_table(pa.table({"id": ["a"], "turns": [[{"speaker": "caller", "text": "refund please"}]]}), str(objects))
    (first,) = list(read_records(pairs, kind="transcript", id_column="convo_id", columns={"turns": "original"}))
    (second,) = list(read_records(objects, kind="transcript"))
    assert first.record is not None and first.record.turns is not None
    assert [(t.speaker, t.text) for t in first.record.turns] == [
        (Speaker.CUSTOMER, "late parcel"),
        (Speaker.AGENT, "sorry"),
    ]
    assert second.record is not None and second.record.turns is not None
    assert [(t.speaker, t.text) for t in second.record.turns] == [(Speaker.CUSTOMER, "refund please")]
    # A `turns` column that counts the turns stays metadata.
    counts = tmp_path / "counts.parquet"
    pq.write_table(pa.table({"text": ["late again"], "turns": [12]}), str(counts))
    (third,) = list(read_records(counts, kind="transcript"))
    assert third.record is not None and third.record.turns is None and third.record.metadata == {"turns": "12"}


def test_turns_column_is_refused_for_tables(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text("text,original\nhi,x\n", encoding="utf-8")
    with pytest.raises(InputError, match="--turns-column applies to JSON, JSONL and Parquet files"):
        read_records(path, kind="transcript", columns={"turns": "original"})


def test_turn_speaker_must_be_a_speaker(tmp_path: Path) -> None:
    path = _write_jsonl(tmp_path / "chats.jsonl", [_chat([{"text": "hi"}])])
    with pytest.raises(InputError, match="--turn-speaker: unknown speaker 'robot'"):
        read_records(path, turn_speaker="robot")


def test_read_records_jsonl_unknown_keys_go_to_metadata(tmp_path: Path) -> None:
    line = {
        "kind": "survey",
        "text": "ok",
        "store": "Leeds",
        "score": 3,
        "metadata": {"wave": 2, "store": "x"},
    }
    path = _write_jsonl(tmp_path / "in.ndjson", [json.dumps(line)])

    (row,) = read_records(path)

    assert row.record is not None
    # Values keep their JSON types; an explicit metadata object wins a clash.
    assert row.record.metadata == {"store": "x", "score": 3, "wave": 2}


def test_read_records_jsonl_integer_id_becomes_string(tmp_path: Path) -> None:
    path = _write_jsonl(tmp_path / "in.jsonl", ['{"id": 42, "kind": "social", "text": "hi"}'])

    (row,) = read_records(path)

    assert row.record is not None and row.record.id == "42"


def test_read_records_jsonl_skips_blank_lines_but_counts_them(tmp_path: Path) -> None:
    path = _write_jsonl(
        tmp_path / "in.jsonl",
        ['{"kind": "survey", "text": "one"}', "", "   ", '{"kind": "survey", "text": "two"}'],
    )

    rows = list(read_records(path))

    assert [row.line for row in rows] == [1, 4]
    assert all(row.ok for row in rows)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('{"kind": "survey", "text": "unclosed"', "invalid JSON"),
        ("[1, 2]", "expected a JSON object, got an array"),
        ('"just text"', "expected a JSON object, got a string"),
        ('{"kind": "survey"}', "text: missing or empty"),
        ('{"kind": "survey", "text": "   "}', "text: missing or empty"),
        (
            '{"kind": "tweet", "text": "hi"}',
            "kind: expected one of survey, review, social, transcript, got 'tweet'",
        ),
        (
            '{"kind": "survey", "text": "hi", "created_at": "yesterday"}',
            "created_at: cannot read 'yesterday' as a date",
        ),
        ('{"kind": "survey", "text": 5}', "text: expected a string, got 5"),
        ('{"kind": "survey", "text": "hi", "nps": 11}', "nps: expected at most 10, got 11"),
        ('{"kind": "review", "text": "hi", "rating": "five"}', "rating: expected a number, got 'five'"),
        ('{"kind": "survey", "text": "hi", "metadata": [1]}', "metadata: expected an object"),
        (
            '{"kind": "transcript", "turns": [{"speaker": "robot", "text": "hi"}]}',
            "turns.0.speaker: unknown speaker 'robot'; expected a customer name (customer, caller, client, user)",
        ),
        (
            '{"kind": "review", "turns": [{"speaker": "customer", "text": "hi"}]}',
            "'turns' is only for kind 'transcript'",
        ),
    ],
)
def test_read_records_jsonl_bad_row_explains_itself(tmp_path: Path, line: str, expected: str) -> None:
    path = _write_jsonl(tmp_path / "in.jsonl", ['{"kind": "survey", "text": "fine"}', line])

    first, second = list(read_records(path))

    assert first.ok
    assert second.line == 2
    assert second.record is None
    assert second.error is not None
    assert expected in second.error
    assert "\n" not in second.error


def test_read_records_bad_rows_do_not_stop_the_stream(tmp_path: Path) -> None:
    path = _write_jsonl(
        tmp_path / "in.jsonl",
        [
            '{"kind": "survey", "text": "one"}',
            "not json",
            '{"kind": "tweet", "text": "x"}',
            "",
            '{"kind": "survey", "text": "five"}',
        ],
    )

    rows = list(read_records(path))

    assert [row.line for row in rows] == [1, 2, 3, 5]
    assert set(_errors(rows)) == {2, 3}
    assert rows[-1].record is not None and rows[-1].record.text == "five"


def test_read_records_jsonl_invalid_utf8_line_is_one_bad_row(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_bytes(b'{"kind": "survey", "text": "caf\xe9"}\n{"kind": "survey", "text": "ok"}\n')

    first, second = list(read_records(path))

    assert first.error is not None and "UTF-8" in first.error
    assert second.ok


def test_read_records_missing_kind_asks_for_kind(tmp_path: Path) -> None:
    path = _write_jsonl(tmp_path / "in.jsonl", ['{"text": "no kind here"}'])

    (row,) = read_records(path)

    assert row.error is not None
    assert row.error.startswith("kind: missing") and "--kind" in row.error


def test_read_records_default_kind_fills_rows_without_one(tmp_path: Path) -> None:
    path = _write_jsonl(
        tmp_path / "in.jsonl",
        ['{"text": "no kind"}', '{"text": "own kind", "kind": "Social"}', '{"text": "blank", "kind": ""}'],
    )

    kinds = [row.record.kind for row in read_records(path, kind="review") if row.record]

    assert kinds == [FeedbackKind.REVIEW, FeedbackKind.SOCIAL, FeedbackKind.REVIEW]


def test_read_records_rejects_unknown_default_kind(tmp_path: Path) -> None:
    path = _write_jsonl(tmp_path / "in.jsonl", ['{"text": "x"}'])

    with pytest.raises(InputError, match="--kind must be one of survey, review"):
        read_records(path, kind="tweet")


def test_read_records_stdin_text_stream(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO('{"kind": "survey", "text": "from stdin"}\n\n[]\n'))

    rows = list(read_records("-"))

    assert rows[0].record is not None and rows[0].record.text == "from stdin"
    assert rows[1].line == 3 and rows[1].error is not None


def test_read_records_stdin_binary_stream(monkeypatch: pytest.MonkeyPatch) -> None:
    data = '{"text": "naïve café"}\n'.encode()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data), encoding="ascii"))

    (row,) = read_records("-", kind="social")

    assert row.record is not None and row.record.text == "naïve café"


# ------------------------------------------------------------------------------- CSV


def test_read_records_csv_maps_columns_and_reports_file_lines(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text(
        "id,text,kind,created_at,channel,source,rating,nps,store\n"
        "r1,Fast delivery,review,2024-05-01,app,play,5,,Leeds\n"
        '"r2","Slow,\nvery slow",,,,,,3,\n'
        "\n"
        ",Fine,survey,,,,,,York\n",
        encoding="utf-8",
    )

    rows = list(read_records(path, kind="survey"))

    assert [row.line for row in rows] == [2, 3, 6]  # header is line 1; row 2 spans 3-4
    first, second, third = (row.record for row in rows)
    assert first is not None and second is not None and third is not None
    assert first.kind is FeedbackKind.REVIEW
    assert (first.rating, first.nps, first.channel) == (5.0, None, "app")
    assert first.created_at == datetime(2024, 5, 1, tzinfo=UTC)  # naive times are UTC
    assert first.metadata == {"store": "Leeds"}
    assert second.text == "Slow,\nvery slow" and second.kind is FeedbackKind.SURVEY
    assert second.nps == 3 and second.metadata == {"store": ""}
    assert third.id == "6"  # blank id: the file line


def test_read_records_csv_custom_columns(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text("review_id,comment,text\n7,Loved it,other\n", encoding="utf-8")

    (row,) = read_records(path, kind="review", text_column="comment", id_column="review_id")

    assert row.record is not None
    assert (row.record.id, row.record.text) == ("7", "Loved it")
    assert row.record.metadata == {"text": "other"}


def test_read_records_csv_byte_order_mark(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_bytes("text\nBOM ok\n".encode("utf-8-sig"))

    (row,) = read_records(path, kind="survey")

    assert row.record is not None and row.record.text == "BOM ok"


def test_read_records_csv_missing_text_column_lists_columns(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text("id,comment\n1,hello\n", encoding="utf-8")

    with pytest.raises(InputError) as info:
        read_records(path, kind="survey")

    message = str(info.value)
    assert "'text'" in message and "'id', 'comment'" in message and "--text-column COL" in message


def test_read_records_csv_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text("", encoding="utf-8")

    with pytest.raises(InputError, match="empty"):
        read_records(path, kind="survey")


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ("1,a,b,c", "expected 3 fields as in the header, got 4"),
        ("1,", "expected 3 fields as in the header, got 2"),
        ("1,,review", "text: missing or empty"),
        ("1,hi,tweet", "kind: expected one of survey, review, social, transcript, got 'tweet'"),
    ],
)
def test_read_records_csv_bad_row_explains_itself(tmp_path: Path, row: str, expected: str) -> None:
    path = tmp_path / "in.csv"
    path.write_text(f"id,text,kind\n0,fine,survey\n{row}\n2,also fine,survey\n", encoding="utf-8")

    rows = list(read_records(path))

    assert [r.line for r in rows] == [2, 3, 4]
    assert rows[0].ok and rows[2].ok
    assert rows[1].error is not None and expected in rows[1].error


def test_read_records_csv_streams_past_chunk_size(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    lines = ["id,text"] + [f"{i},comment {i}" for i in range(2500)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    rows = read_records(path, kind="survey", chunk_size=1000)
    first = next(rows)  # a lazy iterator: rows come before the file is read through
    rest = list(rows)

    assert first.line == 2
    assert len(rest) == 2499
    assert rest[-1].line == 2501
    assert rest[-1].record is not None and rest[-1].record.text == "comment 2499"


# --------------------------------------------------------------------------- Parquet


def test_read_records_parquet_types_and_row_index(tmp_path: Path) -> None:
    path = tmp_path / "in.parquet"
    table = pa.table(
        {
            "id": pa.array([10, None, 12], pa.int64()),
            "text": ["good", "fine", None],
            "kind": ["review", None, "review"],
            "created_at": pa.array([datetime(2024, 1, 2, 3, 4), None, None], pa.timestamp("s")),
            "nps": pa.array([9, None, None], pa.int64()),
            "store": pa.array([7, 8, None], pa.int64()),
        }
    )
    pq.write_table(table, path)

    rows = list(read_records(path, kind="survey"))

    assert [row.line for row in rows] == [1, 2, 3]
    first, second = rows[0].record, rows[1].record
    assert first is not None and second is not None
    assert (first.id, first.kind, first.nps) == ("10", FeedbackKind.REVIEW, 9)
    assert first.created_at == datetime(2024, 1, 2, 3, 4, tzinfo=UTC)
    assert first.metadata == {"store": "7"}  # other columns arrive as strings
    assert (second.id, second.kind) == ("2", FeedbackKind.SURVEY)
    assert rows[2].error is not None and rows[2].error.startswith("text: missing")


@pytest.mark.parametrize(
    "column",
    [
        pa.array(['{"region": "north"}', "", None, "[1]"]),  # JSON text, as the records layout writes it
        pa.array([{"region": "north"}, None, None, None], pa.struct([("region", pa.string())])),
        pa.array([[("region", "north")], [], None, None], pa.map_(pa.string(), pa.string())),
    ],
    ids=["json", "struct", "map"],
)
def test_a_parquet_metadata_column_is_the_records_metadata(tmp_path: Path, column: pa.Array) -> None:
    """As `spark classify` reads it, so `score --by region` groups the same on both engines."""
    path = tmp_path / "in.parquet"
    pq.write_table(pa.table({"text": ["a", "b", "c", "d"], "store": ["7", "8", "9", "10"], "metadata": column}), path)

    rows = list(read_records(path, kind="review"))

    assert rows[0].record is not None and rows[0].record.metadata == {"store": "7", "region": "north"}
    assert rows[1].record is not None and rows[1].record.metadata == {"store": "8"}
    assert rows[2].record is not None and rows[2].record.metadata == {"store": "9"}
    if pa.types.is_string(column.type):
        assert rows[3].error == "metadata: expected a JSON object, a struct or a map (got JSON list)"


def test_read_records_parquet_batches_keep_row_index(tmp_path: Path) -> None:
    path = tmp_path / "big.parquet"
    pq.write_table(pa.table({"text": [f"t{i}" for i in range(2500)]}), path)

    rows = list(read_records(path, kind="social", chunk_size=1000))

    assert [row.line for row in rows] == list(range(1, 2501))
    assert rows[-1].record is not None and rows[-1].record.id == "2500"


def test_read_records_parquet_missing_text_column(tmp_path: Path) -> None:
    path = tmp_path / "in.parquet"
    pq.write_table(pa.table({"body": ["x"]}), path)

    with pytest.raises(InputError, match=r"columns found: 'body'.*--text-column COL"):
        read_records(path, kind="survey")


def test_read_records_parquet_not_parquet(tmp_path: Path) -> None:
    path = tmp_path / "in.parquet"
    path.write_text("not parquet", encoding="utf-8")

    with pytest.raises(InputError, match=r"cannot read .* as Parquet"):
        read_records(path)


# ----------------------------------------------------------------------- JSON arrays


def test_read_records_json_array_numbers_records_by_the_line_they_start_on(tmp_path: Path) -> None:
    path = tmp_path / "export.json"
    path.write_text(
        '[\n  {"id": "a", "kind": "review", "text": "Great fit", "store": "Leeds"},\n'
        '  {"id": "b", "kind": "review",\n   "text": ""},\n  3,\n'
        '  {"id": "c", "kind": "transcript", "turns": [{"role": "customer", "text": "late again"}]}\n]\n',
        encoding="utf-8",
    )
    rows = list(read_records(path))
    assert [(r.line, r.record.id if r.record else None) for r in rows] == [(2, "a"), (3, None), (5, None), (6, "c")]
    assert _errors(rows) == {
        3: "text: missing or empty; expected the feedback text",
        5: "expected a JSON object, got a number",
    }
    assert rows[0].record is not None and rows[0].record.metadata == {"store": "Leeds"}


def test_read_records_json_array_stops_at_broken_json_and_says_where(tmp_path: Path) -> None:
    path = tmp_path / "export.json"
    path.write_text('[{"kind": "review", "text": "ok"},\n {"kind": "review", "text": "cut', encoding="utf-8")
    rows = list(read_records(path))
    assert rows[0].record is not None
    assert rows[1].record is None and rows[1].line == 2 and "invalid JSON" in (rows[1].error or "")


def test_read_records_json_reads_the_array_a_wrapper_object_holds(tmp_path: Path) -> None:
    # An API page: the records under one key beside paging fields; lines count from the file's start.
    path = tmp_path / "page.json"
    path.write_text(
        '{"page": 1, "tags": ["a", "b"],\n "records": [\n  {"id": "a", "kind": "review", "text": "Great fit"},\n'
        '  {"id": "b", "kind": "review", "text": ""}\n ],\n "next": null}\n',
        encoding="utf-8",
    )
    rows = list(read_records(path))
    assert [(r.line, r.record.id if r.record else None) for r in rows] == [(3, "a"), (4, None)]
    assert _errors(rows) == {4: "text: missing or empty; expected the feedback text"}
    assert rows[1].where == "record 2 (line 4)"


def test_read_records_json_on_one_line_tells_its_records_apart(tmp_path: Path) -> None:
    # A compact export: every record on line 1. Ids default to each record's place in the array.
    path = tmp_path / "compact.json"
    path.write_text('[{"kind": "review", "text": "ok"}, {"kind": "review"}, {"kind": "review", "text": "meh"}]')
    rows = list(read_records(path))
    assert [r.record.id if r.record else None for r in rows] == ["1", None, "3"]
    assert [r.where for r in rows] == ["record 1 (line 1)", "record 2 (line 1)", "record 3 (line 1)"]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('{"count": 0, "records": []}', "holds an object with keys count, records and no array of records"),
        ('{"train": [{"text": "a"}], "test": [{"text": "b"}]}', r"several arrays of records \(train, test\)"),
        ('"just text"', "holds a string; expected an array of records"),
        ("{not json", "is not JSON"),
    ],
)
def test_read_records_json_that_is_no_array_is_refused_up_front(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "export.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match=expected):
        read_records(path)


# ---------------------------------------------------------------------------- errors


@pytest.mark.parametrize("name", ["in.xls", "in.csv.gz", "noext"])
def test_read_records_unsupported_extension(tmp_path: Path, name: str) -> None:
    with pytest.raises(
        InputError, match=r"unsupported extension.*\.csv, \.tsv, \.json, \.jsonl, \.ndjson, \.parquet, \.xlsx"
    ):
        read_records(tmp_path / name)


def test_read_records_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        read_records(tmp_path / "absent.jsonl")


# ---------------------------------------------------------------------------- output


def test_write_jsonl_models_and_dicts() -> None:
    record = FeedbackRecord(id="1", kind=FeedbackKind.SURVEY, text="Très bien")
    out = io.StringIO()

    count = write_jsonl([record, {"id": "2", "at": datetime(2024, 1, 1)}], out)

    lines = out.getvalue().splitlines()
    assert count == 2
    assert '"text":"Très bien"' in lines[0]  # compact, non-ASCII kept
    assert FeedbackRecord.model_validate_json(lines[0]) == record
    assert json.loads(lines[1]) == {"id": "2", "at": "2024-01-01T00:00:00"}


def test_write_jsonl_rejects_nan() -> None:
    with pytest.raises(ValueError, match="row 1"):
        write_jsonl([{"x": float("nan")}], io.StringIO())


def test_write_then_read_round_trips(tmp_path: Path) -> None:
    records = [
        FeedbackRecord(id="a", kind=FeedbackKind.REVIEW, text="ok", rating=4.0, metadata={"k": [1]}),
        FeedbackRecord(id="b", kind=FeedbackKind.SOCIAL, text="meh", created_at=datetime(2024, 3, 1)),
    ]
    path = tmp_path / "out.jsonl"

    with open_output(path) as out:
        write_jsonl(records, out)

    assert [row.record for row in read_records(path)] == records


def test_open_output_writes_file(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "out.jsonl"

    with open_output(str(path)) as out:
        write_jsonl([{"a": 1}], out)

    assert path.read_text(encoding="utf-8") == '{"a":1}\n'
    assert list(path.parent.iterdir()) == [path]


def test_open_output_exception_leaves_no_file(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"

    with pytest.raises(RuntimeError), open_output(path) as out:
        out.write('{"half": ')
        raise RuntimeError("crash")

    assert list(tmp_path.iterdir()) == []


def test_open_output_exception_keeps_old_file(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    path.write_text("old\n", encoding="utf-8")

    with pytest.raises(RuntimeError), open_output(path) as out:
        out.write("new\n")
        raise RuntimeError("crash")

    assert path.read_text(encoding="utf-8") == "old\n"
    assert list(tmp_path.iterdir()) == [path]


@pytest.mark.parametrize("target", [None, "-"])
def test_open_output_stdout(capsys: pytest.CaptureFixture[str], target: Any) -> None:
    with open_output(target) as out:
        write_jsonl([{"a": "é"}], out)

    assert capsys.readouterr().out == '{"a":"é"}\n'


# ------------------------------------------- exports as survey and contact-centre tools write them


def test_a_named_id_column_that_is_not_there_is_refused_not_replaced_by_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "ids.csv"
    path.write_text("ResponseID,text,kind\nR_abc,Hello,review\n", encoding="utf-8")
    with pytest.raises(InputError, match="no id column 'ResponseId'.*'ResponseID'"):
        list(read_records(path, id_column="ResponseId"))
    assert [r.record.id for r in read_records(path, id_column="ResponseID") if r.record] == ["R_abc"]
    jsonl = _write_jsonl(tmp_path / "ids.jsonl", ['{"ResponseID": "R_abc", "kind": "review", "text": "Hi"}'])
    assert "no 'ResponseId' field" in _errors(list(read_records(jsonl, id_column="ResponseId")))[1]


@pytest.mark.parametrize(
    ("nps", "expected"),
    [("9 - Very likely", 9), ("0 - Not at all likely", 0), ("(10) Extremely likely", 10), ("9,0", 9), ("N/A", None)],
)
def test_nps_cells_as_survey_tools_label_them_are_read(tmp_path: Path, nps: str, expected: int | None) -> None:
    path = tmp_path / "nps.csv"
    path.write_text(f'text,kind,nps\nGreat,survey,"{nps}"\n', encoding="utf-8")
    [row] = list(read_records(path))
    assert row.error is None and row.record is not None and row.record.nps == expected


@pytest.mark.parametrize(("rating", "expected"), [("4 stars", 4), ("4/5", 4), ("4,5", 4.5), ("-", None)])
def test_rating_cells_with_their_scale_are_read(tmp_path: Path, rating: str, expected: float | None) -> None:
    path = tmp_path / "rating.csv"
    path.write_text(f'text,kind,rating\nGreat,review,"{rating}"\n', encoding="utf-8")
    [row] = list(read_records(path))
    assert row.error is None and row.record is not None and row.record.rating == expected


def test_an_unreadable_score_cell_is_still_a_row_error_naming_the_value(tmp_path: Path) -> None:
    path = tmp_path / "nps.csv"
    path.write_text("text,kind,nps\nGreat,survey,very likely\n", encoding="utf-8")
    assert "very likely" in _errors(list(read_records(path)))[2]


def test_rows_of_empty_cells_are_blank_rows_not_bad_rows(tmp_path: Path) -> None:
    path = tmp_path / "blank.csv"
    path.write_text("id,text,kind\n1,Hello,review\n,,\n  ,  ,\n2,Bye,review\n", encoding="utf-8")
    rows = list(read_records(path))
    assert [r.record.id for r in rows if r.record] == ["1", "2"] and not _errors(rows)


def test_a_long_csv_field_is_read(tmp_path: Path) -> None:
    long_text = "word " * 40_000  # 200,000 characters: over the csv module's default field limit
    path = tmp_path / "long.csv"
    path.write_text(f'id,text,kind\n1,short,review\n2,"{long_text}",review\n', encoding="utf-8")
    rows = list(read_records(path))
    assert not _errors(rows) and len(rows) == 2


def test_a_windows_1252_byte_far_down_the_file_is_read_as_windows_1252(tmp_path: Path) -> None:
    lines = ["id,text,kind"] + [f"{i},plain ascii row number {i} with some padding text,review" for i in range(1300)]
    lines.append("1300,It wasn’t delivered – again,review")  # 0x92 and 0x96 in Windows-1252
    path = tmp_path / "cp1252.csv"
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1252"))
    assert path.stat().st_size > 65536
    rows = list(read_records(path))
    assert not _errors(rows)
    assert rows[-1].record is not None and rows[-1].record.text == "It wasn’t delivered – again"


def test_json_lines_saved_as_json_are_read(tmp_path: Path) -> None:
    path = _write_jsonl(
        tmp_path / "export.json",
        ['{"id": "1", "kind": "review", "text": "late"}', '{"id": "2", "kind": "review", "text": "fine"}'],
    )
    assert [r.record.id for r in read_records(path) if r.record] == ["1", "2"]


def test_output_to_a_folder_or_an_impossible_path_is_refused_before_any_work(tmp_path: Path) -> None:
    (tmp_path / "adir.jsonl").mkdir()
    with pytest.raises(InputError, match="is a folder"), open_output(tmp_path / "adir.jsonl"):
        pytest.fail("the block must not run")
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    with pytest.raises(InputError, match="cannot write"), open_output(blocker / "out.jsonl"):
        pytest.fail("the block must not run")


def test_csv_given_as_json_lines_says_it_looks_like_csv(tmp_path: Path) -> None:
    path = _write_jsonl(tmp_path / "in.jsonl", ["id,text,kind", "1,late,review"])
    assert "this looks like CSV" in _errors(list(read_records(path)))[1]
    array = _write_jsonl(tmp_path / "array.jsonl", ['[{"kind": "review", "text": "late"}]'])
    assert "name the file .json" in _errors(list(read_records(array)))[1]
