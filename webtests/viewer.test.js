// The dataset viewer as a new user meets it in a real browser: their CSV shows as a table on the
// dataset page, the full viewer pages through it, searches, filters, draws each column's
// histogram, links to a row (the link opens the page with that row marked), and a cell holding a
// script payload shows as text and never runs.
"use strict";

const assert = require("node:assert/strict");
const { after, before, test } = require("node:test");
const { launchBrowser, newContext, sleep, startKura } = require("./harness");

const REPO = "alice/viewer-demo";
const BASE = `/datasets/${REPO}`;
const RUN = "window.__pwned=1";

function csv(rows) {
  const lines = ["id,name,kind"];
  for (let i = 0; i < rows; i++) lines.push(`${i},name ${i},${i % 3 === 0 ? "fruit" : "tool"}`);
  lines.push(`999,"<img src=x onerror=""${RUN}"">",tool`);
  return lines.join("\n") + "\n";
}

let kura;
let browser;
let page;

before(async () => {
  kura = await startKura(["alice"]);
  const token = kura.token("alice");
  await kura.createRepo(token, REPO, { type: "dataset" });
  await kura.commit(token, REPO, { "data/train.csv": csv(250), "data/test.csv": csv(5) }, "data", "", "dataset");
  // The parquet export runs off the request path: wait until the viewer has it.
  for (let i = 0; ; i++) {
    const res = await fetch(`${kura.url}/datasets-server/is-valid?dataset=${REPO}`);
    const valid = await res.json();
    if (valid.viewer) break;
    if (i > 400) throw new Error(`the export of ${REPO} did not finish: ${JSON.stringify(valid)}`);
    await sleep(50);
  }
  browser = await launchBrowser();
  const context = await newContext(browser, kura);
  page = await context.newPage();
});

after(async () => {
  await browser?.close();
  await kura?.stop();
});

test("the dataset page previews the first rows of the CSV as a table", async () => {
  await page.goto(BASE);
  const rows = page.locator("section.dataset-preview table.viewer tbody tr");
  assert.equal(await rows.count(), 10);
  assert.equal((await rows.first().locator("td").nth(2).innerText()).trim(), "name 0");
  const headers = await page.locator("section.dataset-preview table.viewer th .column-name").allInnerTexts();
  assert.deepEqual(headers, ["id", "name", "kind"]);
});

test("the full viewer draws histograms and pages through the split", async () => {
  await page.goto(BASE);
  await Promise.all([page.waitForURL(`**${BASE}/viewer/default/train`), page.click("text=Open the full viewer")]);
  assert.equal(await page.locator("table.viewer svg.histogram").count(), 3);
  assert.ok((await page.locator("table.viewer svg.histogram rect").count()) >= 3);
  assert.match(await page.locator(".viewer-count").innerText(), /251 rows · page 1 of 3/);
  await Promise.all([page.waitForURL("**p=1"), page.click('a[rel="next"]')]);
  assert.equal((await page.locator("table.viewer tbody tr").first().getAttribute("id")), "row-100");
  // The other split is one click away.
  await Promise.all([page.waitForURL(`**${BASE}/viewer/default/test`), page.click('nav.splits a:has-text("test")')]);
  assert.match(await page.locator(".viewer-count").innerText(), /6 rows/);
});

test("a row link opens the page with the row marked", async () => {
  await page.goto(`${BASE}/viewer/default/train?p=1`);
  await Promise.all([page.waitForURL("**row=142**"), page.click('tr#row-142 a')]);
  const marked = page.locator("tr.selected");
  assert.equal(await marked.count(), 1);
  assert.equal(await marked.getAttribute("id"), "row-142");
});

test("search and filter forms narrow the rows", async () => {
  await page.goto(`${BASE}/viewer/default/train`);
  await page.fill('input[name="q"]', "name 42");
  await Promise.all([page.waitForURL("**q=name**"), page.click('form.search button')]);
  assert.match(await page.locator(".viewer-count").innerText(), /^1 rows/);
  await page.goto(`${BASE}/viewer/default/train`);
  await page.fill('input[name="where"]', `"kind" = 'fruit' AND "id" < 30`);
  await page.fill('input[name="orderby"]', `"id" DESC`);
  await Promise.all([page.waitForURL("**where=**"), page.click('form.filter button')]);
  assert.match(await page.locator(".viewer-count").innerText(), /^10 rows/);
  assert.equal(await page.locator("tbody tr").first().getAttribute("id"), "row-27");
});

test("a cell holding markup shows as text and runs nothing", async () => {
  await page.goto(`${BASE}/viewer/default/train?p=2`);
  const cell = page.locator("tr#row-250 td").nth(2);
  assert.equal((await cell.innerText()).trim(), `<img src=x onerror="${RUN}">`);
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
});
