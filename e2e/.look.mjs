// Viewport screenshots of a few spots of the pages, to look at.
import { chromium } from "@playwright/test";
import { startDemo } from "/work/main/e2e/demo.mjs";
const demo = await startDemo({ bin: "/work/main/target/release/cellpath" });
const browser = await chromium.launch({ executablePath: "/usr/bin/chromium" });
async function as(who, lang, width) {
  const ctx = await browser.newContext({ viewport: { width, height: 900 } });
  const p = await ctx.newPage();
  await p.goto(`${demo.base}/sign-in`);
  await p.fill("#email", `${who}@demo.cellpath`);
  await p.fill("#password", demo.passwords[`${who}@demo.cellpath`]);
  await p.click("main button.primary");
  await p.waitForLoadState();
  if (lang === "zh") { await p.click("form[action='/language'] button"); await p.waitForLoadState(); }
  return p;
}
const shots = JSON.parse(process.argv[2]);
for (const [who, lang, width, path, sel, name] of shots) {
  const p = await as(who, lang, width);
  await p.goto(`${demo.base}${path}`);
  if (sel) await p.locator(sel).first().scrollIntoViewIfNeeded();
  if (sel) await p.evaluate((s) => document.querySelector(s).scrollIntoView(), sel);
  await p.screenshot({ path: `/tmp/look-${name}.png` });
}
await browser.close();
await demo.stop();
