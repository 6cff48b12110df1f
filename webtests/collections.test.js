// Collections in a real browser: alice creates one from her profile, adds a public model, her
// private model with a note holding Markdown and script payloads (the note renders as
// Markdown, the payloads as text that never runs) and a dataset, reorders, edits the note and
// the settings (the old slug still finds it) and removes an item; bob, signed in, and an
// anonymous visitor see the public collection without the private item and without a form,
// and the 404 page for her private collection; bob's posts with his own CSRF token are
// refused by the core. The steps share one server and run in order.
"use strict";

const assert = require("node:assert/strict");
const { after, before, test } = require("node:test");
const { launchBrowser, newContext, signIn, sleep, startKura } = require("./harness");

const PUBLIC_MODEL = "alice/public-model";
const PRIVATE_MODEL = "alice/secret-model";
const DATASET = "alice/some-data";
const RUN = "window.__pwned=1;alert(1)";
const NOTE = `Trained on **secret** data, see [the card](https://example.org/card).\n\n<script>${RUN}</script>\n\n<img src=x onerror="${RUN}">`;
const SLUG_TAIL = /^[0-9a-f]{24}$/;

let kura;
let browser;
let token;
let bobToken;
const pages = {};
/** The public collection's URL path under its first title, then under its current one. */
let firstPath;
let publicPath;
let privatePath;

