"""The one page-count rule (web/paging.py) and the one pager macro (templates/shared/pager.html) every list uses."""

from __future__ import annotations

import re

from flask import Flask, render_template_string
from flask_babel import force_locale

from web.paging import capped_pages, count_label, page_count

PAGER = """{% from "shared/pager.html" import pager with context %}
{% macro href(n) %}/list?page={{ n }}{% endmacro %}{{ pager(page, pages, href, more=more) }}"""


def test_pages_fill_up_and_an_empty_list_still_has_its_first_page() -> None:
    assert [page_count(n, 50) for n in (0, 1, 50, 51, 100, 101)] == [1, 1, 1, 2, 2, 3]
    assert capped_pages(1000, 50, 1000) == 20 and capped_pages(1001, 50, 1000) is None


def test_a_count_past_its_cap_reads_cap_plus_in_the_page_language(app: Flask) -> None:
    with app.test_request_context():
        assert (count_label(999, 1000), count_label(1001, 1000), count_label(1001)) == ("999", "1,000+", "1,001")
        with force_locale("pt_BR"):
            assert count_label(1001, 1000) == "1.000+"


def links(html: str) -> list[str]:
    return [re.sub(r"\s+", " ", text).strip() for text in re.findall(r"<a [^>]*>([^<]*)</a>", html)]


def test_a_numbered_list_gets_first_previous_next_last_and_page_x_of_y(app: Flask) -> None:
    with app.test_request_context():
        one = render_template_string(PAGER, page=1, pages=1, more=False)
        first = render_template_string(PAGER, page=1, pages=3, more=False)
        middle = render_template_string(PAGER, page=2, pages=3, more=False)
        last = render_template_string(PAGER, page=3, pages=3, more=False)
        capped = render_template_string(PAGER, page=2, pages=21, more=True)
    assert "pager" not in one  # a single page needs no pager
    assert links(first) == ["Next →", "Last »"] and "Page 1 of 3" in first and 'href="/list?page=3"' in first
    assert links(middle) == ["« First", "← Previous", "Next →", "Last »"] and "Page 2 of 3" in middle
    assert links(last) == ["« First", "← Previous"] and "Page 3 of 3" in last
    # the count stopped at its cap: the last page is unknown
    assert links(capped) == ["« First", "← Previous", "Next →"] and "Page 2</span>" in capped
