"""Original test works in the layouts fans download: AO3 HTML (one and several chapters,
non-English), AO3-style, FanFicFare-style and generic EPUB 3, and a malicious EPUB.
All text here is ours."""

from __future__ import annotations

import zipfile
from pathlib import Path

CHAPTERS = [
    ("Chapter 1: The Broken Escapement",
     "<p>The shop smelled of oil and brass. Ada Quill bent over the workbench, a loupe in one eye.</p>"
     "<p>“It’s the escapement,” she said. “Someone forced the hands.”</p>"
     "<p>Tomas Reed leaned in the doorway. “Can you fix it?”</p>"
     "<p>“I can fix <em>anything</em>,” said Ada, “given a week and enough tea.”</p>"
     "<hr/><p>Later, Master Hollis came down the stairs with a lamp.</p>",
     "Ada meets a stranger.", "Thank you for reading!", "More soon."),
    ("Chapter 2: Tea and Springs",
     "<p>The kettle sang. Tomas counted the springs twice and lost count both times.</p>"
     "<p>“Forty-one,” said Tomas.</p><p>“Forty-two,” Ada replied. “You missed the small one.”</p>"
     "<p><span>The clock</span> on the wall ticked, <b>loudly</b>,<br/>then stopped.</p>",
     None, None, "The end notes of chapter two."),
    ("Chapter 3: Midnight",
     "<p>At midnight every clock in the shop struck at once, and Master Hollis laughed.</p>"
     "<p>“That,” he said, “is how you know a job is done.”</p>"
     "<p style=\"text-align:center\">* * *</p><p>Ada slept at last.</p>",
     None, None, None),
]

TAGS = [
    ("Rating:", ["Teen And Up Audiences"]), ("Archive Warning:", ["No Archive Warnings Apply"]),
    ("Category:", ["F/M", "Gen"]), ("Fandom:", ["Original Work"]),
    ("Relationship:", ["Ada Quill/Tomas Reed"]),
    ("Character:", ["Ada Quill", "Tomas Reed", "Master Hollis (Original Work)"]),
    ("Additional Tags:", ["Clockwork", "Slow Burn", "Fluff"]),
]


def _dl(language="English", series=True, chapters="3/5", words="1,234"):
    rows = []
    for label, values in TAGS:
        links = ", ".join(f'<a class="tag" href="https://archiveofourown.org/tags/{v}">{v}</a>' for v in values)
        rows.append(f"<dt>{label}</dt>\n<dd>{links}</dd>")
    rows.append(f"<dt>Language:</dt>\n<dd>{language}</dd>")
    if series:
        rows.append('<dt>Series:</dt>\n<dd>Part 2 of <a href="https://archiveofourown.org/series/1">Gears and Hearts</a></dd>')
    rows.append(f"<dt>Stats:</dt>\n<dd>\n Published: 2024-03-01\n Updated: 2024-04-12\n Words: {words}\n"
                f" Chapters: {chapters}\n</dd>")
    return '<dl class="tags">\n' + "\n".join(rows) + "\n</dl>"


def _preface(title, language="English", series=True, chapters="3/5", words="1,234", notes=True):
    note = '<p>Notes</p>\n<blockquote class="userstuff"><p>Thanks to my beta reader, who knows who she is.</p></blockquote>' if notes else ""
    return f"""<div id="preface">
<p class="message"><b>{title}</b><br/>
Posted originally on the <a href="https://archiveofourown.org/">Archive of Our Own</a> at <a href="https://archiveofourown.org/works/424242">https://archiveofourown.org/works/424242</a>.</p>
<div class="meta">
{_dl(language, series, chapters, words)}
<h1>{title}</h1>
<div class="byline">by <a rel="author" href="https://archiveofourown.org/users/quillfeather/pseuds/quillfeather">quillfeather</a></div>
<p>Summary</p>
<blockquote class="userstuff"><p>Ada repairs clocks. Tomas breaks them. Somebody has to wind the big one.</p></blockquote>
{note}
</div>
</div>"""


