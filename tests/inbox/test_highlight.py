"""Highlighting escapes first and marks after: user text can never become markup."""

from inbox.highlight import mark, snippet, terms


def test_terms_are_lowercased_words_without_repeats():
    assert terms("Gyro  gyro, AUC-0.9 <b>") == ["gyro", "auc-0.9", "b"]
    assert terms("") == []


def test_matches_are_marked_and_everything_else_is_escaped():
    assert mark("<b>Gyroscope</b> & co", ["gyroscope"]) == "&lt;b&gt;<mark>Gyroscope</mark>&lt;/b&gt; &amp; co"


def test_a_hostile_title_stays_text():
    marked = mark("x');alert(1);(' <img src=x onerror=alert(1)>", ["alert"])
    assert "<img" not in marked and "&lt;img" in marked
    assert marked.count("<mark>") == 2 and "x&#x27;);" in marked


def test_a_word_never_matches_inside_an_entity():
    # "amp" is in "&amp;" once escaped: marking after escaping the text as a whole would break the entity.
    assert mark("a & b", ["amp"]) == "a &amp; b"


def test_endings_are_ignored_like_a_stemmer():
    assert mark("running runs", ["runs"]) == "<mark>running</mark> <mark>runs</mark>"


def test_the_snippet_is_a_window_around_the_first_match():
    text = "word " * 100 + "gyroscope " + "word " * 100
    piece = snippet(text, ["gyroscope"], width=60)
    assert piece.startswith("…") and piece.endswith("…") and "<mark>gyroscope</mark>" in piece
    assert len(piece) < 100
