#!/usr/bin/env python3
"""Glue for bench/pages (standard library only).

Subcommands:
  fixture-body N                 print the NDJSON commit body of the pages fixture: README.md,
                                 model.py and N small files under many/
  page-weight URL                print the bytes of the page at URL and of the stylesheets and
                                 scripts it links: html css js total gzip_total
  report RESULTS DOC             print the markdown results and rewrite DOC's pages section
"""

import base64
import gzip
import json
import re
import statistics
import sys
import urllib.parse
import urllib.request

from helpers import _load, _minmed, _nums, _one, _runs, _verdict, write_section

BEGIN = "<!-- bench:pages:begin -->"
END = "<!-- bench:pages:end -->"
TARGET_RATIO = 0.5
TARGET_WEIGHT = 100_000

README = """---
license: apache-2.0
library_name: transformers
pipeline_tag: text-generation
tags: [bench, demo]
---
# pages

A model card of ordinary length: a few sections, a table, a code block and a list, rendered from
Markdown (and sanitised) on every request of the repo page.

## Usage

```python
from transformers import AutoModelForCausalLM
model = AutoModelForCausalLM.from_pretrained("alice/pages")
```

## Results

| task | score | notes |
| --- | --- | --- |
""" + "".join(f"| task {i} | {40 + i}.0 | measured on split {i} |\n" for i in range(12)) + """
## Training

""" + "".join(f"- step {i}: learning rate {10 - i}e-4, warm-up then cosine decay\n" for i in range(10)) + (
    "\nThis paragraph is here for length. " * 20) + "\n"


def _model_py():
    """About 200 lines of Python: the blob page highlights every line."""
    lines = ['"""A small model definition, long enough for a realistic blob page."""', "", "import math", ""]
    for i in range(18):
        lines += [
            f"class Block{i}:",
            f'    """Block number {i}."""',
            "",
            "    def __init__(self, width: int = 256, heads: int = 4) -> None:",
            f"        self.width = width * {i + 1}",
            "        self.heads = heads",
            "",
            "    def forward(self, x: list[float]) -> list[float]:",
            "        return [math.tanh(v) * self.width / self.heads for v in x]",
            "",
            "",
        ]
    return "\n".join(lines) + "\n"


def _file(path, text):
    data = base64.b64encode(text.encode()).decode()
    return {"key": "file", "value": {"path": path, "content": data, "encoding": "base64"}}


def fixture_body(n):
    print(json.dumps({"key": "header", "value": {"summary": "Pages fixture", "description": ""}}))
    print(json.dumps(_file("README.md", README)))
    print(json.dumps(_file("model.py", _model_py())))
    for i in range(int(n)):
        print(json.dumps(_file(f"many/file-{i:04d}.txt", f"file {i}\n")))


def _get(url):
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read()


def page_weight(url):
    html = _get(url)
    text = html.decode("utf-8", "replace")
    css = re.findall(r'<link[^>]+rel="stylesheet"[^>]+href="([^"]+)"', text)
    css += re.findall(r'<link[^>]+href="([^"]+)"[^>]+rel="stylesheet"', text)
    js = re.findall(r'<script[^>]+src="([^"]+)"', text)
    css_bytes = [_get(urllib.parse.urljoin(url, href)) for href in dict.fromkeys(css)]
    js_bytes = [_get(urllib.parse.urljoin(url, src)) for src in dict.fromkeys(js)]
    parts = [html, *css_bytes, *js_bytes]
    gz = sum(len(gzip.compress(p)) for p in parts)
    print(len(html), sum(map(len, css_bytes)), sum(map(len, js_bytes)), sum(map(len, parts)), gz)


PAGES = [
    ("repo", "repo page `/alice/pages` (card of {readme} B of Markdown)"),
    ("tree", "tree page `/alice/pages/tree/main/many` (first page: {tree_rows} of {entries} entries)"),
    ("blob", "blob page `/alice/pages/blob/main/model.py` ({blob_lines} highlighted lines)"),
]


def render(values):
    json_rps = _nums(values, "json_rps")
    lines = [
        f"Run of {_one(values, 'date')} — kura commit `{_one(values, 'commit')}`{_one(values, 'binary_note', '')}; "
        f"{_one(values, 'nproc')} CPUs, wrk -t2 -c32, {_runs(len(json_rps))} of {_one(values, 'secs')} s per URL "
        f"after a warm-up, alternating; load average before: {_one(values, 'load_before')}, after: "
        f"{_one(values, 'load_after')}.",
        "",
        "| URL | req/s min / median | ÷ repo-info JSON (median; min) | target | weight HTML + CSS + JS, B (gzip) | target |",
        "|---|---|---|---|---|---|",
    ]
    jm, jmed = _minmed(json_rps)
    lines.append(f"| repo info JSON `/api/models/alice/pages` (reference, {_one(values, 'json_bytes')} B) "
                 f"| {jm} / {jmed} | 1.00 | – | – | – |")
    fmt = {k: _one(values, k) for k in ("readme", "entries", "blob_lines", "tree_rows")}
    for key, label in PAGES:
        rps = _nums(values, f"{key}_rps")
        ratio = statistics.median(rps) / statistics.median(json_rps) if rps and json_rps else 0
        ratio_min = min(rps) / min(json_rps) if rps and json_rps else 0
        m, med = _minmed(rps)
        html, css, js, total, gz = (int(x) for x in _one(values, f"{key}_weight", "0 0 0 0 0").split())
        lines.append(
            f"| {label.format(**fmt)} | {m} / {med} | {ratio:.2f}; {ratio_min:.2f} | ≥ {TARGET_RATIO}: "
            f"{_verdict(ratio >= TARGET_RATIO)} | {html} + {css} + {js} = {total} ({gz}) | < 100 kB: "
            f"{_verdict(0 < total < TARGET_WEIGHT)} |"
        )
    lines.append("")
    runs = "; ".join(
        f"{key}: {', '.join(f'{x:.0f}' for x in _nums(values, f'{key}_rps'))}" for key in ["json", *(p[0] for p in PAGES)]
    )
    lines.append(f"Runs, req/s — {runs}. Non-2xx answers: {_one(values, 'non2xx', '0')}.")
    return "\n".join(lines) + "\n"


def report(results, doc):
    text = render(_load(results))
    print(text)
    if doc == "/dev/null":
        return
    write_section(doc, text, BEGIN, END)


def main(argv):
    if not argv:
        sys.exit(__doc__)
    cmd, args = argv[0], argv[1:]
    if cmd == "fixture-body":
        fixture_body(*args)
    elif cmd == "page-weight":
        page_weight(*args)
    elif cmd == "report":
        report(*args)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
