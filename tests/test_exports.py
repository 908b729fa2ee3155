"""Feedback as survey, review and social tools export it (issue 15): Qualtrics CSV with its three
header rows, a Twitter export, an Excel workbook, column mapping and the date options."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from feedback_nlp.errors import InputError
from feedback_nlp.fileio import is_answer_type_row, is_import_id_row, read_records

QUALTRICS = """\
StartDate,EndDate,RecordedDate,ResponseId,Q1_NPS_GROUP,Q1,Q2
Start Date,End Date,Recorded Date,Response ID,How likely are you to recommend us? - Group,How likely are you to recommend us?,What is the main reason for your score?
"{""ImportId"":""startDate"",""timeZone"":""America/Denver""}","{""ImportId"":""endDate"",""timeZone"":""America/Denver""}","{""ImportId"":""recordedDate"",""timeZone"":""America/Denver""}","{""ImportId"":""_recordId""}","{""ImportId"":""QID1_NPS_GROUP""}","{""ImportId"":""QID1""}","{""ImportId"":""QID2_TEXT""}"
2026-11-02 10:15:00,2026-11-02 10:17:30,2026-11-02 10:17:31,R_1aB2cD3eF4gH5iJ,Promoter,9,"Quick delivery, friendly driver"
2026-11-03 08:01:00,2026-11-03 08:04:10,2026-11-03 08:04:11,R_6kL7mN8oP9qR0sT,Detractor,2,"Charged twice, nobody answers the phone"
"""

TWITTER = """\
tweet_id,airline_sentiment,airline,name,retweet_count,text,tweet_created,tweet_location,user_timezone
570306133677760513,neutral,Virgin America,cairdin,0,@VirginAmerica What @dhepburn said.,2015-02-24 11:35:52 -0800,,Eastern Time (US & Canada)
570301130888122368,positive,Virgin America,jnardino,0,@VirginAmerica plus you've added commercials to the experience... tacky.,2015-02-24 11:15:59 -0800,San Francisco CA,Pacific Time (US & Canada)
"""


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_qualtrics_csv_with_three_header_rows_reads_with_skip_rows(tmp_path: Path) -> None:
    path = _write(tmp_path / "qualtrics.csv", QUALTRICS)
    rows = list(
        read_records(
            path,
            kind="survey",
            text_column="Q2",
            id_column="ResponseId",
            skip_rows=2,
            columns={"created_at": "RecordedDate", "nps": "Q1"},
        )
    )
    assert [r.error for r in rows] == [None, None]
    assert [r.line for r in rows] == [4, 5]  # file lines: the header and the two skipped rows come first
    first = rows[0].record
    assert first is not None
    assert (first.id, first.nps, first.text) == ("R_1aB2cD3eF4gH5iJ", 9, "Quick delivery, friendly driver")
    assert first.created_at == datetime(2026, 11, 2, 10, 17, 31, tzinfo=UTC)
    assert first.metadata["StartDate"] == "2026-11-02 10:15:00"  # unmapped columns are metadata
    assert first.metadata["Q1_NPS_GROUP"] == "Promoter"


def test_qualtrics_csv_without_skip_rows_is_recognised_by_its_import_id_row(tmp_path: Path) -> None:
    """The question-text and ImportId rows are left out without --skip-rows: a user need not know them."""
    path = _write(tmp_path / "qualtrics.csv", QUALTRICS)
    rows = list(
        read_records(
            path,
            kind="survey",
            text_column="Q2",
            id_column="ResponseId",
            columns={"created_at": "RecordedDate", "nps": "Q1"},
        )
    )
    assert [r.error for r in rows] == [None, None]
    assert [r.line for r in rows] == [4, 5]
    assert rows[1].record is not None and rows[1].record.text == "Charged twice, nobody answers the phone"


def test_a_qualtrics_export_without_its_question_row_loses_only_the_import_id_row(tmp_path: Path) -> None:
    lines = QUALTRICS.splitlines(keepends=True)
    path = _write(tmp_path / "qualtrics.csv", lines[0] + "".join(lines[2:]))
    rows = list(read_records(path, kind="survey", text_column="Q2"))
    assert [(r.line, r.error) for r in rows] == [(3, None), (4, None)]


def test_qualtrics_excel_export_is_recognised_too(tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["ResponseId", "Q2"])
    sheet.append(["Response ID", "What is the main reason for your score?"])
    sheet.append(['{"ImportId":"_recordId"}', '{"ImportId":"QID2_TEXT"}'])
    sheet.append(["R_1", "Friendly staff"])
    path = tmp_path / "qualtrics.xlsx"
    workbook.save(path)
    [row] = list(read_records(path, kind="survey", text_column="Q2", id_column="ResponseId"))
    assert (row.line, row.error) == (4, None)
    assert row.record is not None and (row.record.id, row.record.text) == ("R_1", "Friendly staff")


def test_a_row_that_merely_mentions_import_id_or_a_response_is_feedback() -> None:
    assert is_import_id_row(['{"ImportId":"QID1"}', "", None])
    assert not is_import_id_row(['{"ImportId":"QID1"}', "The app is great"])
    assert not is_import_id_row(["", None])
    assert is_answer_type_row(["", "Response", "Open-Ended Response"])
    assert not is_answer_type_row(["7", "Response", "My open-ended response: too slow"])


@pytest.mark.parametrize(
    ("name", "content", "encoding"),
    [
        ("semicolons.csv", "id;text;score\n1;Late again, really late;2,5\n2;Great service;4,5\n", "utf-8"),
        ("tabs.tsv", "id\ttext\tscore\n1\tLate again, really late\t2,5\n2\tGreat service\t4,5\n", "utf-8"),
        # Excel's "Unicode Text" export: UTF-16 with a byte-order mark, tab-separated.
        ("unicode.csv", "id\ttext\tscore\n1\tLate again, really late\t2,5\n2\tGreat service\t4,5\n", "utf-16"),
    ],
)
def test_delimiters_and_encodings_of_spreadsheet_exports_are_read(
    tmp_path: Path, name: str, content: str, encoding: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content.encode(encoding))
    rows = list(read_records(path, kind="review"))
    assert [r.error for r in rows] == [None, None]
    records = [r.record for r in rows]
    assert [(r.id, r.text, r.metadata) for r in records if r is not None] == [
        ("1", "Late again, really late", {"score": "2,5"}),
        ("2", "Great service", {"score": "4,5"}),
    ]


def test_a_windows_1252_export_is_read_with_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Excel on Windows writes "CSV (Comma delimited)" in Windows-1252, not UTF-8."""
    path = tmp_path / "excel.csv"
    path.write_bytes("id,text\n1,Caf\xe9 staff were lovely \u2013 5 stars\n".encode("cp1252"))
    with caplog.at_level("WARNING", logger="feedback_nlp.fileio"):
        [row] = list(read_records(path, kind="review"))
    assert row.record is not None and row.record.text == "Caf\xe9 staff were lovely \u2013 5 stars"
    assert caplog.text.count("not UTF-8 (byte 0xe9 at offset 13): reading it as Windows-1252") == 1  # sniffed once