def ao3_multi_chapter_html() -> str:
    parts = []
    for i, (title, body, summary, notes, end) in enumerate(CHAPTERS, 1):
        meta = [f'<h2 class="heading">{title}</h2>']
        if summary:
            meta.append(f'<div id="summary" class="summary"><p>Chapter Summary</p>\n<blockquote class="userstuff"><p>{summary}</p></blockquote></div>')
        if notes:
            meta.append(f'<div id="notes" class="notes"><p>Chapter Notes</p>\n<blockquote class="userstuff"><p>{notes}</p></blockquote></div>')
        parts.append('<div class="meta group">\n' + "\n".join(meta) + "\n</div>")
        parts.append(f'<div class="userstuff">{body}</div>')
        if end:
            parts.append(f'<div id="endnotes{i}" class="meta group"><p>Chapter End Notes</p>\n'
                         f'<blockquote class="userstuff"><p>{end}</p></blockquote></div>')
    return f"""<!DOCTYPE html>
<html><head><meta charset="UTF-8"/><title>The Clockmaker&#39;s Apprentice - quillfeather - Original Work [Archive of Our Own]</title>
<style>body {{ font-family: serif }}</style></head>
<body>
{_preface("The Clockmaker&#39;s Apprentice")}
<div id="chapters" class="userstuff">
{chr(10).join(parts)}
</div>
<div id="afterword"><div class="meta"><p>End Notes</p>
<blockquote class="userstuff"><p>The whole work ends here, thank you.</p></blockquote></div>
<div id="endnotes"><p>Please <a href="https://archiveofourown.org/works/424242#comments">drop by the archive and comment</a>.</p></div>
</div>
</body></html>"""


def ao3_one_chapter_html() -> str:
    return f"""<!DOCTYPE html>
<html><head><meta charset="UTF-8"/><title>Small Hours</title></head>
<body>
{_preface("Small Hours", series=False, chapters="1/1", words="64", notes=False)}
<div id="chapters" class="userstuff">
<div class="userstuff"><h3 class="landmark heading">Chapter Text</h3>
<p>Night in the shop. The clocks kept their own counsel.</p>
<p>“Still awake?” asked Tomas.</p><p>“Always,” said Ada.</p>
</div>
</div>
<div id="afterword"><div id="endnotes"><p>Comment on the archive.</p></div></div>
</body></html>"""


def ao3_spanish_html() -> str:
    body = ("<p>La tienda olía a aceite y a latón. Ada se inclinó sobre la mesa.</p>"
            "<p>—Es el escape —dijo ella—. Alguien forzó las agujas.</p>"
            "<p>«¿Puedes arreglarlo?», preguntó Tomás.</p>")
    return f"""<!DOCTYPE html>
<html><head><meta charset="UTF-8"/><title>El aprendiz del relojero</title></head>
<body>
{_preface("El aprendiz del relojero", language="Español", series=False, chapters="1/?", words="40", notes=False)}
<div id="chapters" class="userstuff">
<div class="meta group"><h2 class="heading">Capítulo 1: El escape roto</h2></div>
<div class="userstuff">{body}</div>
</div>
</body></html>"""


def _xhtml(title: str, body: str) -> str:
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE html>\n'
            '<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops">'
            f"<head><title>{title}</title></head><body>{body}</body></html>")


def write_epub(path: Path, docs: list[tuple[str, str]], opf_meta: str, nav: str | None = None,
               ncx: str | None = None, extra: dict[str, bytes] | None = None) -> Path:
    """docs: (file name under OEBPS/, xhtml) in spine order."""
    manifest = "\n".join(f'<item id="d{i}" href="{name}" media-type="application/xhtml+xml"/>'
                         for i, (name, _) in enumerate(docs))
    if nav:
        manifest += '\n<item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/>'
    if ncx:
        manifest += '\n<item id="ncx" href="toc.ncx" media-type="application/x-dtbncx+xml"/>'
    spine = "\n".join(f'<itemref idref="d{i}"/>' for i in range(len(docs)))
    opf = f"""<?xml version="1.0" encoding="UTF-8"?>
<package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="id">
<metadata xmlns:dc="http://purl.org/dc/elements/1.1/">{opf_meta}</metadata>
<manifest>{manifest}</manifest>
<spine{' toc="ncx"' if ncx else ''}>{spine}</spine>
</package>"""
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("mimetype", "application/epub+zip", compress_type=zipfile.ZIP_STORED)
        z.writestr("META-INF/container.xml", """<?xml version="1.0"?>
<container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">
<rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/></rootfiles>
</container>""")
        z.writestr("OEBPS/content.opf", opf)
        for name, xhtml in docs:
            z.writestr(f"OEBPS/{name}", xhtml)
        if nav:
            z.writestr("OEBPS/nav.xhtml", nav)
        if ncx:
            z.writestr("OEBPS/toc.ncx", ncx)
        for name, data in (extra or {}).items():
            z.writestr(name, data)
    return path


DC = ('<dc:title>The Clockmaker\'s Apprentice</dc:title><dc:creator>quillfeather</dc:creator>'
      '<dc:language>en</dc:language><dc:identifier id="id">urn:uuid:42</dc:identifier>')


