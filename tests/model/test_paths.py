"""Identifier rules of §7.4, §9.1, §9.2 and §11.1."""

from __future__ import annotations

import pytest

from mathvisuals.model.paths import (
    RESERVED,
    clean_string_list,
    entry_slug,
    is_reserved,
    normalize_category_id,
    normalize_path,
    normalize_slug,
    sanitize_file_base_name,
)

NOT_STRINGS: list[object] = [None, 5, 1.5, True, [], {}, ["a"], b"a"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # §7.4 table, row by row
        ("diagram", "/diagram"),
        ("/Diagram/", "/diagram"),
        ("/a//b\\c", "/a/b/c"),
        ("/a/index.htm", "/a"),
        ("/a/b.HTML", "/a/b"),
        ("/index.html", "/"),
        ("index.html", "/"),
        ("/index.htm", "/"),
        ("/eksempel3", "/"),
        ("/eksempel-12/", "/"),
        ("/eksempel-2", "/"),
        ("/a/eksempel1/Eksempel_2/", "/a"),
        ("/diagram/eksempel-42/", "/diagram"),
        ("/diagram/example-42/", "/diagram/example-42"),
        ("/foo/bar/eksempel12a", "/foo/bar/eksempel12a"),
        ("/eksempel-2/diagram", "/eksempel-2/diagram"),
        ("/my page", "/my%20page"),
        ("/Brøkvegg", "/br%C3%B8kvegg"),
        ("/Br%C3%98KVEGG.HTML", "/br%C3%B8kvegg"),
        ("/brøkvegg/index.html", "/br%C3%B8kvegg"),
        ("/%E0%A4%A", "/%25e0%25a4%25a"),
        ("/a%2Fb", "/a%252fb"),
        ("/x?y=1", "/x?y=1"),
    ],
)
def test_normalize_path_spec_table(value: str, expected: str) -> None:
    assert normalize_path(value) == expected


@pytest.mark.parametrize("value", ["", "   ", "\t\n", "\ufeff\u3000", *NOT_STRINGS])
def test_normalize_path_rejects_blank_and_non_strings(value: object) -> None:
    assert normalize_path(value) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("  /Diagram  ", "/diagram"),
        ("\ufeff/x\u2028", "/x"),
        ("\\a\\\\b", "/a/b"),
        ("///", "/"),
        ("/", "/"),
        ("/.html", "/"),
        ("/a.htm/", "/a.htm"),  # the suffix must be at the very end
        ("/a/index.html/", "/a/index.html"),
        ("/a/INDEX.HTM", "/a"),
        ("/a/myindex.html", "/a/myindex"),
        ("/eksempel1/index.html", "/"),
        ("/a/EKSEMPEL-7/eksempel_8//", "/a"),
        ("/a/eksempel--1", "/a/eksempel--1"),
        ("/a/eksempel", "/a/eksempel"),
        ("/a/x-eksempel1", "/a/x-eksempel1"),
        ("/a/eksempel1.html", "/a"),
        ("/a/eksempel%31", "/a/eksempel1"),  # stripping looks at the raw segment only
        ("/a/eksempel\u0661", "/a/eksempel%D9%A1"),  # only ASCII digits count
        ("/a/e\u212a\u017fempel1", "/a/ek%C5%BFempel1"),  # no Unicode case folding in /i
        ("/x.ht\u212al", "/x.htkl"),
        ("/%41b", "/ab"),
        ("/a%25b", "/a%25b"),
        ("/a%2fB", "/a%252fb"),
        ("/a%3F%23", "/a%253f%2523"),
        ("/A#B", "/a#b"),
        ("/a[1]", "/a%5B1%5D"),
        ("/%", "/%25"),
        ("/\u0130", "/i%CC%87"),
        ("/\ud83d\ude00", "/%F0%9F%98%80"),
    ],
)
def test_normalize_path_edge_cases(value: str, expected: str) -> None:
    assert normalize_path(value) == expected


def test_normalize_path_lone_surrogate_is_no_path() -> None:
    assert normalize_path("/a\ud800") is None


def test_normalize_path_truncates_to_512_characters() -> None:
    assert normalize_path("/" + "a" * 599) == "/" + "a" * 511
    assert normalize_path("A" * 600) == "/" + "a" * 511
    # Truncation happens after encoding, so escapes count three characters each.
    assert normalize_path("/" + "ø" * 200) == "/" + ("%C3%B8" * 86)[:511]