def test_unbalanced_quotes_name_the_line_and_the_delimiter(tmp_path: Path) -> None:
    # A quote left open swallows the rest of the file into one field, past the csv module's limit.
    path = _write(tmp_path / "broken.csv", 'id;text\n1;fine\n2;"no end\n' + "3;more\n" * 20000)
    with pytest.raises(InputError, match=r"near line 3 as CSV \(fields separated by semicolons\)"):
        list(read_records(path, kind="review"))


def test_a_row_with_extra_fields_names_the_files_delimiter(tmp_path: Path) -> None:
    path = _write(tmp_path / "semicolons.csv", "id;text\n1;fine\n2;late;again\n")
    rows = list(read_records(path, kind="review"))
    assert [r.error for r in rows] == [
        None,
        "expected 2 fields as in the header, got 3; quote fields that contain semicolons",
    ]


SURVEYMONKEY = """\
Respondent ID,Start Date,How did you hear about us?,,,What could we do better?
,,Friend,Advert,Other (please specify),Open-Ended Response
114,11/02/2026 10:15:00 AM,Friend,,,The checkout kept failing
115,11/03/2026 08:01:00 AM,,Advert,,Nothing
"""


def test_surveymonkey_csv_reads_as_it_comes(tmp_path: Path) -> None:
    """Its answer-type row is recognised; a question's second and later options have no header:
    named by their place, kept when filled."""
    path = _write(tmp_path / "surveymonkey.csv", SURVEYMONKEY)
    rows = list(read_records(path, kind="survey", text_column="What could we do better?", id_column="Respondent ID"))
    assert [(r.line, r.error) for r in rows] == [(3, None), (4, None)]
    first, second = (r.record for r in rows)
    assert first is not None and second is not None
    assert first.metadata == {"Start Date": "11/02/2026 10:15:00 AM", "How did you hear about us?": "Friend"}
    assert second.metadata["column_4"] == "Advert" and "column_5" not in second.metadata


