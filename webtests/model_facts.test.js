// What the hub learned about a model, as a visitor's browser shows it: the facts panel beside
// the card (parameters, library, task), the warning that names a malicious pickle, the file's
// imports on its page (one import name is a script payload: it must show as text and never
// run), and the library filter of the listing reached from the panel's link.
"use strict";

const assert = require("node:assert/strict");
const { after, before, test } = require("node:test");
const { launchBrowser, newContext, sleep, startKura } = require("./harness");

const REPO = "alice/facts";
const RUN = "window.__pwned=1;alert(1)";
const PAYLOAD = `<img src=x onerror="${RUN}">`;

/** A safetensors file of zero-filled F32 tensors (`shapes`: name -> dims). */
function safetensors(shapes) {
  const header = { __metadata__: { format: "pt" } };
  let offset = 0;
  for (const [name, shape] of Object.entries(shapes)) {
    const len = shape.reduce((a, b) => a * b, 1) * 4;
    header[name] = { dtype: "F32", shape, data_offsets: [offset, offset + len] };
    offset += len;
  }
  const json = Buffer.from(JSON.stringify(header), "utf8");
  const size = Buffer.alloc(8);
  size.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([size, json, Buffer.alloc(offset)]);
}

/** A protocol-2 pickle calling `module.name()` on load (GLOBAL, EMPTY_TUPLE, REDUCE). */
function pickle(module, name) {
  return Buffer.concat([Buffer.from([0x80, 0x02]), Buffer.from(`c${module}\n${name}\n`, "utf8"), Buffer.from(")R.")]);
}

let kura;
let browser;

before(async () => {
  kura = await startKura(["alice"]);
  const token = kura.token("alice");
  await kura.createRepo(token, REPO);
  await kura.commit(token, REPO, {
    "README.md": "---\nlibrary_name: transformers\npipeline_tag: text-generation\nlicense: mit\n---\n# Facts\n",
    "model.safetensors": safetensors({ w: [1000, 1500], b: [1500] }),
    "weights/evil.pkl": pickle("os", "system"),
    "weights/payload.pkl": pickle(PAYLOAD, "run"),
  });
  await kura.createRepo(token, "alice/other");
  await kura.commit(token, "alice/other", { "README.md": "---\nlibrary_name: diffusers\n---\n# Other\n" });
  // The indexer runs off the request path: wait until the head of each repo is scanned.
  for (const repo of [REPO, "alice/other"]) {
    for (let i = 0; ; i++) {
      const res = await fetch(`${kura.url}/api/models/${repo}?securityStatus=true`, {
        headers: { authorization: `Bearer ${token}` },
      });
      const info = await res.json();
      if (info.securityRepoStatus?.scansDone) break;
      if (i > 200) throw new Error(`${repo} was not indexed: ${JSON.stringify(info)}`);
      await sleep(50);
    }
  }
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await kura?.stop();
});

test("the facts panel, the pickle warning and imports, and the library filter", async () => {
  const context = await newContext(browser, kura);
  const page = await context.newPage();
  const problems = [];
  page.on("dialog", async (dialog) => {
    problems.push(`dialog: ${dialog.message()}`);
    await dialog.dismiss();
  });
  page.on("console", (msg) => msg.type() === "error" && problems.push(`console: ${msg.text()}`));

  await page.goto(`/${REPO}`);
  assert.equal((await page.textContent("dd.parameters")).trim(), "1.5M params");
  assert.match(await page.textContent("dd.dtypes"), /F32 · 1\.5M/);
  assert.equal((await page.textContent("dd.task")).trim(), "text-generation");
  assert.match(await page.textContent("dd.formats"), /Safetensors/);
  assert.equal(await page.locator(".indexing").count(), 0, "indexed: no pending note");
  const warning = page.locator(".scan-warning.unsafe");
  assert.equal(await warning.getAttribute("role"), "alert");
  const flagged = await warning.locator("ul.flagged a").allTextContents();
  assert.deepEqual(flagged, ["weights/evil.pkl", "weights/payload.pkl"]);

  await Promise.all([page.waitForURL(/\/blob\/main\/weights\/payload\.pkl$/), warning.locator("a", { hasText: "payload.pkl" }).click()]);
  const row = page.locator("table.imports tbody tr");
  assert.equal(await row.count(), 1);
  assert.equal(await row.locator("td").first().textContent(), PAYLOAD, "the import name is shown as text");
  assert.equal(await page.locator("table.imports img").count(), 0, "and never as markup");

  await page.goto(`/${REPO}/blob/main/weights/evil.pkl`);
  assert.equal(await row.getAttribute("class"), "dangerous");
  assert.deepEqual(await row.locator("td").allTextContents(), ["os", "system", "dangerous"]);
  const colour = await row.locator(".safety").evaluate((el) => getComputedStyle(el).color);
  assert.notEqual(colour, await page.locator("body").evaluate((el) => getComputedStyle(el).color), "dangerous is highlighted");

  await page.goto(`/${REPO}/tree/main/weights`);
  assert.equal(await page.locator("tr.file .badge.scan").count(), 2, "both pickles are flagged");
  assert.equal(await page.locator("tr.file .badge.scan.unsafe").count(), 1, "os.system is unsafe");

  await page.goto(`/${REPO}`);
  await Promise.all([page.waitForURL(/\/models\?library=transformers$/), page.click("dd.library a")]);
  assert.deepEqual(await page.locator(".repo-id").allTextContents(), [REPO]);
  assert.equal(await page.inputValue('input[name="library"]'), "transformers");
  await Promise.all([page.waitForURL((url) => !url.search.includes("library=")), page.click(".filter-chips a.remove")]);
  assert.deepEqual((await page.locator(".repo-id").allTextContents()).sort(), ["alice/facts", "alice/other"]);

  await sleep(200);
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  assert.deepEqual(problems, []);
  await context.close();
});
