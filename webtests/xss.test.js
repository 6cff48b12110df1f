// Content a repo owner writes must never run in a visitor's browser: a README card, a Markdown
// file, an HTML file, the raw download and a commit title hold script payloads; none may run.
// Two checks, so either defence failing alone is caught: nothing ran (no dialog, no
// window.__pwned), and the sanitised DOM holds no script, no on* handler and no javascript: link.
"use strict";

const assert = require("node:assert/strict");
const { after, before, test } = require("node:test");
const { launchBrowser, newContext, sleep, startKura } = require("./harness");

const REPO = "alice/xss-lab";
const BASE = `/${REPO}`;
const RUN = "window.__pwned=1;alert(1)";
const PAYLOADS = [
  `<script>${RUN}</script>`,
  `<img src=x onerror="${RUN}">`,
  `<a href="javascript:${RUN}">click me</a>`,
  `<svg onload="${RUN}"><circle r="4"/></svg>`,
  `<iframe src="javascript:${RUN}"></iframe>`,
  `<div style="background:url(javascript:${RUN})" onmouseover="${RUN}">hover</div>`,
].join("\n\n");
const MARKDOWN = `# Card\n\nSome text.\n\n${PAYLOADS}\n\n[md link](javascript:${RUN})\n\n\`\`\`html\n<script>${RUN}</script>\n\`\`\`\n`;
const HTML = `<!doctype html><html><body><h1>page</h1>\n${PAYLOADS}\n<body onload="${RUN}"></body></html>\n`;
const TITLE = `Payloads <img src=x onerror="${RUN}"> <script>${RUN}</script>`;

let kura;
let browser;

before(async () => {
  kura = await startKura(["alice"]);
  const token = kura.token("alice");
  await kura.createRepo(token, REPO);
  const files = {
    "README.md": `---\nlicense: mit\n---\n${MARKDOWN}`,
    "notes.md": MARKDOWN,
    "page.html": HTML,
    "image.svg": `<svg xmlns="http://www.w3.org/2000/svg" onload="${RUN}"><script>${RUN}</script></svg>`,
  };
  await kura.commit(token, REPO, files, TITLE, `<script>${RUN}</script>`);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await kura?.stop();
});

/** Opens `url` in a fresh anonymous page, gives any payload time to fire, and reports what ran. */
async function visit(url) {
  const context = await newContext(browser, kura);
  const page = await context.newPage();
  const dialogs = [];
  page.on("dialog", async (dialog) => {
    dialogs.push(dialog.message());
    await dialog.dismiss();
  });
  try {
    let status = null;
    try {
      status = (await page.goto(url)).status();
    } catch (error) {
      // A download instead of a rendered page is safe: nothing of it runs in the origin.
      if (!/Download is starting/.test(String(error))) throw error;
      return { status: "download", dialogs, pwned: false, dom: [] };
    }
    await page.mouse.move(200, 300);
    await page.locator("body").hover().catch(() => {});
    await sleep(300);
    const pwned = await page.evaluate(() => window.__pwned === 1);
    const dom = await page.evaluate(() => {
      const found = [];
      for (const el of document.querySelectorAll("*")) {
        for (const attr of el.attributes) {
          if (/^on/i.test(attr.name)) found.push(`${el.tagName} ${attr.name}`);
          if (/^\s*javascript:/i.test(attr.value)) found.push(`${el.tagName} ${attr.name}=${attr.value}`);
        }
        if (el.tagName === "SCRIPT" && !/^\/_kura\/assets\//.test(el.getAttribute("src") || "")) {
          found.push(`SCRIPT ${el.getAttribute("src") || el.textContent.slice(0, 40)}`);
        }
        if (el.tagName === "IFRAME") found.push("IFRAME");
      }
      return found;
    });
    return { status, dialogs, pwned, dom };
  } finally {
    await context.close();
  }
}

function assertSafe(url, result, { page = true } = {}) {
  assert.deepEqual(result.dialogs, [], `${url}: a payload opened a dialog`);
  assert.equal(result.pwned, false, `${url}: a payload set window.__pwned`);
  if (page) assert.deepEqual(result.dom, [], `${url}: unsafe markup reached the page`);
}

test("the repo page renders the card without running its scripts", async () => {
  const result = await visit(BASE);
  assert.equal(result.status, 200);
  assertSafe(BASE, result);
});

for (const file of ["README.md", "notes.md", "page.html", "image.svg"]) {
  test(`the blob page of ${file} runs none of its scripts`, async () => {
    const url = `${BASE}/blob/main/${file}`;
    const result = await visit(url);
    assert.equal(result.status, 200);
    assertSafe(url, result);
  });
}

for (const file of ["page.html", "image.svg", "notes.md"]) {
  test(`the raw file ${file} does not run in the hub's origin`, async () => {
    const url = `${BASE}/resolve/main/${file}`;
    const result = await visit(url);
    // The raw bytes are the user's own: only that they don't run matters here.
    assertSafe(url, result, { page: false });
  });
}

test("the commit title and description are text in history and commit pages", async () => {
  for (const url of [`${BASE}/commits/main`, BASE]) {
    const result = await visit(url);
    assert.equal(result.status, 200, url);
    assertSafe(url, result);
  }
  const context = await newContext(browser, kura);
  try {
    const page = await context.newPage();
    await page.goto(`${BASE}/commits/main`);
    const href = await page.locator("ul.commits a.commit-title").first().getAttribute("href");
    assert.ok(href, "no commit link in the history");
    const result = await visit(href);
    assert.equal(result.status, 200, href);
    assertSafe(href, result);
  } finally {
    await context.close();
  }
});
