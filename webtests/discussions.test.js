// Discussions and pull requests in a real browser: bob opens a discussion from the Community
// tab, comments, and sees script payloads of both as text that never runs; he closes it and
// the listing's filters follow; alice (the repo's owner) hides his comment. A pull request
// opened through the API shows its commit and the diff of refs/pr/N against main, and alice
// merges it through the page. The steps share one server and run in order.
"use strict";

const assert = require("node:assert/strict");
const { after, before, test } = require("node:test");
const { launchBrowser, newContext, signIn, sleep, startKura } = require("./harness");

const REPO = "alice/talk";
const BASE = `/${REPO}`;
const RUN = "window.__pwned=1;alert(1)";
const TITLE = "Question about the <b>tokenizer</b>";
const DESCRIPTION = `Does it **really** work?\n\n<script>${RUN}</script>\n\n<img src=x onerror="${RUN}">`;
const COMMENT = `Also this: <script>${RUN}</script> and [a link](javascript:${RUN})`;
const CONFIG_V1 = '{\n  "hidden_size": 256,\n  "layers": 6\n}\n';
const CONFIG_V2 = '{\n  "hidden_size": 512,\n  "layers": 6\n}\n';

let kura;
let browser;
let token;
const pages = {};

before(async () => {
  kura = await startKura(["alice", "bob"]);
  token = kura.token("alice");
  await kura.createRepo(token, REPO);
  await kura.commit(token, REPO, { "README.md": "# talk\n", "config.json": CONFIG_V1 }, "Add the config");
  browser = await launchBrowser();
  for (const user of ["alice", "bob"]) {
    const context = await newContext(browser, kura);
    const page = await context.newPage();
    watch(page);
    await signIn(page, user);
    pages[user] = page;
  }
});

after(async () => {
  await browser?.close();
  await kura?.stop();
});

/** Records dialogs (dismissed) and console errors of `page`, so any that happen fail a check. */
function watch(page) {
  page.dialogs = [];
  page.errors = [];
  page.on("dialog", async (dialog) => {
    page.dialogs.push(dialog.message());
    await dialog.dismiss();
  });
  page.on("console", (message) => {
    if (message.type() === "error") page.errors.push(message.text());
  });
}

