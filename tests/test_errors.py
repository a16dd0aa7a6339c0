"""One-line messages: library texts quoted whole, or shortened at a sentence or word, never mid-word."""

from __future__ import annotations

from v2a_cli.errors import first_line


def test_quoted_library_messages_are_never_cut_mid_word():
    hub = ("Cannot find an appropriate cached snapshot folder for the specified revision on the local disk and "
           "outgoing traffic has been disabled. To enable repo look-ups and downloads online, pass "
           "'local_files_only=False' as input.")
    assert first_line(Exception(hub)) == hub.split(" To enable")[0]  # the first whole sentence
    words = "word " * 60
    short = first_line(Exception(words), limit=50)
    assert short.endswith("...") and short[:-3].split() == ["word"] * len(short[:-3].split())
    assert first_line(Exception("one\ntwo")) == "one" and first_line(KeyError()) == "KeyError"
