"""Reading messy register files: encodings, CSV/XLSX/JSON, list cells, dates (pure functions)."""

from __future__ import annotations

import io
import json
from datetime import date, datetime

import pytest

from cases.importing.readers import (
    ReadError,
    clean_text,
    detect_encoding,
    fold_label,
    guess_file_format,
    parse_date,
    parse_list,
    read_csv,
    read_json,
    read_table,
    read_xlsx,
)

TEXT = "name,institution\nSistema de Gestión,Ministério da Saúde – Brasil\n"


class TestEncodings:
    def test_utf8_is_detected(self):
        assert detect_encoding(TEXT.encode("utf-8")) == "utf-8"

    def test_utf8_with_bom_is_detected_and_the_bom_does_not_reach_the_header(self):
        table = read_csv(b"\xef\xbb\xbf" + TEXT.encode("utf-8"))
        assert table.encoding == "utf-8-sig"
        assert table.columns == ["name", "institution"]
        assert table.rows[0].values["name"] == "Sistema de Gestión"

    def test_cp1252_is_detected_when_the_bytes_are_not_utf8(self):
        table = read_csv(TEXT.encode("cp1252"))
        assert table.encoding == "cp1252"
        assert table.rows[0].values["institution"] == "Ministério da Saúde – Brasil"

    def test_utf16_with_bom_is_read(self):
        table = read_csv(TEXT.encode("utf-16"))
        assert table.rows[0].values["name"] == "Sistema de Gestión"

    def test_bytes_that_are_neither_utf8_nor_cp1252_are_a_clear_error(self):
        data = b"name,institution\nOK,Caf\x81 \x9d\n"
        with pytest.raises(ReadError) as caught:
            read_csv(data)
        assert caught.value.code == "bad-encoding"
        assert caught.value.line == 2
        assert "0x81" in str(caught.value) and "UTF-8" in str(caught.value)

    def test_nul_bytes_mean_a_binary_file(self):
        with pytest.raises(ReadError) as caught:
            detect_encoding(b"name\x00\x01\x02")
        assert caught.value.code == "bad-encoding"


class TestCsv:
    def test_a_truncated_row_is_reported_with_its_line(self):
        table = read_csv(b"a,b,c\n1,2,3\n4,5\n")
        assert table.rows[0].problems == []
        problem = table.rows[1].problems[0]
        assert problem.code == "truncated-row" and problem.line == 3
        assert table.rows[1].values["c"] == ""

    def test_a_quote_left_open_at_the_end_is_a_clear_error(self):
        with pytest.raises(ReadError) as caught:
            read_csv(b'a,b\n1,"never closed\n')
        assert caught.value.code == "malformed-csv"
        assert caught.value.line == 2

    def test_extra_fields_are_reported(self):
        table = read_csv(b"a,b\n1,2,3\n")
        assert table.rows[0].problems[0].code == "extra-fields"

    def test_quoted_newlines_keep_the_line_of_the_row_start(self):
        table = read_csv(b'a,b\n"x\ny",1\nz,2\n')
        assert [row.number for row in table.rows] == [2, 4]

    def test_semicolons_and_blank_lines(self):
        table = read_csv(b"a;b\n\n1;2\n")
        assert table.columns == ["a", "b"]
        assert table.rows[0].values == {"a": "1", "b": "2"}

    def test_a_duplicate_column_is_refused(self):
        with pytest.raises(ReadError) as caught:
            read_csv(b"a,a\n1,2\n")
        assert caught.value.code == "duplicate-column"

    def test_an_empty_file_is_refused(self):
        with pytest.raises(ReadError) as caught:
            read_csv(b"  \n")
        assert caught.value.code == "empty-file"


class TestJson:
    def test_a_list_of_objects(self):
        table = read_json(json.dumps([{"a": 1, "b": ["x", "y"]}, {"a": 2, "c": None}]).encode())
        assert table.columns == ["a", "b", "c"]
        assert table.rows[0].values["b"] == ["x", "y"]
        assert table.rows[1].values == {"a": 2, "c": "", "b": ""}

    def test_records_are_found_under_an_object(self):
        data = {"meta": {"n": 1}, "records": [{"a": "x"}]}
        assert read_json(json.dumps(data).encode()).rows[0].values == {"a": "x"}
        assert read_table(json.dumps(data).encode(), file_format="json", records="records")

    def test_a_record_that_is_not_an_object_is_reported(self):
        table = read_json(b'[{"a": 1}, 5]')
        assert table.rows[1].problems[0].code == "not-an-object"

    def test_malformed_json(self):
        with pytest.raises(ReadError) as caught:
            read_json(b'[{"a": 1},')
        assert caught.value.code == "malformed-json"


