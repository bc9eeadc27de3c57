"""Helpers of the report tests: parse a rendered report without a browser."""

from __future__ import annotations

from html.parser import HTMLParser

#: Attributes through which a page loads something (or navigates, for href).
URL_ATTRIBUTES = ("src", "href", "srcset", "poster", "data", "action", "formaction", "background")


class ReportParser(HTMLParser):
    """Collects every URL-bearing attribute, the text, and the headline sentences."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.urls: list[tuple[str, str, str]] = []  # (tag, attribute, value)
        self.text: list[str] = []
        self.sentences: list[str] = []
        self.style: list[str] = []
        self._in_sentence = 0
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in URL_ATTRIBUTES and value is not None:
                self.urls.append((tag, name, value))
            if name == "class" and value and "sentence" in value.split():
                self._in_sentence = 1
                self.sentences.append("")
        if tag == "p" and self._in_sentence:
            pass
        if tag == "style":
            self._in_style = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "p" and self._in_sentence:
            self._in_sentence = 0
        if tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.style.append(data)
            return
        self.text.append(data)
        if self._in_sentence:
            self.sentences[-1] += data


def parse_report(html: str) -> ReportParser:
    """Parse a report's HTML."""
    parser = ReportParser()
    parser.feed(html)
    parser.close()
    return parser


def external_urls(parser: ReportParser) -> list[tuple[str, str, str]]:
    """URL attributes that would make the page load (or link to) anything outside itself."""
    return [
        (tag, name, value)
        for tag, name, value in parser.urls
        if not (value.startswith("data:") or value.startswith("#"))
    ]