def test_excel_columns_without_a_name_are_kept_by_place_when_filled(tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["Comment", None, "Store", None])
    sheet.append(["Lovely staff", "extra", "Leeds", None])
    path = tmp_path / "unnamed.xlsx"
    workbook.save(path)
    [row] = list(read_records(path, kind="review", text_column="Comment"))
    assert row.record is not None and row.record.metadata == {"column_2": "extra", "Store": "Leeds"}


def test_an_unnamed_excel_column_is_listed_and_can_be_chosen_by_its_place(tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["id", "Why?", None])
    sheet.append(["1", "slow", "the app crashes"])
    path = tmp_path / "unnamed.xlsx"
    workbook.save(path)
    with pytest.raises(InputError, match=r"columns found: 'id', 'Why\?', 'column_3'"):
        read_records(path, kind="survey", text_column="Comment")
    [row] = list(read_records(path, kind="survey", text_column="column_3"))
    assert row.record is not None and row.record.text == "the app crashes"


def test_twitter_export_reads_its_created_at_format(tmp_path: Path) -> None:
    path = _write(tmp_path / "Tweets.csv", TWITTER)
    rows = list(read_records(path, kind="social", id_column="tweet_id", columns={"created_at": "tweet_created"}))
    assert [r.error for r in rows] == [None, None]
    record = rows[0].record
    assert record is not None and record.id == "570306133677760513"
    assert record.created_at == datetime(2015, 2, 24, 19, 35, 52, tzinfo=UTC)
    assert record.metadata["airline"] == "Virgin America"


def test_twitter_api_jsonl_reads_created_at(tmp_path: Path) -> None:
    line = {"id": "t1", "kind": "social", "text": "late again", "created_at": "Wed Oct 04 13:59:33 +0000 2017"}
    path = _write(tmp_path / "api.jsonl", json.dumps(line) + "\n")
    [row] = list(read_records(path))
    assert row.record is not None and row.record.created_at == datetime(2017, 10, 4, 13, 59, 33, tzinfo=UTC)


def test_excel_workbook_reads_like_csv(tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["Response", "Submitted", "Stars", "Where", "Store"])
    sheet.append(["Question text", "When", "Rating", "Channel", "Store name"])  # an extra header row
    sheet.append(["Lovely staff", datetime(2026, 11, 2, 10, 15), 5, "app", "Leeds"])
    sheet.append([None, None, None, None, None])  # blank rows are skipped
    sheet.append(["The website kept crashing", "2026-11-03T08:00:00+01:00", 2, "web", 7])
    sheet.append([42, "1793614500", 3, "web", "York"])  # a number as text
    path = tmp_path / "export.xlsx"
    workbook.save(path)

    rows = list(
        read_records(
            path,
            kind="review",
            text_column="Response",
            skip_rows=1,
            columns={"created_at": "Submitted", "rating": "Stars", "source": "Where"},
        )
    )
    assert [r.error for r in rows] == [None, None, None]
    assert [r.line for r in rows] == [3, 5, 6]  # spreadsheet row numbers
    first, second, third = (r.record for r in rows)
    assert first is not None and second is not None and third is not None
    assert (first.id, first.rating, first.source) == ("3", 5.0, "app")
    assert first.created_at == datetime(2026, 11, 2, 10, 15, tzinfo=UTC)  # a naive cell: UTC
    assert second.created_at == datetime(2026, 11, 3, 7, tzinfo=UTC)
    assert second.metadata == {"Store": "7"}
    assert third.text == "42"


def test_excel_file_that_is_not_a_workbook_is_an_input_error(tmp_path: Path) -> None:
    path = _write(tmp_path / "broken.xlsx", "text\nhello\n")
    with pytest.raises(InputError, match="cannot read .* as an Excel workbook"):
        read_records(path, kind="review")


def test_a_mapped_column_that_is_absent_lists_the_columns_found(tmp_path: Path) -> None:
    path = _write(tmp_path / "Tweets.csv", TWITTER)
    with pytest.raises(InputError) as caught:
        read_records(path, kind="social", columns={"created_at": "created"})
    message = str(caught.value)
    assert "no column 'created' (given with --created-at-column)" in message and "'tweet_created'" in message


