// Likes in a real browser: bob likes alice's model from its page, the count and the button
// follow, the API agrees, an anonymous visitor sees the count without a button, and bob
// stops liking it. The steps share one server and run in order.
"use strict";

const assert = require("node:assert/strict");
const { after, before, test } = require("node:test");
const { launchBrowser, newContext, signIn, startKura } = require("./harness");

const REPO = "alice/liked-model";
const BASE = `/${REPO}`;

let kura;
let browser;
let bob;

before(async () => {
  kura = await startKura(["alice", "bob"]);
  await kura.createRepo(kura.token("alice"), REPO);
  browser = await launchBrowser();
  bob = await (await newContext(browser, kura)).newPage();
  await signIn(bob, "bob");
});

after(async () => {
  await browser?.close();
  await kura?.stop();
});

async function likesInApi() {
  const res = await fetch(`${kura.url}/api/models/${REPO}`);
  return (await res.json()).likes;
}

test("bob likes the model from its page and the count follows", async () => {
  await bob.goto(`${kura.url}${BASE}`);
  assert.equal((await bob.textContent(".repo-header .likes")).trim(), "0");
  await Promise.all([bob.waitForNavigation(), bob.click(".repo-header .like-button")]);
  assert.equal(new URL(bob.url()).pathname, BASE, "back on the repo page");
  assert.equal((await bob.textContent(".repo-header .likes")).trim(), "1");
  assert.match(await bob.textContent(".repo-header .like-button"), /Unlike/);
  assert.equal(await bob.getAttribute(".repo-header .like-button", "aria-pressed"), "true");
  assert.equal(await likesInApi(), 1);
});

test("an anonymous visitor sees the count but no button", async () => {
  const page = await (await newContext(browser, kura)).newPage();
  await page.goto(`${kura.url}${BASE}`);
  assert.match(await page.textContent(".repo-header .likes"), /1/);
  assert.equal(await page.$(".repo-header .like-button"), null);
  await page.context().close();
});

test("bob stops liking it", async () => {
  await Promise.all([bob.waitForNavigation(), bob.click(".repo-header .like-button")]);
  assert.equal((await bob.textContent(".repo-header .likes")).trim(), "0");
  assert.match(await bob.textContent(".repo-header .like-button"), /Like/);
  assert.equal(await likesInApi(), 0);
});
