// Screenshots of the main pages in light and dark, written to docs/screenshots (or
// KURA_SCREENSHOT_DIR) as {page}-{light|dark}.png. Each page must also load without a console
// error (a CSP refusal of an inline style or script is one) and without a failed request.
"use strict";

const assert = require("node:assert/strict");
const path = require("node:path");
const { after, before, test } = require("node:test");
const { launchBrowser, newContext, screenshotDir, signIn, startKura } = require("./harness");

const REPO = "alice/tiny-llm";
const BASE = `/${REPO}`;

const README = `---
license: apache-2.0
language: en
library_name: transformers
pipeline_tag: text-generation
tags: [tiny, demo]
---
# tiny-llm

A very small language model, trained for an afternoon on public-domain novels. It is here to
show what a model page looks like on **kura**.

## Usage

\`\`\`python
from transformers import AutoModelForCausalLM, AutoTokenizer

tokenizer = AutoTokenizer.from_pretrained("alice/tiny-llm")
model = AutoModelForCausalLM.from_pretrained("alice/tiny-llm")
\`\`\`

## Results

| task | score |
| --- | --- |
| next word | 41.2 |
| rhymes | 12.0 |

- 6 layers, 256 hidden units
- vocabulary of 8,000 tokens
`;

const MODEL_V1 = `"""A tiny causal language model."""

import math

import torch
from torch import nn


class TinyLM(nn.Module):
    def __init__(self, vocab: int = 8000, hidden: int = 256, layers: int = 6):
        super().__init__()
        self.embed = nn.Embedding(vocab, hidden)
        self.blocks = nn.ModuleList(nn.TransformerEncoderLayer(hidden, 4) for _ in range(layers))
        self.head = nn.Linear(hidden, vocab)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        x = self.embed(ids) * math.sqrt(self.embed.embedding_dim)
        for block in self.blocks:
            x = block(x)
        return self.head(x)
`;
const MODEL_V2 = MODEL_V1.replace("layers: int = 6", "layers: int = 8")
  .replace("        return self.head(x)\n", "        x = self.norm(x)\n        return self.head(x)\n")
  .replace("        self.head = nn.Linear(hidden, vocab)\n", "        self.norm = nn.LayerNorm(hidden)\n        self.head = nn.Linear(hidden, vocab)\n");

const CONFIG = JSON.stringify({ architectures: ["TinyLM"], vocab_size: 8000, hidden_size: 256, num_layers: 8 }, null, 2);

let kura;
let browser;
let commitUrl;

before(async () => {
  kura = await startKura(["alice"]);
  const token = kura.token("alice");
  await kura.createRepo(token, REPO);
  await kura.createRepo(token, "alice/poetry-corpus", { type: "dataset" });
  await kura.createRepo(token, "alice/rhyme-finder", { type: "space" });
  await kura.commit(token, "alice/rhyme-finder", {
    "README.md": "---\ntitle: Rhyme finder\nemoji: 🎶\ncolorFrom: indigo\ncolorTo: pink\nsdk: static\n" +
      "short_description: Finds rhymes for a word, in the browser\ntags:\n  - poetry\n---\n# Rhyme finder\n",
    "index.html": "<!DOCTYPE html><html><head><title>Rhyme finder</title><link rel=\"stylesheet\" href=\"style.css\"></head>" +
      "<body><h1>Rhyme finder</h1><input placeholder=\"a word\"><script src=\"app.js\"></script></body></html>",
    "style.css": "body { font-family: sans-serif; padding: 24px; background: #fdf2f8; }",
    "app.js": "document.querySelector('input').focus();",
  }, "The app", "", "space");
  await kura.commit(token, REPO, { "README.md": README, "model.py": MODEL_V1, "config.json": CONFIG }, "Initial model");
  await kura.commit(token, REPO, { "tokenizer/vocab.txt": "a\nb\nc\n", "tokenizer/merges.txt": "#version: 0.2\n" }, "Add the tokenizer");
  const second = await kura.commit(token, REPO, { "model.py": MODEL_V2 }, "Eight layers and a final norm", "Deeper, and normalised before the head.");
  commitUrl = `${BASE}/commit/${second.commitOid}`;
  await openPullRequest(token);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await kura?.stop();
});

/** A pull request with one commit and a comment, for the discussion pages. */
async function openPullRequest(token) {
  const post = (url, body, type = "application/json") =>
    fetch(`${kura.url}${url}`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": type },
      body,
    }).then((res) => {
      assert.equal(res.status, 200, `${url} answered ${res.status}`);
      return res;
    });
  const api = `/api/models/${REPO}`;
  const opened = await post(`${api}/discussions`, JSON.stringify({
    title: "Train for two more epochs",
    description: "The loss was still falling; this adds **two epochs** to the config.",
    pullRequest: true,
  }));
  const { num } = await opened.json();
  const lines = [
    { key: "header", value: { summary: "Two more epochs", description: "" } },
    { key: "file", value: { path: "config.json", content: Buffer.from(CONFIG.replace("8000", "8192")).toString("base64"), encoding: "base64" } },
  ].map((line) => JSON.stringify(line)).join("\n");
  await post(`${api}/commit/refs%2Fpr%2F${num}`, lines, "application/x-ndjson");
  await post(`${api}/discussions/${num}/comment`, JSON.stringify({ comment: "Looks good; the vocabulary change is on purpose?" }));
}

/** The pages to shoot: name, URL, and whether to sign in first. */
function pages() {
  return [
    ["front", "/", true],
    ["repo", BASE, true],
    ["tree", `${BASE}/tree/main`, true],
    ["blob", `${BASE}/blob/main/model.py`, true],
    ["history", `${BASE}/commits/main`, true],
    ["commit", commitUrl, true],
    ["settings", `${BASE}/settings`, true],
    ["discussions", `${BASE}/discussions`, true],
    ["pull-request", `${BASE}/discussions/1`, true],
    ["tokens", "/settings/tokens", true],
    ["space", "/spaces/alice/rhyme-finder", true],
    ["gallery", "/spaces", true],
    ["login", "/login", false],
  ];
}

for (const scheme of ["light", "dark"]) {
  test(`main pages in ${scheme} load cleanly and are captured`, async () => {
    const problems = [];
    for (const signedIn of [false, true]) {
      const context = await newContext(browser, kura, scheme);
      try {
        const page = await context.newPage();
        page.on("console", (msg) => {
          // Chromium asks for /favicon.ico on its own; kura has none, and that 404 is no page's fault.
          if (msg.type() === "error" && !msg.location().url.endsWith("/favicon.ico")) {
            problems.push(`${page.url()}: ${msg.text()} (${msg.location().url})`);
          }
        });
        page.on("pageerror", (error) => problems.push(`${page.url()}: ${error.message}`));
        page.on("requestfailed", (req) => problems.push(`${req.url()}: ${req.failure()?.errorText}`));
        page.on("response", (res) => {
          if (res.status() >= 400 && !res.url().endsWith("/favicon.ico")) problems.push(`${res.url()}: ${res.status()}`);
        });
        if (signedIn) await signIn(page);
        for (const [name, url, wantsUser] of pages()) {
          if (wantsUser !== signedIn) continue;
          const response = await page.goto(url);
          if (response.status() !== 200) {
            problems.push(`${name}: ${url} answered ${response.status()}`);
            continue;
          }
          const file = path.join(screenshotDir(), `${name}-${scheme}.png`);
          await page.screenshot({ path: file });
        }
      } finally {
        await context.close();
      }
    }
    assert.deepEqual(problems, [], "console errors or failed requests");
  });
}