def test_kind_and_source_columns_map_and_the_fields_own_name_becomes_metadata(tmp_path: Path) -> None:
    path = _write(tmp_path / "in.csv", "text,type,origin,source\nfine,review,trustpilot,crm\n")
    [row] = list(read_records(path, columns={"kind": "type", "source": "origin"}))
    assert row.record is not None
    assert (row.record.kind.value, row.record.source) == ("review", "trustpilot")
    assert row.record.metadata == {"source": "crm"}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"columns": {"text_body": "x"}}, "cannot map column(s) to ['text_body']"),
        ({"columns": {"created_at": "text"}}, "named for more than one field"),
        ({"skip_rows": -1}, "--skip-rows must be 0 or more"),
        ({"date_format": "dd/mm/yyyy"}, "strptime format"),
        ({"on_bad_date": "drop"}, "--on-bad-date must be 'error' or 'null'"),
    ],
)
def test_bad_reading_options_are_input_errors(tmp_path: Path, kwargs: dict, message: str) -> None:
    path = _write(tmp_path / "in.csv", "text,kind\nfine,review\n")
    with pytest.raises(InputError) as caught:
        read_records(path, **kwargs)
    assert message in str(caught.value)


def test_skip_rows_is_refused_for_jsonl(tmp_path: Path) -> None:
    path = _write(tmp_path / "in.jsonl", '{"kind": "review", "text": "x"}\n')
    with pytest.raises(InputError, match="--skip-rows applies to CSV and Excel"):
        read_records(path, skip_rows=1)


SLASHED = "text,created_at\nfine,02/11/2026\nbad,2026-99-99\nnone,\n"


def test_an_unreadable_date_is_a_bad_row_naming_field_value_and_fix(tmp_path: Path) -> None:
    path = _write(tmp_path / "in.csv", SLASHED)
    rows = list(read_records(path, kind="survey"))
    assert rows[0].line == 2 and "created_at: '02/11/2026' is a slashed date (ambiguous" in (rows[0].error or "")
    assert rows[1].line == 3 and "created_at: cannot read '2026-99-99' as a date" in (rows[1].error or "")
    assert "--on-bad-date null" in (rows[1].error or "")
    assert rows[2].ok and rows[2].record is not None and rows[2].record.created_at is None


def test_date_format_reads_slashed_dates(tmp_path: Path) -> None:
    path = _write(tmp_path / "in.csv", SLASHED)
    rows = list(read_records(path, kind="survey", date_format="%d/%m/%Y"))
    assert rows[0].record is not None and rows[0].record.created_at == datetime(2026, 11, 2, tzinfo=UTC)


def test_on_bad_date_null_keeps_the_row_without_a_date_and_says_why(tmp_path: Path) -> None:
    path = _write(tmp_path / "in.csv", SLASHED)
    rows = list(read_records(path, kind="survey", on_bad_date="null"))
    assert all(r.ok for r in rows)
    assert [r.record.created_at for r in rows if r.record] == [None, None, None]
    assert rows[0].bad_date is not None and "ambiguous" in rows[0].bad_date
    assert rows[2].bad_date is None  # empty: missing, not unreadable


def test_the_date_format_setting_applies_when_no_option_is_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from feedback_nlp.settings import get_settings

    monkeypatch.setenv("FEEDBACK_NLP_DATE_FORMAT", "%m/%d/%Y")
    monkeypatch.setenv("FEEDBACK_NLP_ON_BAD_DATE", "null")
    get_settings.cache_clear()
    try:
        rows = list(read_records(_write(tmp_path / "in.csv", SLASHED), kind="survey"))
    finally:
        get_settings.cache_clear()
    assert rows[0].record is not None and rows[0].record.created_at == datetime(2026, 2, 11, tzinfo=UTC)
    assert rows[1].ok and rows[1].bad_date is not None


def test_abcd_chats_read_with_their_turns_key(data_dir: Path) -> None:
    """ABCD's export as shipped: a .json array, turns under "original" as [speaker, text] pairs."""
    path = data_dir / "abcd_sample" / "abcd_sample.json"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    rows = list(read_records(path, kind="transcript", id_column="convo_id", columns={"turns": "original"}))
    assert [r.error for r in rows] == [None] * len(rows) and rows
    raw = json.loads(path.read_text(encoding="utf-8"))
    for row, conversation in zip(rows, raw, strict=True):
        record = row.record
        assert record is not None and record.turns is not None
        assert record.id == str(conversation["convo_id"])
        assert [t.text for t in record.turns] == [text for _, text in conversation["original"]]
        assert any(t.speaker == "customer" for t in record.turns) and any(t.speaker == "agent" for t in record.turns)
        assert set(record.metadata) == {"scenario", "delexed"}


