"""sem/api.py: DRF's nested error details flattened into one field name per reason."""

from sem.api import _flatten


def test_nested_errors_name_their_path_and_an_items_own_errors_name_the_item():
    detail = {
        "criteria": [{"non_field_errors": ["x"]}, {"text": ["y"]}],
        "non_field_errors": ["z"],
        "title": "w",
    }
    assert _flatten(detail) == {
        "criteria[0]": ["x"],
        "criteria[1].text": ["y"],
        "non_field_errors": ["z"],
        "title": ["w"],
    }


def test_errors_of_no_field_are_the_requests_own():
    assert _flatten(["a", "b"]) == {"non_field_errors": ["a", "b"]}
    assert _flatten("c") == {"non_field_errors": ["c"]}
