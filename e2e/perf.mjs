// Measures, in Chromium on loopback: the largest contentful paint of "My case" (median of 20
// loads, caches kept as a returning visitor has them, and the first load cold), and the
// bytes each page transfers (the page, its stylesheet and scripts; fonts aside).
// `node perf.mjs` after `cargo build --release`; figures go to BENCHMARKS.md.
import { chromium } from "@playwright/test";
import { startDemo, CHROMIUM_ARGS } from "./demo.mjs";

const bin = process.env.CELLPATH_BIN || "../target/release/cellpath";
const demo = await startDemo({ bin });
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", args: CHROMIUM_ARGS });
try {
  const ctx = await browser.newContext({ viewport: { width: 390, height: 844 } });
  const page = await ctx.newPage();
  await page.goto(`${demo.base}/sign-in`);
  await page.fill("#email", "patient@demo.cellpath");
  await page.fill("#password", demo.passwords["patient@demo.cellpath"]);
  await page.click("main button.primary");
  await page.waitForLoadState();
  const lcp = async () => page.evaluate(() => new Promise((resolve) => {
    new PerformanceObserver((list) => {
      const e = list.getEntries();
      resolve(e[e.length - 1].startTime);
    }).observe({ type: "largest-contentful-paint", buffered: true });
  }));
  const url = `${demo.base}/cases/c-demo-1`;
  // Cold: a new context has no cache.
  const coldCtx = await browser.newContext({ viewport: { width: 390, height: 844 }, storageState: await ctx.storageState() });
  const cold = await coldCtx.newPage();
  await cold.goto(url);
  const coldLcp = await cold.evaluate(() => new Promise((resolve) => {
    new PerformanceObserver((list) => { const e = list.getEntries(); resolve(e[e.length - 1].startTime); })
      .observe({ type: "largest-contentful-paint", buffered: true });
  }));
  const times = [];
  for (let i = 0; i < 20; i++) {
    await page.goto(url);
    times.push(await lcp());
  }
  times.sort((a, b) => a - b);
  console.log(`LCP of My case: cold ${coldLcp.toFixed(0)} ms; warm median ${times[10].toFixed(0)} ms, max ${times[19].toFixed(0)} ms (20 loads)`);
  // Bytes on the wire per page, as a first visit (no cache): every response's body size.
  const pages = ["", "/records", "/prescreen", "/journey", "/diary", "/support", "/messages", "/team"].map((p) => `/cases/c-demo-1${p}`)
    .concat(["/consents", "/notifications", "/about"]);
  for (const p of pages) {
    const c = await browser.newContext({ storageState: await ctx.storageState() });
    const pg = await c.newPage();
    let bytes = 0;
    const scripts = [];
    pg.on("response", async (r) => {
      try {
        const h = await r.allHeaders();
        const len = Number(h["content-length"]) || (await r.body()).length;
        bytes += len;
        if (r.request().resourceType() === "script") scripts.push(r.url().split("/").pop());
      } catch { /* a response without a body */ }
    });
    await pg.goto(`${demo.base}${p}`);
    await pg.waitForLoadState("networkidle");
    console.log(`${p}\t${(bytes / 1024).toFixed(1)} KiB\tscripts: ${scripts.join(", ")}`);
    await c.close();
  }
} finally {
  await browser.close();
  demo.child.kill("SIGINT");
}