/** Nothing ran on `page` and its DOM holds no script but kura's own, no handler and no javascript: URL. */
async function assertNothingRan(page) {
  await sleep(200);
  assert.deepEqual(page.dialogs, [], "a payload opened a dialog");
  assert.equal(await page.evaluate(() => window.__pwned), undefined, "a payload ran");
  const unsafe = await page.evaluate(() => {
    const found = [];
    for (const el of document.querySelectorAll("*")) {
      for (const attr of el.attributes) {
        if (/^on/i.test(attr.name) || /^\s*javascript:/i.test(attr.value)) found.push(`${el.tagName} ${attr.name}`);
      }
      if (el.tagName === "SCRIPT" && !/^\/_kura\/assets\//.test(el.getAttribute("src") || "")) found.push("SCRIPT");
    }
    return found;
  });
  assert.deepEqual(unsafe, [], "unsafe markup reached the page");
  assert.deepEqual(page.errors, [], "console errors");
}

async function api(method, path, body, contentType = "application/json") {
  const res = await fetch(`${kura.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": contentType },
    body,
  });
  const text = await res.text();
  return { status: res.status, text, json: () => JSON.parse(text) };
}

test("the Community tab leads to the empty discussion list", async () => {
  const page = pages.bob;
  await page.goto(BASE);
  await Promise.all([page.waitForURL(`**${BASE}/discussions`), page.click('nav.tabs a:has-text("Community")')]);
  assert.equal(await page.locator('nav.tabs a[aria-current="page"]').innerText(), "Community");
  assert.match(await page.locator("p.empty").innerText(), /Nothing/);
});

test("bob opens a discussion through the form and its payloads read as text", async () => {
  const page = pages.bob;
  await Promise.all([page.waitForURL(`**${BASE}/discussions/new`), page.click("a.new-discussion")]);
  await page.fill('input[name="title"]', TITLE);
  await page.fill('textarea[name="description"]', DESCRIPTION);
  await Promise.all([page.waitForURL(`**${BASE}/discussions/1`), page.click('button:has-text("Create discussion")')]);
  assert.equal(await page.locator("h1 .discussion-title").innerText(), TITLE);
  assert.equal(await page.locator(".discussion-head .badge.status").innerText(), "open");
  const body = page.locator("li.event.comment .comment-body").first();
  assert.equal(await body.locator("strong").innerText(), "really");
  const text = await body.innerText();
  assert.ok(text.includes(`<script>${RUN}</script>`), `the script is not shown as text: ${text}`);
  assert.ok(text.includes(`<img src=x onerror="${RUN}">`), `the image is not shown as text: ${text}`);
  await assertNothingRan(page);
});

test("bob comments and the comment is rendered, its script as text", async () => {
  const page = pages.bob;
  await page.fill('form.comment-form textarea[name="comment"]', COMMENT);
  await Promise.all([
    page.waitForURL((url) => url.pathname === `${BASE}/discussions/1` && url.hash.length > 1),
    page.click('form.comment-form button:has-text("Comment")'),
  ]);
  const comments = page.locator("li.event.comment .comment-body");
  assert.equal(await comments.count(), 2);
  const text = await comments.nth(1).innerText();
  assert.ok(text.includes(`<script>${RUN}</script>`), text);
  assert.equal(await comments.nth(1).locator("a[href]").count(), 0, "a javascript: link became a link");
  const anchor = new URL(page.url()).hash.slice(1);
  assert.equal(await page.locator(`li.event[id="${anchor}"] .comment-body`).innerText(), text);
  await assertNothingRan(page);
});

test("an anonymous visitor reads the discussion but gets no form", async () => {
  const context = await newContext(browser, kura);
  try {
    const page = await context.newPage();
    watch(page);
    await page.goto(`${BASE}/discussions/1`);
    assert.equal(await page.locator("li.event.comment").count(), 2);
    assert.equal(await page.locator("form.comment-form").count(), 0);
    assert.match(await page.locator("p.sign-in a").getAttribute("href"), /^\/login\?next=/);
    await assertNothingRan(page);
  } finally {
    await context.close();
  }
});

test("bob closes his discussion and the listing filters follow", async () => {
  const page = pages.bob;
  await Promise.all([
    page.waitForURL((url) => url.pathname === `${BASE}/discussions/1`),
    page.click('button.status-button:has-text("Close discussion")'),
  ]);
  assert.equal(await page.locator(".discussion-head .badge.status").innerText(), "closed");
  assert.equal(await page.locator("li.event.status-change .badge.status").last().innerText(), "closed");
  assert.equal(await page.locator('button.status-button:has-text("Reopen discussion")').count(), 1);
  await page.goto(`${BASE}/discussions`);
  assert.equal(await page.locator("ul.discussions li").count(), 0, "a closed discussion is listed as open");
  await Promise.all([page.waitForURL(/status=closed/), page.click('nav.statuses a:has-text("Closed")')]);
  const row = page.locator("ul.discussions li");
  assert.equal(await row.count(), 1);
  assert.equal(await row.locator("a.discussion-title").innerText(), TITLE);
  assert.equal(await row.locator(".badge.status").innerText(), "closed");
  assert.equal(await row.locator("a.author").innerText(), "bob");
});

test("alice, the repo's owner, hides bob's comment and its text is gone", async () => {
  const page = pages.alice;
  await page.goto(`${BASE}/discussions/1`);
  assert.equal(await page.locator("form.hide-comment").count(), 2, "the owner may hide both comments");
  await Promise.all([
    page.waitForURL((url) => url.hash.length > 1),
    page.locator("form.hide-comment button").nth(1).click(),
  ]);
  assert.equal(await page.locator("li.event.comment.hidden").count(), 1);
  assert.equal(await page.locator("li.event.comment.hidden .hidden-comment").innerText(), "This comment has been hidden");
  const html = await page.content();
  assert.ok(!html.includes("Also this"), "the hidden comment's text is still in the page");
  await pages.bob.goto(`${BASE}/discussions/1`);
  assert.equal(await pages.bob.locator("form.hide-comment").count(), 0, "bob may not hide comments");
});

/** Opens a pull request through the API and commits `files` to its ref; returns its number. */
async function openPullRequest(title, summary, files) {
  const created = await api("POST", `/api/models/${REPO}/discussions`, JSON.stringify({ title, description: "", pullRequest: true }));
  assert.equal(created.status, 200, created.text);
  const num = created.json().num;
  const lines = [{ key: "header", value: { summary, description: "" } }];
  for (const [path, content] of Object.entries(files)) {
    lines.push({ key: "file", value: { path, content: Buffer.from(content).toString("base64"), encoding: "base64" } });
  }
  const committed = await api(
    "POST",
    `/api/models/${REPO}/commit/${encodeURIComponent(`refs/pr/${num}`)}`,
    lines.map((line) => JSON.stringify(line)).join("\n"),
    "application/x-ndjson",
  );
  assert.equal(committed.status, 200, committed.text);
  return num;
}

test("a pull request shows its commit and the diff of refs/pr/N against main, and alice merges it", async () => {
  const num = await openPullRequest("Wider model", "Double the hidden size", { "config.json": CONFIG_V2 });
  const page = pages.alice;
  await page.goto(`${BASE}/discussions?type=pull_request`);
  await Promise.all([
    page.waitForURL(`**${BASE}/discussions/${num}`),
    page.click('ul.discussions a.discussion-title:has-text("Wider model")'),
  ]);
  assert.equal(await page.locator(".discussion-head .badge.pull").count(), 1);
  assert.equal(await page.locator(".discussion-head code.head-ref").innerText(), `refs/pr/${num}`);
  const commit = page.locator("li.event.commit");
  assert.match(await commit.innerText(), /Double the hidden size/);
  assert.match(await commit.locator("a.commit-link").getAttribute("href"), new RegExp(`^${BASE}/commit/[0-9a-f]{40}$`));
  const diff = page.locator("section.pull-files section.file-diff", { has: page.locator("h3", { hasText: "config.json" }) });
  assert.equal(await diff.count(), 1, "no diff of config.json");
  assert.deepEqual(await diff.locator("tr.add td.src").allInnerTexts(), ['+  "hidden_size": 512,']);
  assert.deepEqual(await diff.locator("tr.del td.src").allInnerTexts(), ['-  "hidden_size": 256,']);
  assert.equal(await page.locator("section.pull-files p.notice").count(), 0, "the merge base was not found");
  await Promise.all([
    page.waitForURL((url) => url.pathname === `${BASE}/discussions/${num}`),
    page.click('form.merge-form button:has-text("Merge pull request")'),
  ]);
  assert.equal(await page.locator(".discussion-head .badge.status").innerText(), "merged");
  assert.equal(await page.locator("form.merge-form").count(), 0);
  assert.equal(await page.locator("button.status-button").count(), 0, "a merged pull request cannot be closed");
  // Merged, it still shows what it changed.
  assert.equal(await page.locator("section.pull-files tr.add").count(), 1);
  const raw = await fetch(`${kura.url}/${REPO}/resolve/main/config.json`);
  assert.equal(await raw.text(), CONFIG_V2);
  await assertNothingRan(page);
});

test("after main moved on, a pull request shows only its own changes; only a writer may merge it", async () => {
  const num = await openPullRequest("Add notes", "Add notes", { "notes.md": "# Notes\n" });
  await kura.commit(token, REPO, { "extra.txt": "landed on main meanwhile\n" }, "Add extra");
  for (const [user, forms] of [["alice", 1], ["bob", 0]]) {
    const page = pages[user];
    await page.goto(`${BASE}/discussions/${num}`);
    assert.equal(await page.locator(".discussion-head .badge.status").innerText(), "open");
    const files = await page.locator("section.pull-files section.file-diff h3").allInnerTexts();
    assert.deepEqual(files, ["notes.md"], `${user}: the diff is not from where the pull request left main`);
    assert.deepEqual(await page.locator("section.pull-files tr.add td.src").allInnerTexts(), ["+# Notes"], user);
    assert.equal(await page.locator("form.merge-form").count(), forms, user);
  }
});