before(async () => {
  kura = await startKura(["alice", "bob"]);
  token = kura.token("alice");
  bobToken = kura.token("bob", "read");
  await kura.createRepo(token, PUBLIC_MODEL);
  await kura.createRepo(token, PRIVATE_MODEL, { isPrivate: true });
  await kura.createRepo(token, DATASET, { type: "dataset" });
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

/** Records dialogs (dismissed) and console errors (CSP violations among them) of `page`. */
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

/** Forgets the console's report of the one 404 page `page` was expected to get. */
function forget404(page) {
  const at = page.errors.findIndex((error) => /status of 404/.test(error));
  assert.notEqual(at, -1, "the 404 was not reported");
  page.errors.splice(at, 1);
}

/** Nothing ran on `page`; its DOM holds no script but kura's own and no event handler. */
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

/** The API's answer for `path`, as `who` (a token, or anonymous). */
async function api(path, who) {
  const headers = who ? { authorization: `Bearer ${who}` } : {};
  const res = await fetch(`${kura.url}${path}`, { headers });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/** `/collections/{ns}/{slug}` of a page URL, as the API names it. */
const slugOf = (path) => path.replace(/^\/collections\//, "");

/** The items a page shows, in order: [kind, label, private]. */
async function shownItems(page) {
  return page.locator("ol.collection-items > li").evaluateAll((items) =>
    items.map((li) => [
      li.querySelector(".badge.kind").textContent,
      li.querySelector("a.item-link").textContent,
      li.querySelector(".badge.private") !== null,
    ]),
  );
}

/** Submits the form of `button` and waits for the page the post redirects to. */
async function submit(page, button) {
  const [response] = await Promise.all([page.waitForNavigation(), button.click()]);
  return response;
}

/** Adds an item through the add form. */
async function addItem(page, type, id, note = "") {
  const form = page.locator("form.add-item-form");
  await form.locator('select[name="type"]').selectOption(type);
  await form.locator('input[name="id"]').fill(id);
  await form.locator('textarea[name="note"]').fill(note);
  return submit(page, form.locator('button:has-text("Add to collection")'));
}

/** The item `label` of the collection page. */
const itemOf = (page, label) => page.locator("ol.collection-items > li", { has: page.locator(`a.item-link:text-is("${label}")`) });

test("alice's profile leads to her (empty) collections and the creation form", async () => {
  const page = pages.alice;
  await page.goto("/alice");
  await submit(page, page.locator("a.collections-link"));
  assert.equal(new URL(page.url()).pathname, "/collections/alice");
  assert.match(await page.locator("p.empty").innerText(), /No collections/);
  await submit(page, page.locator("a.new-collection"));
  assert.equal(new URL(page.url()).pathname, "/collections/alice/new");
});

test("alice creates a public collection through the form", async () => {
  const page = pages.alice;
  await page.fill('input[name="title"]', "Best models");
  await page.fill('textarea[name="description"]', "The ones <b>worth</b> a look");
  await page.selectOption('select[name="visibility"]', "public");
  const response = await submit(page, page.locator('button:has-text("Create collection")'));
  assert.equal(response.status(), 200);
  firstPath = new URL(page.url()).pathname;
  publicPath = firstPath;
  const match = firstPath.match(/^\/collections\/alice\/best-models-(.{24})$/);
  assert.ok(match && SLUG_TAIL.test(match[1]), `unexpected collection URL ${firstPath}`);
  assert.equal(await page.locator("h1 .collection-title").innerText(), "Best models");
  assert.equal(await page.locator(".collection-description").innerText(), "The ones <b>worth</b> a look");
  assert.equal(await page.locator(".collection-head .badge.private").count(), 0);
  assert.equal(await page.locator(".collection-head .count").innerText(), "0 items");
  const { status, body } = await api(`/api/collections/${slugOf(firstPath)}`);
  assert.equal(status, 200);
  assert.equal(body.title, "Best models");
  assert.equal(body.description, "The ones <b>worth</b> a look");
  assert.equal(body.private, false);
  assert.equal(body.owner.name, "alice");
  assert.deepEqual(body.items, []);
  await assertNothingRan(page);
});

test("alice adds a public model, her private model with a note, and a dataset", async () => {
  const page = pages.alice;
  await addItem(page, "model", PUBLIC_MODEL);
  await addItem(page, "model", PRIVATE_MODEL, NOTE);
  await addItem(page, "dataset", DATASET, "Cleaned *by hand*");
  assert.deepEqual(await shownItems(page), [
    ["model", PUBLIC_MODEL, false],
    ["model", PRIVATE_MODEL, true],
    ["dataset", DATASET, false],
  ]);
  assert.equal(await itemOf(page, PRIVATE_MODEL).locator("a.item-link").getAttribute("href"), `/${PRIVATE_MODEL}`);
  assert.equal(await itemOf(page, DATASET).locator("a.item-link").getAttribute("href"), `/datasets/${DATASET}`);
  const note = itemOf(page, PRIVATE_MODEL).locator(".note");
  assert.equal(await note.locator("strong").innerText(), "secret");
  assert.equal(await note.locator('a[href="https://example.org/card"]').innerText(), "the card");
  assert.equal(await note.locator("script, img, [onerror]").count(), 0, "the note's raw HTML became markup");
  const text = await note.innerText();
  assert.ok(text.includes(`<script>${RUN}</script>`), `the script is not shown as text: ${text}`);
  assert.ok(text.includes(`<img src=x onerror="${RUN}">`), `the image is not shown as text: ${text}`);
  assert.equal(await itemOf(page, DATASET).locator(".note em").innerText(), "by hand");
  assert.equal(await itemOf(page, PUBLIC_MODEL).locator(".note").count(), 0);
  await assertNothingRan(page);
  const { body } = await api(`/api/collections/${slugOf(publicPath)}`, token);
  assert.deepEqual(
    body.items.map((item) => [item.type, item.id, item.position, item.note?.text ?? null]),
    [
      ["model", PUBLIC_MODEL, 0, null],
      ["model", PRIVATE_MODEL, 1, NOTE],
      ["dataset", DATASET, 2, "Cleaned *by hand*"],
    ],
  );
});

test("an item nobody may see, or that does not exist, is refused on the page with what was typed", async () => {
  const page = pages.alice;
  const response = await addItem(page, "model", "alice/nothing-here", "kept note");
  assert.equal(response.status(), 404);
  forget404(page);
  assert.equal(await page.locator("p.error-text").innerText(), "There is no model 'alice/nothing-here' that you may see.");
  assert.equal(await page.locator('form.add-item-form input[name="id"]').inputValue(), "alice/nothing-here");
  assert.equal(await page.locator('form.add-item-form textarea[name="note"]').inputValue(), "kept note");
  assert.equal((await shownItems(page)).length, 3);
});

test("alice reorders the items", async () => {
  const page = pages.alice;
  const ids = Object.fromEntries(
    (await api(`/api/collections/${slugOf(publicPath)}`, token)).body.items.map((item) => [item.id, item._id]),
  );
  await page.goto(publicPath);
  assert.equal(await itemOf(page, PUBLIC_MODEL).locator("button.move-up").isDisabled(), true);
  assert.equal(await itemOf(page, DATASET).locator("button.move-down").isDisabled(), true);
  await submit(page, itemOf(page, DATASET).locator("button.move-up"));
  assert.equal(new URL(page.url()).hash, `#item-${ids[DATASET]}`);
  assert.deepEqual((await shownItems(page)).map((item) => item[1]), [PUBLIC_MODEL, DATASET, PRIVATE_MODEL]);
  await submit(page, itemOf(page, PUBLIC_MODEL).locator("button.move-down"));
  assert.equal(new URL(page.url()).hash, `#item-${ids[PUBLIC_MODEL]}`);
  assert.deepEqual((await shownItems(page)).map((item) => item[1]), [DATASET, PUBLIC_MODEL, PRIVATE_MODEL]);
  const { body } = await api(`/api/collections/${slugOf(publicPath)}`, token);
  assert.deepEqual(body.items.map((item) => [item.id, item.position]), [[DATASET, 0], [PUBLIC_MODEL, 1], [PRIVATE_MODEL, 2]]);
});

test("alice edits a note and the settings; the old slug still shows the collection", async () => {
  const page = pages.alice;
  const item = itemOf(page, PUBLIC_MODEL);
  await item.locator("details.edit-note summary").click();
  await item.locator('textarea[name="note"]').fill("A **solid** baseline");
  await submit(page, item.locator('button:has-text("Save note")'));
  assert.equal(await itemOf(page, PUBLIC_MODEL).locator(".note strong").innerText(), "solid");
  const settings = page.locator("form.settings-form");
  await settings.locator('input[name="title"]').fill("Models worth a look");
  await settings.locator('textarea[name="description"]').fill("Picked by alice");
  await submit(page, settings.locator('button:has-text("Save settings")'));
  publicPath = new URL(page.url()).pathname;
  assert.notEqual(publicPath, firstPath);
  assert.equal(publicPath.slice(-24), firstPath.slice(-24), "the id stays");
  assert.match(publicPath, /^\/collections\/alice\/models-worth-a-look-[0-9a-f]{24}$/);
  assert.equal(await page.locator("h1 .collection-title").innerText(), "Models worth a look");
  assert.equal(await page.locator(".collection-description").innerText(), "Picked by alice");
  await page.goto(firstPath);
  assert.equal(await page.locator("h1 .collection-title").innerText(), "Models worth a look");
  assert.equal(await page.locator("form.settings-form").getAttribute("action"), `${publicPath}/settings`);
  const { body } = await api(`/api/collections/${slugOf(publicPath)}`, token);
  assert.equal(body.title, "Models worth a look");
  assert.equal(body.description, "Picked by alice");
  assert.equal(body.items.find((i) => i.id === PUBLIC_MODEL).note.text, "A **solid** baseline");
  await assertNothingRan(page);
});

test("alice creates a private collection and removes an item from it", async () => {
  const page = pages.alice;
  await page.goto("/collections/alice/new");
  await page.fill('input[name="title"]', "Drafts");
  await page.selectOption('select[name="visibility"]', "private");
  await submit(page, page.locator('button:has-text("Create collection")'));
  privatePath = new URL(page.url()).pathname;
  assert.match(privatePath, /^\/collections\/alice\/drafts-[0-9a-f]{24}$/);
  assert.equal(await page.locator(".collection-head .badge.private").innerText(), "private");
  await addItem(page, "model", PUBLIC_MODEL);
  await addItem(page, "dataset", DATASET);
  await submit(page, itemOf(page, PUBLIC_MODEL).locator('form.remove-item button'));
  assert.deepEqual(await shownItems(page), [["dataset", DATASET, false]]);
  await page.goto("/collections/alice");
  const titles = await page.locator("ul.collections a.collection-title").allInnerTexts();
  assert.deepEqual(titles.sort(), ["Drafts", "Models worth a look"]);
  assert.equal(await page.locator("li.collection-row", { hasText: "Drafts" }).locator(".badge.private").count(), 1);
  const preview = page.locator("li.collection-row", { hasText: "Models worth a look" }).locator("ul.preview li");
  assert.deepEqual(await preview.locator("a").allInnerTexts(), [DATASET, PUBLIC_MODEL, PRIVATE_MODEL]);
  assert.equal(await preview.nth(2).locator(".badge.private").innerText(), "private");
});

/** What bob and an anonymous visitor see alike. */
async function assertReaderView(page) {
  const response = await page.goto(publicPath);
  assert.equal(response.status(), 200);
  assert.equal(await page.locator("h1 .collection-title").innerText(), "Models worth a look");
  assert.deepEqual(await shownItems(page), [
    ["dataset", DATASET, false],
    ["model", PUBLIC_MODEL, false],
  ]);
  assert.equal(await page.locator(".collection-head .count").innerText(), "2 items");
  assert.ok(!(await page.content()).includes("secret"), "the private item shows through");
  assert.equal(await page.locator("main form").count(), 0, "a reader got a form");
  assert.equal(await itemOf(page, PUBLIC_MODEL).locator(".note strong").innerText(), "solid");
  await page.goto("/collections/alice");
  assert.deepEqual(await page.locator("ul.collections a.collection-title").allInnerTexts(), ["Models worth a look"]);
  assert.deepEqual(await page.locator("ul.preview a").allInnerTexts(), [DATASET, PUBLIC_MODEL]);
  assert.equal(await page.locator("a.new-collection").count(), 0);
  const missing = await page.goto(privatePath);
  assert.equal(missing.status(), 404);
  forget404(page);
  assert.match(await page.locator("main h1").innerText(), /^404/);
  assert.ok(!(await page.content()).includes("Drafts"));
  await assertNothingRan(page);
}

test("bob sees the public collection without the private item and without forms", async () => {
  await assertReaderView(pages.bob);
  const asBob = await api(`/api/collections/${slugOf(publicPath)}`, bobToken);
  assert.deepEqual(asBob.body.items.map((item) => [item.id, item.position]), [[DATASET, 0], [PUBLIC_MODEL, 1]]);
  assert.equal((await api(`/api/collections/${slugOf(privatePath)}`, bobToken)).status, 404);
});

test("bob's own posts to alice's collections are refused by the core", async () => {
  const page = pages.bob;
  await page.goto("/collections/bob/new");
  const csrf = await page.locator('input[name="csrf"]').first().inputValue();
  const post = (path, form) => page.request.post(path, { form: { csrf, ...form }, maxRedirects: 0 });
  const denied = await post(`${publicPath}/delete`, { confirm: "Models worth a look" });
  assert.equal(denied.status(), 403);
  const hidden = await post(`${privatePath}/delete`, { confirm: "Drafts" });
  assert.equal(hidden.status(), 404);
  const noToken = await page.request.post(`${publicPath}/settings`, { form: { title: "bob was here" }, maxRedirects: 0 });
  assert.equal(noToken.status(), 403);
  const { body } = await api(`/api/collections/${slugOf(publicPath)}`);
  assert.equal(body.title, "Models worth a look");
  assert.equal((await api(`/api/collections/${slugOf(privatePath)}`, token)).status, 200);
});

test("an anonymous visitor sees what bob sees", async () => {
  const context = await newContext(browser, kura);
  try {
    const page = await context.newPage();
    watch(page);
    await assertReaderView(page);
    const form = await page.request.post(`${publicPath}/delete`, { form: { confirm: "x" }, maxRedirects: 0 });
    assert.equal(form.status(), 303);
    assert.match(form.headers().location, /^\/login\?next=/);
  } finally {
    await context.close();
  }
});

test("alice deletes her private collection after typing its title", async () => {
  const page = pages.alice;
  await page.goto(privatePath);
  const form = page.locator("form.delete-collection");
  assert.equal(await form.locator("button").isDisabled(), true, "the button waits for the title");
  await form.locator('input[name="confirm"]').fill("Drafts");
  await submit(page, form.locator("button"));
  assert.equal(new URL(page.url()).pathname, "/collections/alice");
  assert.deepEqual(await page.locator("ul.collections a.collection-title").allInnerTexts(), ["Models worth a look"]);
  assert.equal((await api(`/api/collections/${slugOf(privatePath)}`, token)).status, 404);
  await assertNothingRan(page);
});