def ao3_epub(path: Path) -> Path:
    preface = _xhtml("Preface", _preface("The Clockmaker's Apprentice"))
    docs = [("preface.xhtml", preface)]
    for i, (title, body, summary, notes, end) in enumerate(CHAPTERS, 1):
        meta = f'<div class="meta group"><h2 class="heading">{title}</h2>'
        if summary:
            meta += f'<p>Chapter Summary</p><blockquote class="userstuff"><p>{summary}</p></blockquote>'
        meta += "</div>"
        endnotes = (f'<div class="endnotes"><p>Chapter End Notes</p><blockquote class="userstuff"><p>{end}</p>'
                    "</blockquote></div>") if end else ""
        docs.append((f"chapter{i}.xhtml", _xhtml(title, f'{meta}<div class="userstuff">{body}</div>{endnotes}')))
    docs.append(("afterword.xhtml", _xhtml("Afterword", '<div id="afterword"><p>End Notes</p>'
                                           '<blockquote class="userstuff"><p>Fin.</p></blockquote></div>')))
    return write_epub(path, docs, DC)


def fanficfare_epub(path: Path) -> Path:
    title_page = _xhtml("Title", (
        "<h3>The Clockmaker's Apprentice by quillfeather</h3><div>"
        "<b>Category:</b> Original Work<br/><b>Genre:</b> Fluff, Slow Burn<br/>"
        "<b>Characters:</b> Ada Quill, Tomas Reed<br/><b>Status:</b> In-Progress<br/>"
        "<b>Published:</b> 2024-03-01<br/><b>Updated:</b> 2024-04-12<br/><b>Chapters:</b> 3/5<br/>"
        "<b>Words:</b> 1,234<br/><b>Rating:</b> Teen And Up Audiences<br/>"
        "<b>Summary:</b> Ada repairs clocks. Tomas breaks them.<br/></div>"))
    docs = [("title_page.xhtml", title_page)]
    for i, (title, body, *_rest) in enumerate(CHAPTERS, 1):
        docs.append((f"file{i:04d}.xhtml", _xhtml(title, f"<h3>{title}</h3>{body}")))
    ncx = """<?xml version="1.0" encoding="UTF-8"?>
<ncx xmlns="http://www.daisy.org/z3986/2005/ncx/" version="2005-1"><navMap>""" + "".join(
        f'<navPoint id="p{i}"><navLabel><text>{t}</text></navLabel><content src="file{i:04d}.xhtml"/></navPoint>'
        for i, (t, *_r) in enumerate(CHAPTERS, 1)) + "</navMap></ncx>"
    meta = DC + "<dc:subject>Fluff</dc:subject><dc:subject>Slow Burn</dc:subject><dc:description>Ada repairs clocks.</dc:description>"
    return write_epub(path, docs, meta, ncx=ncx)


def generic_epub3(path: Path) -> Path:
    docs = [("cover.xhtml", _xhtml("Cover", '<img src="cover.jpg" alt=""/>')),
            ("one.xhtml", _xhtml("One", "<p>The first part, without any heading at all.</p><p>“Hello,” said Ada.</p>")),
            ("two.xhtml", _xhtml("Two", "<section><p>The second part.</p><p>It ends here.</p></section>"))]
    nav = _xhtml("Contents", '<nav epub:type="toc"><ol><li><a href="one.xhtml">The Opening</a></li>'
                 '<li><a href="two.xhtml#start">The Closing</a></li></ol></nav>')
    return write_epub(path, docs, DC.replace("The Clockmaker's Apprentice", "Two Parts"), nav=nav)


def malicious_epubs(folder: Path) -> dict[str, Path]:
    """Each one must be refused with a one-line error, and nothing may be written outside."""
    out = {}
    entity = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'
              '<container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles>'
              '<rootfile full-path="&lol2;"/></rootfiles></container>')
    path = folder / "entities.epub"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("META-INF/container.xml", entity)
    out["entities"] = path
    path = folder / "external.epub"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("META-INF/container.xml", '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
                   '<container xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles>'
                   '<rootfile full-path="&e;"/></rootfiles></container>')
    out["external"] = path
    path = folder / "bomb.epub"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("META-INF/container.xml", "x")
        z.writestr("OEBPS/huge.xhtml", b"\0" * (40 * 1024 * 1024))
    out["bomb"] = path
    path = folder / "many.epub"
    with zipfile.ZipFile(path, "w") as z:
        for i in range(5001):
            z.writestr(f"f{i}", "")
    out["many"] = path
    traversal = write_epub(folder / "traversal.epub",
                           [("../../../../tmp/evil.xhtml", _xhtml("x", "<h1>../../escape</h1><p>Words here.</p>"))], DC)
    out["traversal"] = traversal
    path = folder / "notzip.epub"
    path.write_bytes(b"PK\x03\x04 this is not really a zip file at all")
    out["notzip"] = path
    return out