@pytest.mark.parametrize(
    ("value", "slug", "entry"),
    [
        # §9.1 table, row by row
        ("Icons/Star.SVG", "icons/star.svg", "icons/star"),
        ("/Shapes//Circle.svg/", "shapes/circle.svg", "shapes/circle"),
        ("Star Shape", "star%20shape", "star%20shape"),
        ("a%2Fb", "a%2Fb", "a%2Fb"),
        ("ø/Å.png", "%C3%B8/%C3%A5.png", "%C3%B8/%C3%A5"),
        ("a.svg.png", "a.svg.png", "a.svg"),
        (".svg", ".svg", ""),
        ("../x", "../x", "../x"),
        ("__slugs__.svg", "__slugs__.svg", "__slugs__"),
    ],
)
def test_normalize_slug_and_entry_slug_spec_table(value: str, slug: str, entry: str) -> None:
    assert normalize_slug(value) == slug
    assert entry_slug(value) == entry


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("  A/B  ", "a/b"),
        ("\\A\\\\B\\", "a/b"),
        ("a%2fb", "a%2Fb"),
        ("A%2Fb/C", "a%2Fb/c"),
        ("%", "%25"),
        ("a%2", "a%252"),
        ("%E0%A4%A/x", "%25e0%25a4%25a/x"),
        ("%C3%98", "%C3%B8"),
        ("a+b", "a%2Bb"),
        ("a b%20c", "a%20b%20c"),
        ("it's (1)!", "it's%20(1)!"),
        ("a;b,c", "a%3Bb%2Cc"),
        ("\u0130", "i%CC%87"),
        ("\u212a", "k"),
        ("😀", "%F0%9F%98%80"),
    ],
)
def test_normalize_slug_edge_cases(value: str, expected: str) -> None:
    assert normalize_slug(value) == expected


@pytest.mark.parametrize("value", ["", "   ", "/", "///", "\\\\", *NOT_STRINGS])
def test_normalize_slug_rejects_empty_and_non_strings(value: object) -> None:
    assert normalize_slug(value) is None
    assert entry_slug(value) is None


def test_normalize_slug_lone_surrogate_is_no_slug() -> None:
    assert normalize_slug("a/\udc00") is None


def test_normalize_slug_truncates_to_512_characters() -> None:
    assert normalize_slug("A" * 600) == "a" * 512
    assert normalize_slug("a/" * 300) == ("a/" * 256)[:512]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("a.SVG", "a"),
        ("a.PnG", "a"),
        ("a.png.svg", "a.png"),
        ("a.svg/b", "a.svg/b"),
        ("a.svgz", "a.svgz"),
        ("a.jpg", "a.jpg"),
        (".png", ""),
        ("x", "x"),
    ],
)
def test_entry_slug_strips_one_extension(value: str, expected: str) -> None:
    assert entry_slug(value) == expected


def test_reserved_names() -> None:
    assert frozenset({"__slugs__", "__categories__", "__paths__", "__trash__"}) == RESERVED
    for name in RESERVED:
        assert is_reserved(name)
    for name in ["__SLUGS__", "slugs", "__slugs", "a/__slugs__", ""]:
        assert not is_reserved(name)
    assert is_reserved(entry_slug("__Paths__.PNG") or "")
    assert is_reserved(normalize_category_id(" __Trash__ ") or "")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # §11.1 examples
        ("Oppdatert kategori", "oppdatert-kategori"),
        ("KV-kategori", "kv-kategori"),
        ("Måling", "m-ling"),
        ("Other Cat", "other-cat"),
        # edge cases
        ("  --A  B--  ", "a-b"),
        ("a--b", "a-b"),
        ("a - b", "a-b"),
        ("a.b_c", "a.b_c"),
        ("Ørret", "rret"),
        ("\u0130x", "i-x"),
        ("\u212a", "k"),
        ("æøå1", "1"),
        ("x" * 200, "x" * 128),
        ("a" * 127 + " b", "a" * 127 + "-"),  # cut after collapsing, as upstream
    ],
)
def test_normalize_category_id(value: str, expected: str) -> None:
    assert normalize_category_id(value) == expected


@pytest.mark.parametrize("value", ["", "   ", "!!!", "---", "æøå", *NOT_STRINGS])
def test_normalize_category_id_rejects(value: object) -> None:
    assert normalize_category_id(value) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (["bibliotek", "bibliotek", " viewer "], ["bibliotek", "viewer"]),
        (["b", "a", "b", "c"], ["b", "a", "c"]),
        (["", "  ", 5, None, True, ["x"], {"a": 1}, "ok"], ["ok"]),
        (["x" * 130, "x" * 128 + "y"], ["x" * 128]),
        (["😀" * 100], ["😀" * 64]),
        (["  Æ  ", "Æ"], ["Æ"]),
        ([], []),
    ],
)
def test_clean_string_list(value: list[object], expected: list[str]) -> None:
    assert clean_string_list(value) == expected


@pytest.mark.parametrize("value", [None, "abc", 5, {"a": "b"}, ("a", "b")])
def test_clean_string_list_non_list(value: object) -> None:
    assert clean_string_list(value) == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Nytt navn 2024!.svg", "Nytt-navn-2024"),
        ("  star.png  ", "star"),
        ("a.b.c", "a.b"),
        ("archive.tar.gz", "archive.tar"),
        ("abc.", "abc."),
        ("a.b/c", "a.b-c"),
        ("dir/name", "dir-name"),
        ("---x---.svg", "x"),
        ("Hei på deg.png", "Hei-p-deg"),
        ("ÆØÅ.svg", ""),
        ("\u212a.svg", ""),
        (".svg", ""),
        ("", ""),
        ("   ", ""),
        ("A_b-C.9", "A_b-C"),
    ],
)
def test_sanitize_file_base_name(value: str, expected: str) -> None:
    assert sanitize_file_base_name(value) == expected


@pytest.mark.parametrize("value", NOT_STRINGS)
def test_sanitize_file_base_name_non_string(value: object) -> None:
    assert sanitize_file_base_name(value) == ""
