// The browser tests' harness: starts the real `kura` binary on a free port with a temporary
// data directory, creates users through the operator CLI, talks to the HTTP API for fixtures,
// and launches Debian's headless chromium through playwright-core.
//
// Environment:
//   KURA_BIN             the kura executable (default: <repo>/target/release/kura)
//   CHROMIUM             the browser (default: /usr/bin/chromium)
//   KURA_SCREENSHOT_DIR  where screenshots go (default: <repo>/docs/screenshots)
//   KURA_WEBTESTS_KEEP=1 keep the temporary directory (data dir, server log)
"use strict";

const { spawn, spawnSync } = require("node:child_process");
const fs = require("node:fs");
const net = require("node:net");
const os = require("node:os");
const path = require("node:path");
const { chromium } = require("playwright-core");

const ROOT = path.resolve(__dirname, "..");
const PASSWORD = "correct horse battery staple";
const HEALTH_TIMEOUT_MS = 20_000;

function kuraBin() {
  const bin = path.resolve(ROOT, process.env.KURA_BIN || "target/release/kura");
  if (!fs.existsSync(bin)) {
    throw new Error(`kura binary not found at ${bin}: cargo build --release -p kura, or set KURA_BIN`);
  }
  return bin;
}

function chromiumPath() {
  const browser = process.env.CHROMIUM || "/usr/bin/chromium";
  if (!fs.existsSync(browser)) {
    throw new Error(`no browser at ${browser}: apt-get install chromium, or set CHROMIUM`);
  }
  return browser;
}

/** A TCP port nobody listens on right now. */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** One kura server with its own data directory. */
class Kura {
  constructor(dir, port) {
    this.dir = dir;
    this.dataDir = path.join(dir, "data");
    this.port = port;
    this.url = `http://127.0.0.1:${port}`;
    this.logPath = path.join(dir, "kura.log");
    this.proc = null;
  }

  /** Runs `kura ARGS --data-dir D` to completion and returns its stdout; throws on failure. */
  cli(args, input) {
    const out = spawnSync(kuraBin(), [...args, "--data-dir", this.dataDir], {
      input: input ?? "",
      encoding: "utf8",
      env: { ...process.env, NO_COLOR: "1" },
      timeout: 30_000,
    });
    if (out.status !== 0) {
      throw new Error(`kura ${args.join(" ")} exited with ${out.status}\n${out.stdout}\n${out.stderr}`);
    }
    return out.stdout;
  }

  /** A user with the shared test password (for the login page). */
  createUser(name) {
    this.cli(["user", "create", name, "--password-stdin"], `${PASSWORD}\n`);
  }

  /** A new API token for `user`. */
  token(user, role = "write") {
    const token = this.cli(["token", "create", user, "--role", role, "--name", "webtests"]).trim();
    if (!token.startsWith("hf_") || /\s/.test(token)) throw new Error(`unexpected token output: ${token}`);
    return token;
  }

  async start() {
    fs.mkdirSync(this.dataDir, { recursive: true });
    const log = fs.openSync(this.logPath, "a");
    this.proc = spawn(
      kuraBin(),
      ["serve", "--data-dir", this.dataDir, "--listen", `127.0.0.1:${this.port}`, "--public-url", this.url],
      { stdio: ["ignore", log, log], env: { ...process.env, NO_COLOR: "1", KURA_LOG: process.env.KURA_LOG || "info" } },
    );
    fs.closeSync(log);
    const exited = new Promise((resolve) => this.proc.once("exit", (code) => resolve(code)));
    const deadline = Date.now() + HEALTH_TIMEOUT_MS;
    while (Date.now() < deadline) {
      const code = await Promise.race([exited, sleep(100).then(() => undefined)]);
      if (code !== undefined) throw new Error(`kura exited with ${code} before answering /health\n${this.logTail()}`);
      try {
        const res = await fetch(`${this.url}/health`);
        if (res.ok) return;
      } catch {
        // not listening yet
      }
    }
    throw new Error(`kura did not answer /health within ${HEALTH_TIMEOUT_MS} ms\n${this.logTail()}`);
  }

  logTail() {
    try {
      return fs.readFileSync(this.logPath, "utf8").split("\n").slice(-40).join("\n");
    } catch {
      return "(no log)";
    }
  }

  async stop() {
    if (this.proc && this.proc.exitCode === null) {
      const exited = new Promise((resolve) => this.proc.once("exit", resolve));
      this.proc.kill("SIGTERM");
      const done = await Promise.race([exited.then(() => true), sleep(5000).then(() => false)]);
      if (!done) this.proc.kill("SIGKILL");
    }
    if (process.env.KURA_WEBTESTS_KEEP === "1") {
      console.log(`# kept ${this.dir}`);
    } else {
      fs.rmSync(this.dir, { recursive: true, force: true });
    }
  }

  /** Creates repo `ns/name` (a model unless `type` says dataset or space) through the API. */
  async createRepo(token, id, { isPrivate = false, type = "model" } = {}) {
    const [organization, name] = id.split("/");
    const body = { name, organization, private: isPrivate, type };
    if (type === "space") body.sdk = "static";
    const res = await fetch(`${this.url}/api/repos/create`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`create ${id}: ${res.status} ${await res.text()}`);
  }

  /** Commits `files` ({path: string|Buffer}) to `main` of repo `id` (a model unless `type` says
   * otherwise) through the NDJSON API. */
  async commit(token, id, files, summary = "test commit", description = "", type = "model") {
    const lines = [{ key: "header", value: { summary, description } }];
    for (const [file, content] of Object.entries(files)) {
      const data = Buffer.isBuffer(content) ? content : Buffer.from(content, "utf8");
      lines.push({ key: "file", value: { path: file, content: data.toString("base64"), encoding: "base64" } });
    }
    const res = await fetch(`${this.url}/api/${type}s/${id}/commit/main`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/x-ndjson" },
      body: lines.map((line) => JSON.stringify(line)).join("\n"),
    });
    if (!res.ok) throw new Error(`commit to ${id}: ${res.status} ${await res.text()}`);
    return res.json();
  }
}

/** Starts a server with `users` (each with PASSWORD) and returns it. */
async function startKura(users = ["alice"]) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kura-webtests-"));
  const kura = new Kura(dir, await freePort());
  try {
    for (const user of users) kura.createUser(user);
    await kura.start();
  } catch (error) {
    await kura.stop();
    throw error;
  }
  return kura;
}

/** Headless chromium with a fresh profile (playwright gives every launch its own temporary user data dir). */
function launchBrowser() {
  return chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/** A browser context for `kura` (viewport 1280x800, the given colour scheme). */
async function newContext(browser, kura, colorScheme = "light") {
  const context = await browser.newContext({ baseURL: kura.url, viewport: { width: 1280, height: 800 }, colorScheme });
  // Pages answer in milliseconds here: a missing element should fail fast, not after 30 s.
  context.setDefaultTimeout(5_000);
  context.setDefaultNavigationTimeout(10_000);
  return context;
}

/** Signs `user` in through the login page in `page`. */
async function signIn(page, user = "alice", password = PASSWORD) {
  await page.goto("/login");
  await page.fill('input[name="username"]', user);
  await page.fill('input[name="password"]', password);
  await Promise.all([page.waitForURL((url) => url.pathname !== "/login"), page.click('button:has-text("Sign in")')]);
}

function screenshotDir() {
  const dir = path.resolve(ROOT, process.env.KURA_SCREENSHOT_DIR || "docs/screenshots");
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

module.exports = { PASSWORD, ROOT, startKura, launchBrowser, newContext, signIn, screenshotDir, sleep };
