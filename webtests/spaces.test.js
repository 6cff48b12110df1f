// Static Spaces in a real browser: alice's Space page embeds the app from the Space's own host
// (`{subdomain}.localhost`, which chromium resolves to this machine), and the app's script,
// run while alice is signed in to the hub, can neither read nor set the hub's cookies nor call
// its API as alice. The script reports what it tried into its own page, which the test reads.
"use strict";

const assert = require("node:assert/strict");
const { after, before, test } = require("node:test");
const { launchBrowser, newContext, signIn, startKura } = require("./harness");

const SPACE = "alice/snoop_app";
const SUBDOMAIN = "alice-snoop-app";

// Everything a hostile app would try against the hub the visitor is signed in to.
const SNOOP = (hub) => `
(async () => {
  const result = {};
  try { result.cookie = document.cookie; } catch (e) { result.cookie = "blocked:" + e.name; }
  try { document.cookie = "planted=1; path=/"; result.set = document.cookie; } catch (e) { result.set = "blocked:" + e.name; }
  try { result.storage = typeof localStorage.length; } catch (e) { result.storage = "blocked:" + e.name; }
  try {
    const res = await fetch("${hub}/api/whoami-v2", { credentials: "include" });
    result.whoami = res.status + ":" + (await res.text());
  } catch (e) { result.whoami = "failed:" + e.name; }
  try {
    const res = await fetch("${hub}/api/repos/create", {
      method: "POST", credentials: "include", headers: { "content-type": "text/plain" },
      body: JSON.stringify({ name: "planted-by-space", type: "model" }),
    });
    result.create = "status:" + res.status;
  } catch (e) { result.create = "failed:" + e.name; }
  result.variables = JSON.stringify(window.huggingface && window.huggingface.variables);
  document.getElementById("result").textContent = JSON.stringify(result);
})();
`;

let kura;
let browser;
let alice;
let token;

before(async () => {
  kura = await startKura(["alice"]);
  token = kura.token("alice");
  await kura.createRepo(token, SPACE, { type: "space" });
  const page = `<!DOCTYPE html><html><head><title>snoop</title></head>
<body><h1 id="title">snoop app</h1><pre id="result">pending</pre><script src="snoop.js"></script></body></html>`;
  await kura.commit(token, SPACE, { "index.html": page, "snoop.js": SNOOP(kura.url) }, "app", "", "space");
  const res = await fetch(`${kura.url}/api/spaces/${SPACE}/variables`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ key: "GREETING", value: "hi" }),
  });
  assert.equal(res.status, 200, await res.text());
  browser = await launchBrowser();
  alice = await (await newContext(browser, kura)).newPage();
  await signIn(alice, "alice");
});

after(async () => {
  await browser?.close();
  await kura?.stop();
});

function spaceOrigin() {
  return `http://${SUBDOMAIN}.localhost:${kura.port}`;
}

test("the Space page embeds the app from the Space's own host", async () => {
  const info = await (await fetch(`${kura.url}/api/spaces/${SPACE}`)).json();
  assert.equal(info.host, spaceOrigin());
  assert.equal(info.runtime.stage, "RUNNING");
  await alice.goto(`/spaces/${SPACE}`);
  const frame = await alice.waitForSelector("iframe.space-frame");
  assert.equal(await frame.getAttribute("src"), `${spaceOrigin()}/`);
  assert.equal(await frame.getAttribute("sandbox"), "allow-scripts allow-forms allow-popups");
  const app = await frame.contentFrame();
  await app.waitForSelector("#title");
  assert.equal(await app.textContent("#title"), "snoop app");
});