class TestXlsx:
    def test_a_workbook_is_read_with_typed_cells(self):
        from openpyxl import Workbook

        workbook = Workbook()
        sheet = workbook.active
        sheet.append(["name", "started", "count"])
        sheet.append(["Sistema", datetime(2021, 3, 4), 3])
        sheet.append([None, None, None])
        sheet.append(["Otro", "2022", None])
        buffer = io.BytesIO()
        workbook.save(buffer)
        table = read_xlsx(buffer.getvalue())
        assert table.columns == ["name", "started", "count"]
        assert [row.number for row in table.rows] == [2, 4]
        assert table.rows[0].values["started"] == datetime(2021, 3, 4)
        assert table.rows[1].values["count"] == ""

    def test_a_file_that_is_not_a_workbook(self):
        with pytest.raises(ReadError) as caught:
            read_xlsx(b"PK\x03\x04 not really")
        assert caught.value.code == "not-xlsx"


def test_file_format_from_the_name_or_the_bytes():
    assert guess_file_format("x.CSV", b"") == "csv"
    assert guess_file_format("x.xlsx", b"") == "xlsx"
    assert guess_file_format("upload", b"PK\x03\x04...") == "xlsx"
    assert guess_file_format("upload", b'\xef\xbb\xbf [{"a": 1}]') == "json"
    assert guess_file_format("upload", b"a,b\n") == "csv"


class TestLists:
    def test_json_lists(self):
        assert parse_list('["nlp", " computer vision "]') == ["nlp", "computer vision"]

    def test_python_literal_lists_as_the_omb_writes_them(self):
        assert parse_list("['a) Race/Ethnicity', 'b) Sex']") == ["a) Race/Ethnicity", "b) Sex"]
        assert parse_list("[]") == []
        assert parse_list("['General solicitations of \\ncomments']") == [
            "General solicitations of comments"
        ]

    def test_separated_text_and_real_lists(self):
        assert parse_list("nlp; classification | chatbot") == ["nlp", "classification", "chatbot"]
        assert parse_list(["a", "", "b"]) == ["a", "b"]
        assert parse_list("") == []

    def test_a_broken_list_is_an_error_not_a_guess(self):
        with pytest.raises(ReadError) as caught:
            parse_list("['unterminated")
        assert caught.value.code == "bad-list"


class TestDates:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("2024-10-01", date(2024, 10, 1)),
            ("2024-10-01 00:00:00", date(2024, 10, 1)),
            ("2025-06-26T07:39:09Z", date(2025, 6, 26)),
            ("10/01/2024 00:00:00", date(2024, 10, 1)),
            ("1/15/2024", date(2024, 1, 15)),
            ("12/31/2024 12:00:00 AM", date(2024, 12, 31)),
            ("1/1/2024 0:00", date(2024, 1, 1)),
            ("01/2024", date(2024, 1, 1)),
            ("Jan-24", date(2024, 1, 1)),
            ("2024", date(2024, 1, 1)),
            ("March 5, 2024", date(2024, 3, 5)),
            ("5 de marzo de 2024", date(2024, 3, 5)),
            ("enero de 2023", date(2023, 1, 1)),
            ("2024/02/29", date(2024, 2, 29)),
        ],
    )
    def test_the_formats_of_real_registers(self, text, expected):
        assert parse_date(text, order="mdy") == expected

    def test_day_first_by_default_and_the_only_possible_reading_otherwise(self):
        assert parse_date("03/04/2024") == date(2024, 4, 3)
        assert parse_date("03/04/2024", order="mdy") == date(2024, 3, 4)
        assert parse_date("25/12/2023", order="mdy") == date(2023, 12, 25)

    def test_date_cells_and_excel_serials(self):
        assert parse_date(datetime(2020, 5, 6, 7, 8)) == date(2020, 5, 6)
        assert parse_date(2019) == date(2019, 1, 1)
        assert parse_date(45292) == date(2024, 1, 1)
        assert parse_date("") is None

    @pytest.mark.parametrize("text", ["soon", "31/31/2024", "2024-13-01", "Smarch 2024"])
    def test_anything_else_is_an_error(self, text):
        with pytest.raises(ReadError) as caught:
            parse_date(text)
        assert caught.value.code == "bad-date"


def test_fold_label_ignores_case_dashes_spaces_and_accents():
    assert fold_label("Other – Economic & Financial") == fold_label(
        "other  -  economic & financial"
    )
    assert fold_label(" En Producción. ") == "en produccion"


def test_clean_text_normalises_whitespace():
    assert clean_text("  a\u00a0 b \r\n\r\n\r\n c ") == "a b\n\nc"
    assert clean_text("a\n b", single_line=True) == "a b"
