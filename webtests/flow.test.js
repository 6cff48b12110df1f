// The main path a person takes, in a real browser: sign in, create a repo, upload a file
// through the form, browse it (tree, blob, history, commit diff) and make the repo private.
// The steps share one server and one signed-in page, and run in order.
"use strict";

const assert = require("node:assert/strict");
const { after, before, test } = require("node:test");
const { launchBrowser, newContext, signIn, startKura } = require("./harness");

const REPO = "alice/web-demo";
const BASE = `/${REPO}`;
const HELLO = 'def hello(name):\n    """Greets someone."""\n    return f"hello {name}"\n\n\nprint(hello("kura"))\n';

let kura;
let browser;
let context;
let page;

before(async () => {
  kura = await startKura(["alice"]);
  browser = await launchBrowser();
  context = await newContext(browser, kura);
  page = await context.newPage();
});

after(async () => {
  await browser?.close();
  await kura?.stop();
});

test("a wrong password shows the login page again with an error", async () => {
  await page.goto("/login");
  await page.fill('input[name="username"]', "alice");
  await page.fill('input[name="password"]', "not the password at all");
  const [response] = await Promise.all([page.waitForNavigation(), page.click('button:has-text("Sign in")')]);
  assert.ok(response.status() >= 400 && response.status() < 500, `status ${response.status()}`);
  assert.equal(await page.locator("a.user").count(), 0);
  assert.match(await page.locator('[role="alert"]').innerText(), /\S/);
});

test("signing in through the login page shows the user in the header", async () => {
  await signIn(page);
  assert.equal(new URL(page.url()).pathname, "/");
  assert.equal((await page.locator("header a.user").innerText()).trim(), "alice");
  const cookies = await context.cookies();
  assert.ok(cookies.some((cookie) => cookie.name === "kura_session" && cookie.httpOnly), "no HttpOnly session cookie");
});

test("creating a repo through /new leads to its page", async () => {
  await page.goto("/new");
  await page.selectOption('select[name="type"]', "model");
  await page.selectOption('select[name="owner"]', "alice");
  await page.fill('input[name="name"]', "web-demo");
  await page.selectOption('select[name="visibility"]', "public");
  await Promise.all([page.waitForURL(`**${BASE}`), page.click('button:has-text("Create repository")')]);
  assert.match(await page.locator("h1").first().innerText(), /web-demo/);
});

test("uploading a file through the upload page commits it and shows it in the tree", async () => {
  await page.goto(`${BASE}/upload/main`);
  await page.setInputFiles('input[type="file"][name="files"]', [
    { name: "hello.py", mimeType: "text/x-python", buffer: Buffer.from(HELLO) },
  ]);
  await page.fill('input[name="summary"]', "Add the greeting script");
  await Promise.all([page.waitForURL(`**${BASE}/tree/main**`), page.click('button:has-text("Commit changes")')]);
  const entry = page.locator("table.files a.entry", { hasText: "hello.py" });
  assert.equal(await entry.count(), 1, "hello.py is not in the tree");
  assert.equal(await entry.getAttribute("href"), `${BASE}/blob/main/hello.py`);
});

test("opening the file from the tree shows its content", async () => {
  await page.goto(`${BASE}/tree/main`);
  await Promise.all([
    page.waitForURL(`**${BASE}/blob/main/hello.py`),
    page.click('table.files a.entry:has-text("hello.py")'),
  ]);
  const code = await page.locator("div.code").innerText();
  assert.match(code, /def hello\(name\):/);
  assert.match(code, /print\(hello\("kura"\)\)/);
  assert.ok((await page.locator("div.code td.src").count()) >= 6, "fewer source lines than the file has");
  assert.match(await page.locator(".crumbs").innerText(), /hello\.py/);
  assert.equal(await page.locator("a.raw").getAttribute("href"), `${BASE}/resolve/main/hello.py`);
});

test("the commit is in the history and its page shows the diff", async () => {
  await page.goto(`${BASE}/commits/main`);
  const title = page.locator("ul.commits li a.commit-title", { hasText: "Add the greeting script" });
  assert.equal(await title.count(), 1, "the upload's commit is not in the history");
  await Promise.all([page.waitForURL(`**${BASE}/commit/**`), title.click()]);
  assert.equal((await page.locator("h1").last().innerText()).trim(), "Add the greeting script");
  const diff = page.locator("section.file-diff", { has: page.locator("h3", { hasText: "hello.py" }) });
  assert.equal(await diff.count(), 1, "no diff section for hello.py");
  const added = await diff.locator("table.diff tr.add").allInnerTexts();
  assert.ok(added.some((line) => line.includes("def hello(name):")), `added lines: ${added.join(" | ")}`);
  assert.equal(await diff.locator("table.diff tr.del").count(), 0);
});

test("a token made on the tokens page works on the API until it is revoked", async () => {
  await page.goto("/settings/tokens");
  await page.fill('input[name="name"]', "laptop");
  await page.selectOption('select[name="role"]', "read");
  await Promise.all([page.waitForNavigation(), page.click('button:has-text("Create token")')]);
  const token = (await page.locator("code.new-token").innerText()).trim();
  assert.match(token, /^hf_\S+$/);
  const whoami = () => fetch(`${kura.url}/api/whoami-v2`, { headers: { authorization: `Bearer ${token}` } });
  const me = await whoami();
  assert.equal(me.status, 200);
  assert.equal((await me.json()).name, "alice");

  await page.goto("/settings/tokens");
  const row = page.locator("table.tokens tr", { has: page.locator("td.name", { hasText: "laptop" }) });
  assert.equal(await row.count(), 1, "the new token is not listed");
  assert.doesNotMatch(await page.content(), new RegExp(token), "the token is shown again");
  await Promise.all([page.waitForNavigation(), row.locator('button:has-text("Revoke")').click()]);
  assert.equal(await page.locator("table.tokens td.name", { hasText: "laptop" }).count(), 0);
  assert.equal((await whoami()).status, 401, "a revoked token still works");
});

test("making the repo private in settings hides it from anonymous visitors", async () => {
  const anonymous = await newContext(browser, kura);
  try {
    const visitor = await anonymous.newPage();
    assert.equal((await visitor.goto(BASE)).status(), 200, "public repo not visible before the change");

    await page.goto(`${BASE}/settings`);
    await page.selectOption('select[name="visibility"]', "private");
    await Promise.all([page.waitForNavigation(), page.click('button:has-text("Update visibility")')]);
    assert.equal((await page.goto(BASE)).status(), 200, "the owner lost the repo");
    assert.equal(await page.locator(".repo-header .badge.private").count(), 1, "no private badge");

    const fresh = await newContext(browser, kura);
    try {
      const stranger = await fresh.newPage();
      for (const url of [BASE, `${BASE}/tree/main`, `${BASE}/blob/main/hello.py`]) {
        const response = await stranger.goto(url);
        assert.equal(response.status(), 404, `${url} answered ${response.status()}`);
        assert.doesNotMatch(await stranger.content(), /def hello/);
      }
      assert.equal((await stranger.goto("/alice/no-such-repo")).status(), 404);
      const missing = await stranger.locator("main").innerText();
      await stranger.goto(BASE);
      assert.equal(await stranger.locator("main").innerText(), missing, "a private repo's 404 differs from a missing one's");
    } finally {
      await fresh.close();
    }
  } finally {
    await anonymous.close();
  }
});