test("the app's script cannot read or set the hub's cookies, nor call its API as the visitor", async () => {
  const app = await (await alice.waitForSelector("iframe.space-frame")).contentFrame();
  await app.waitForFunction(() => document.getElementById("result").textContent !== "pending");
  const result = JSON.parse(await app.textContent("#result"));
  // An opaque origin: no cookie jar and no storage at all.
  assert.match(result.cookie, /^blocked:SecurityError$/);
  assert.match(result.set, /^blocked:SecurityError$/);
  assert.match(result.storage, /^blocked:SecurityError$/);
  // The hub answers an uncredentialed caller, or the browser refuses to show the answer.
  assert.ok(!result.whoami.includes("alice"), result.whoami);
  assert.ok(result.whoami.startsWith("failed:") || result.whoami.startsWith("401:"), result.whoami);
  assert.equal(result.variables, JSON.stringify({ GREETING: "hi" }));
  // Nothing was created as alice, and alice's cookies are only the hub's own.
  const planted = await fetch(`${kura.url}/api/models/alice/planted-by-space`, {
    headers: { authorization: `Bearer ${token}` },
  });
  assert.equal(planted.status, 404);
  const cookies = await alice.context().cookies();
  assert.ok(cookies.length > 0, "alice is signed in");
  for (const cookie of cookies) {
    assert.equal(cookie.domain, "127.0.0.1", JSON.stringify(cookie));
    assert.notEqual(cookie.name, "planted");
  }
  // Alice is still signed in on the hub.
  await alice.goto("/");
  assert.ok(await alice.$('form[action="/logout"]'), "still signed in");
});

test("the Space host answers with the sandbox and serves no hub page", async () => {
  const page = await (await newContext(browser, kura)).newPage();
  const answer = await page.goto(`${spaceOrigin()}/`);
  assert.equal(answer.headers()["content-security-policy"], "sandbox allow-scripts allow-forms allow-popups");
  const login = await page.goto(`${spaceOrigin()}/login`);
  assert.equal(login.status(), 404);
  await page.context().close();
});

test("the app gallery lists Spaces by tag as cards, the most liked first", async () => {
  const apps = [
    ["alice/wave-app", "Wave", "👋", "Waves at you", "blue", 0],
    ["alice/dance-app", "Dance", "💃", "Dances <b>well</b>", "pink", 1],
  ];
  for (const [id, title, emoji, description, color, likes] of apps) {
    await kura.createRepo(token, id, { type: "space" });
    const readme = `---\ntitle: ${title}\nemoji: ${emoji}\ncolorFrom: ${color}\ncolorTo: ${color}\nsdk: static\n` +
      `short_description: ${description}\ntags:\n  - reachy_mini_python_app\n---\n`;
    await kura.commit(token, id, { "README.md": readme, "index.html": "<h1>app</h1>" }, "app", "", "space");
    if (likes) {
      const res = await fetch(`${kura.url}/api/spaces/${id}/like`, { method: "POST", headers: { authorization: `Bearer ${token}` } });
      assert.equal(res.status, 200);
    }
  }
  await alice.goto("/spaces?other=reachy_mini_python_app&sort=likes");
  const cards = await alice.$$eval(".space-card", (items) =>
    items.map((li) => ({
      title: li.querySelector(".space-title").textContent,
      emoji: li.querySelector(".space-emoji").textContent,
      description: li.querySelector(".space-description").textContent,
      likes: li.querySelector(".likes-count").textContent,
      href: li.querySelector("a").getAttribute("href"),
      classes: li.className,
      markup: li.querySelector(".space-description").children.length,
    })),
  );
  assert.deepEqual(cards.map((c) => c.title), ["Dance", "Wave"], "tagged apps only, the most liked first");
  assert.equal(cards[0].emoji, "💃");
  assert.equal(cards[0].description, "Dances <b>well</b>", "the description is text, never markup");
  assert.equal(cards[0].markup, 0);
  assert.equal(cards[0].likes, "♥ 1");
  assert.equal(cards[0].href, "/spaces/alice/dance-app");
  assert.match(cards[0].classes, /from-pink to-pink/);
  const background = await alice.$eval(".space-card", (li) => getComputedStyle(li).backgroundImage);
  assert.match(background, /linear-gradient/);
});
