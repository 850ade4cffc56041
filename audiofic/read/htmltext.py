"""A small HTML tree and its text, on the standard library's parser.

html.parser fetches nothing and knows no DTDs, so an untrusted page cannot make us read a
file or a URL; character references are decoded for us. The tree is just enough to find AO3's
blocks by tag, id and class, and to turn a block into paragraphs of plain text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
BLOCK = {"p", "div", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6", "li", "ul", "ol", "dl", "dt", "dd",
         "section", "article", "header", "footer", "main", "aside", "pre", "table", "tr", "center", "body",
         "html", "nav", "figure", "figcaption", "address"}
SKIP = {"script", "style", "head", "title", "noscript", "template", "svg", "math"}
MAX_DEPTH = 400
SCENE_BREAK = "* * *"


@dataclass
class Node:
    tag: str
    attrs: dict[str, str] = field(default_factory=dict)
    children: list["Node | str"] = field(default_factory=list)
    parent: "Node | None" = None

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    @property
    def id(self) -> str:
        return self.attrs.get("id", "")

    def iter(self):
        yield self
        for child in self.children:
            if isinstance(child, Node):
                yield from child.iter()

    def find_all(self, tag: str | None = None, cls: str | None = None, id: str | None = None) -> list["Node"]:
        return [n for n in self.iter() if (tag is None or n.tag == tag) and (cls is None or cls in n.classes)
                and (id is None or n.id == id)]

    def find(self, tag: str | None = None, cls: str | None = None, id: str | None = None) -> "Node | None":
        found = self.find_all(tag, cls, id)
        return found[0] if found else None

    def element_children(self) -> list["Node"]:
        return [c for c in self.children if isinstance(c, Node)]

    def plain(self) -> str:
        """All the text inside, whitespace collapsed: for titles, tags and names."""
        parts = []
        for child in self.children:
            if isinstance(child, str):
                parts.append(child)
            elif child.tag not in SKIP:
                parts.append(" " + child.plain() + " " if child.tag in BLOCK or child.tag == "br" else child.plain())
        return re.sub(r"\s+", " ", "".join(parts)).strip()


class _TreeBuilder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node("#root")
        self.stack = [self.root]

    def handle_starttag(self, tag, attrs):
        node = Node(tag, {k: (v or "") for k, v in attrs}, parent=self.stack[-1])
        if tag == "p":  # a <p> closes an open <p>, as browsers do
            self._close("p", stop_at={"div", "blockquote", "body", "li", "td"})
        self.stack[-1].children.append(node)
        if tag not in VOID and len(self.stack) < MAX_DEPTH:
            self.stack.append(node)

    def handle_startendtag(self, tag, attrs):
        self.stack[-1].children.append(Node(tag, {k: (v or "") for k, v in attrs}, parent=self.stack[-1]))

    def handle_endtag(self, tag):
        self._close(tag)

    def _close(self, tag, stop_at=frozenset()):
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                return
            if self.stack[i].tag in stop_at:
                return

    def handle_data(self, data):
        self.stack[-1].children.append(data)


def parse_html(text: str) -> Node:
    builder = _TreeBuilder()
    builder.feed(text)
    builder.close()
    return builder.root


def block_text(node: Node, emphasis: bool = True) -> str:
    """Paragraphs separated by blank lines; <br> is a line break, <hr> a scene break, and
    <em>/<i> become *…* so a later stage can stress them (speech drops the marks)."""
    out: list[str] = []
    _walk(node, out, emphasis)
    text = "".join(out)
    text = re.sub(r"[ \t\r\f\v\u00a0]+", " ", text)
    text = re.sub(r" *\n *", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()


def _walk(node: Node, out: list[str], emphasis: bool) -> None:
    for child in node.children:
        if isinstance(child, str):
            out.append(re.sub(r"\s+", " ", child))
            continue
        tag = child.tag
        if tag in SKIP:
            continue
        if tag == "br":
            out.append("\n")
        elif tag == "hr":
            out.append(f"\n\n{SCENE_BREAK}\n\n")
        elif tag in ("em", "i") and emphasis:
            inner: list[str] = []
            _walk(child, inner, emphasis)
            word = "".join(inner)
            stripped = word.strip()
            out.append(word.replace(stripped, f"*{stripped}*", 1) if re.search(r"\w", stripped) else word)
        elif tag in BLOCK:
            out.append("\n\n")
            _walk(child, out, emphasis)
            out.append("\n\n")
        else:
            _walk(child, out, emphasis)