def test_a_name_given_to_two_columns_keeps_both_and_refuses_only_an_ambiguous_choice(tmp_path: Path) -> None:
    path = _write(tmp_path / "twice.csv", "text,score,score\nfine,1,2\n")
    [row] = list(read_records(path, kind="review"))
    assert row.record is not None and row.record.metadata == {"score": "1", "score (2)": "2"}
    comments = _write(tmp_path / "comments.csv", "id,Comments,Comments\n1,late,slow app\n")
    with pytest.raises(InputError, match=r"more than one column named 'Comments'"):
        read_records(comments, kind="review", text_column="Comments")
    [row] = list(read_records(comments, kind="review", text_column="Comments (2)"))
    assert row.record is not None and row.record.text == "slow app" and row.record.metadata == {"Comments": "late"}


def test_an_unnamed_csv_column_is_listed_and_can_be_chosen_by_its_place(tmp_path: Path) -> None:
    path = _write(tmp_path / "surveymonkey.csv", SURVEYMONKEY)
    with pytest.raises(InputError, match=r"columns found: .*'column_4', 'column_5'"):
        read_records(path, kind="survey", text_column="Comment")
    rows = list(read_records(path, kind="survey", text_column="column_4", skip_rows=1))
    assert [(r.line, r.record.text if r.record else r.error) for r in rows] == [
        (3, "column_4: missing or empty; expected the feedback text"),
        (4, "Advert"),
    ]


def test_an_excel_export_on_its_second_sheet_is_read_with_sheet(tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    workbook = openpyxl.Workbook()
    workbook.active.title = "Instructions"
    workbook.active.append(["This workbook contains the export. See sheet Responses."])
    responses = workbook.create_sheet("Responses")
    responses.append(["id", "text"])
    responses.append(["r1", "The courier lost my parcel"])
    path = tmp_path / "two_sheets.xlsx"
    workbook.save(path)
    with pytest.raises(
        InputError, match=r"the workbook's sheets: 'Instructions', 'Responses': choose one with --sheet"
    ):
        read_records(path, kind="review")
    [row] = list(read_records(path, kind="review", sheet="Responses"))
    assert row.record is not None and row.record.id == "r1"
    with pytest.raises(InputError, match=r"has no sheet 'Answers'; its sheets: 'Instructions', 'Responses'"):
        list(read_records(path, kind="review", sheet="Answers"))
    with pytest.raises(InputError, match="--sheet applies to Excel"):
        read_records(_write(tmp_path / "a.jsonl", '{"kind": "review", "text": "x"}\n'), sheet="Responses")


@pytest.mark.parametrize(
    "content",
    [
        "Customer feedback export\n\nid,text,kind\n1,Hello,review\n2,Bye,review\n",
        "Customer feedback export\nGenerated 2026-12-07\nid;text;kind\n1;Hello;review\n2;Bye;review\n",
    ],
)
def test_title_rows_above_a_csv_header_are_left_out(tmp_path: Path, content: str) -> None:
    path = _write(tmp_path / "title.csv", content)
    rows = list(read_records(path))
    assert [(r.line, r.record.id if r.record else r.error) for r in rows] == [(4, "1"), (5, "2")]


def test_title_rows_above_an_excel_header_are_left_out(tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    workbook = openpyxl.Workbook()
    workbook.active.append(["Quarterly survey report"])
    workbook.active.append([])
    workbook.active.append(["id", "text", "kind"])
    workbook.active.append(["r1", "The courier lost my parcel", "review"])
    path = tmp_path / "report.xlsx"
    workbook.save(path)
    [row] = list(read_records(path))
    assert row.line == 4 and row.record is not None and row.record.id == "r1"


def test_a_file_whose_header_lacks_the_text_column_is_still_refused(tmp_path: Path) -> None:
    path = _write(tmp_path / "title.csv", "Customer feedback export\nid,comment\n1,Hello\n")
    with pytest.raises(InputError, match="no text column 'text'"):
        read_records(path, kind="review")
