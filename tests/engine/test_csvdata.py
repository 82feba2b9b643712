"""CSV upload: valid files round-trip exactly; each kind of bad file gets its own row/column error."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.csvdata import MAX_BYTES, MAX_CLASSES, MAX_ROWS, CSVError, dataset_from_csv
from engine.data import add_point, regenerate, targets_for

GOOD = b"x1,x2,label\n1.5,-2,cat\n0,3.25,dog\n-4,0.125,cat\n2,2,dog\n7,-1,bird\n"


def lines(header: str, rows: list[str]) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


def error_of(data: bytes, **kwargs: object) -> CSVError:
    with pytest.raises(CSVError) as caught:
        dataset_from_csv(data, **kwargs)  # type: ignore[arg-type]
    return caught.value


def test_valid_file_round_trips_points_and_labels_exactly() -> None:
    data = dataset_from_csv(GOOD)
    np.testing.assert_array_equal(data.points, [[1.5, -2], [0, 3.25], [-4, 0.125], [2, 2], [7, -1]])
    assert data.class_names == ("bird", "cat", "dog")
    assert [data.class_names[i] for i in data.labels] == ["cat", "dog", "cat", "dog", "bird"]
    assert data.task == "classification" and data.source == "csv" and data.config.name == "custom"
    assert data.config.n_samples == 5
    assert sorted([*data.train_index, *data.test_index]) == [0, 1, 2, 3, 4]
    assert data.train_index.size == 2


def test_extent_covers_the_data_with_a_margin() -> None:
    xmin, xmax, ymin, ymax = dataset_from_csv(GOOD).extent
    assert xmin < -4 and xmax > 7 and ymin < -2 and ymax > 3.25
    assert xmax - 7 == pytest.approx(1.1)  # 10 % of the x span of 11


def test_plus_minus_one_labels_get_tf_colours_and_feed_tanh_targets() -> None:
    data = dataset_from_csv(lines("a,b,y", ["0,0,1", "1,1,-1", "2,2,+1", "3,3,-1.0"]))
    assert data.class_names == ("-1", "1")
    np.testing.assert_array_equal(data.labels, [1, 0, 1, 0])
    targets = targets_for(data.labels, data.task, "tanh_mse", data.n_classes)
    np.testing.assert_array_equal(targets[:, 0], [1, -1, 1, -1])


def test_named_columns_are_found_in_any_position_and_extra_columns_ignored() -> None:
    data = dataset_from_csv(
        lines("id,class,X2,note,x1", ["9,a,1,hi,10", "8,b,2,,20", "7,a,3,x,30", "6,b,4,y,40"])
    )
    np.testing.assert_array_equal(data.points, [[10, 1], [20, 2], [30, 3], [40, 4]])
    assert data.class_names == ("a", "b")


def test_unnamed_columns_take_the_first_two_numeric_ones_and_the_last_as_label() -> None:
    data = dataset_from_csv(lines("name,u,v,kind", ["p,1,2,a", "q,3,4,b", "r,5,6,a", "s,7,8,b"]))
    np.testing.assert_array_equal(data.points, [[1, 2], [3, 4], [5, 6], [7, 8]])


def test_semicolon_files_bom_blank_lines_and_crlf_are_accepted() -> None:
    text = "\ufeffx1;x2;label\r\n1;2;a\r\n\r\n3;4;b\r\n5;6;a\r\n7;8;b\r\n"
    data = dataset_from_csv(text.encode())
    np.testing.assert_array_equal(data.points[:, 0], [1, 3, 5, 7])


def test_auto_task_reads_many_numeric_values_as_regression() -> None:
    rows = [f"{i},{-i},{i * 0.5}" for i in range(12)]
    data = dataset_from_csv(lines("x1,x2,value", rows))
    assert data.task == "regression" and data.n_classes == 0
    np.testing.assert_array_equal(data.labels, [i * 0.5 for i in range(12)])
    few_integers = dataset_from_csv(lines("x1,x2,label", [f"{i},0,{i % 3}" for i in range(6)]))
    assert few_integers.task == "classification" and few_integers.class_names == ("0", "1", "2")


def test_forced_regression_and_classification() -> None:
    rows = [f"{i},0,{i % 2}" for i in range(6)]
    assert dataset_from_csv(lines("x1,x2,y", rows), task="regression").task == "regression"
    error = error_of(lines("x1,x2,y", ["1,2,a", "3,4,b", "5,6,a", "7,8,b"]), task="regression")
    assert (error.row, error.column) == (2, "y") and "'a' is not a number" in error.message


def test_injection_looking_labels_are_stored_as_plain_text() -> None:
    data = dataset_from_csv(lines("x1,x2,label", ["1,2,=SUM(A1)", "3,4,@cmd", "5,6,=SUM(A1)", "7,8,@cmd"]))
    assert data.class_names == ("=SUM(A1)", "@cmd")


def test_split_follows_the_seed_and_regenerate_only_redraws_it() -> None:
    rows = [f"{i},{i},{'ab'[i % 2]}" for i in range(40)]
    first = dataset_from_csv(lines("x1,x2,c", rows), seed=1, train_fraction=0.25)
    assert first.train_index.size == 10
    again = dataset_from_csv(lines("x1,x2,c", rows), seed=1, train_fraction=0.25)
    np.testing.assert_array_equal(first.train_index, again.train_index)
    redrawn = regenerate(first, seed=2)
    np.testing.assert_array_equal(redrawn.points, first.points)
    assert not np.array_equal(redrawn.train_index, first.train_index)


def test_points_can_be_added_to_uploaded_data_by_class_name() -> None:
    edited = add_point(dataset_from_csv(GOOD), 0.0, 0.0, "dog")
    assert edited.source == "edited" and edited.class_names[edited.labels[-1]] == "dog"


# --- each bad file, its own error -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "row", "column", "says"),
    [
        (b"", None, None, "empty"),
        (b"  \n\n", None, None, "empty"),
        (b"x1,x2,label\n1,2,\xe9t\xe9\n", 2, None, "not UTF-8"),
        (lines("1,2,3", ["4,5,6", "7,8,9", "1,1,1", "2,2,2"]), 1, None, "header"),
        (lines("x1,x2", ["1,2", "3,4", "5,6", "7,8"]), 1, None, "2 column"),
        (lines("x1,x2,label", ["1,2,a", "3,4,b", "5,6", "7,8,b"]), 4, None, "2 columns; the header has 3"),
        (lines("x1,x2,label", ["1,2,a", "3,abc,b", "5,6,a", "7,8,b"]), 3, "x2", "'abc' is not a number"),
        (lines("x1,x2,label", ["1,2,a", "3,4,b", ",6,a", "7,8,b"]), 4, "x1", "missing value"),
        (lines("x1,x2,label", ["1,2,a", "3,4,", "5,6,a", "7,8,b"]), 3, "label", "missing value"),
        (lines("x1,x2,label", ["1,2,a", "3,4,b", "5,nan,a", "7,8,b"]), 4, "x2", "not a finite number"),
        (lines("x1,x2,label", ["1,2,a", "3,4,b", "5,6,a", "-inf,8,b"]), 5, "x1", "not a finite number"),
        (lines("x1,x2,label", ["1,2,a", "3,1e300,b", "5,6,a", "7,8,b"]), 3, "x2", "outside"),
        (lines("x1,x2,label", ["1,2,a", "3,4,a", "5,6,a", "7,8,a"]), None, "label", "two classes"),
        (lines("x1,x2,label", ["1,2,a", "3,4,b", "5,6,a"]), None, None, "3 data row(s); need at least 4"),
        (lines("x1,x2,label", ["1,2,a", '3,"4,b', "5,6,a", "7,8,b"]), 3, None, "never closed"),
        (lines("x1,x2,label", ["1,2,a", "3,4,b\x07", "5,6,a", "7,8,b"]), 3, "label", "control"),
        (lines("x1,x2,label", ["1,2,a", "3,4," + "b" * 41, "5,6,a", "7,8,b"]), 3, "label", "longer than 40"),
        (lines("x1,x2,label", ["1,2,a", "3,4,b", "5,6,a", "7,8,b", "9,9,c"]), None, None, None),
    ],
)
def test_each_bad_file_names_its_row_and_column(
    data: bytes, row: int | None, column: str | None, says: str | None
) -> None:
    if says is None:  # the control case: the same shape of file, valid, parses
        assert dataset_from_csv(data).n_classes == 3
        return
    error = error_of(data)
    assert says in error.message
    assert (error.row, error.column) == (row, column)


def test_message_reads_row_then_column_then_problem() -> None:
    error = error_of(lines("x1,x2,label", ["1,2,a", "3,abc,b", "5,6,a", "7,8,b"]))
    assert str(error) == "row 3, column 'x2': 'abc' is not a number"
    assert isinstance(error, ValueError)


def test_row_numbers_count_blank_lines_like_a_spreadsheet() -> None:
    error = error_of(b"x1,x2,label\n1,2,a\n\n3,4,b\n5,oops,a\n7,8,b\n")
    assert error.row == 5


def test_unnamed_column_is_reported_by_position() -> None:
    error = error_of(lines("p,,kind", ["1,2,a", "3,x,b", "5,6,a", "7,8,b"]))
    assert (error.row, error.column) == (3, "column 2")


def test_too_many_classes_points_at_the_row_with_the_extra_class() -> None:
    rows = [f"{i},{i},c{i}" for i in range(MAX_CLASSES + 1)]
    error = error_of(lines("x1,x2,label", rows))
    assert (error.row, error.column) == (MAX_CLASSES + 2, "label")
    assert "more than 10" in error.message


def test_forced_classification_with_many_numeric_values_is_too_many_classes() -> None:
    error = error_of(lines("x1,x2,y", [f"{i},0,{i}" for i in range(12)]), task="classification")
    assert "classes" in error.message and error.row == 12


# --- limits ------------------------------------------------------------------------------------


def test_exactly_max_rows_is_accepted_and_one_more_is_refused_at_that_row() -> None:
    rows = [f"{i % 97},{i % 89},{'ab'[i % 2]}" for i in range(MAX_ROWS)]
    assert dataset_from_csv(lines("x1,x2,label", rows)).n_samples == MAX_ROWS
    error = error_of(lines("x1,x2,label", [*rows, "1,1,a"]))
    assert error.row == MAX_ROWS + 2 and "more than 5,000" in error.message


def test_a_server_cap_lowers_the_row_limit() -> None:
    rows = [f"{i},{i},{'ab'[i % 2]}" for i in range(30)]
    error = error_of(lines("x1,x2,label", rows), max_rows=20)
    assert error.row == 22 and "more than 20" in error.message


def test_size_limit_is_checked_on_the_bytes_before_decoding() -> None:
    over = b"x1,x2,label\n" + b"\xff" * MAX_BYTES  # not UTF-8 either: the size must be reported first
    error = error_of(over)
    assert "limit is 1,000,000 bytes" in error.message and error.row is None
    exactly = GOOD + b"\n" * (MAX_BYTES - len(GOOD))  # padded with blank lines, which are skipped
    assert dataset_from_csv(exactly).n_samples == 5


@settings(max_examples=40, deadline=None)
@given(st.binary(max_size=400))
def test_any_bytes_give_a_dataset_or_a_csv_error_never_a_crash(data: bytes) -> None:
    try:
        dataset = dataset_from_csv(b"x1,x2,label\n" + data)
    except CSVError as error:
        assert error.message
        return
    assert np.isfinite(dataset.points).all()


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(-1e6, 1e6, allow_nan=False),
            st.floats(-1e6, 1e6, allow_nan=False),
            st.sampled_from(["red", "green", "=1+1", "-x", "blue sky"]),
        ),
        min_size=4,
        max_size=50,
    ).filter(lambda rows: len({label for *_, label in rows}) >= 2)
)
def test_written_rows_read_back_exactly(rows: list[tuple[float, float, str]]) -> None:
    text = "x1,x2,label\n" + "".join(f"{a!r},{b!r},{label}\n" for a, b, label in rows)
    data = dataset_from_csv(text.encode())
    np.testing.assert_array_equal(data.points, [(a, b) for a, b, _ in rows])
    assert [data.class_names[i] for i in data.labels] == [label for *_, label in rows]
