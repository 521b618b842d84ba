// One fresh demo server per test, and the steps every test takes: signing in as a demo
// account and choosing the language.
import { test as base, expect } from "@playwright/test";
import AxeBuilder from "@axe-core/playwright";
import { startDemo } from "../demo.mjs";

const bin = process.env.CELLPATH_BIN || "../target/release/cellpath";

export const test = base.extend({
  demo: async ({}, use) => {
    const demo = await startDemo({ bin });
    await use(demo);
    await demo.stop();
  },
});
export { expect };

/** The words a test looks for, in each language. */
export const WORDS = {
  en: { html: "en", signOut: "Sign out", myCase: "My case", withdrawn: "Your consent is withdrawn", held: "held", uploaded: "Your files were added.", callNow: "Call 120 now", removed: "They were removed", invited: "The caregiver was added." },
  "zh-CN": { html: "zh-Hans", signOut: "退出登录", myCase: "我的病例", withdrawn: "您的同意已撤回", held: "暂缓", uploaded: "文件已添加。", callNow: "立即拨打 120", removed: "已移除", invited: "照护者已添加。" },
};

/** Signs a demo account in, then sets its language with the switch if it differs. */
export async function signIn(page, demo, who, lang = "en", password) {
  await page.goto(`${demo.base}/sign-in`);
  await page.fill("#email", who.includes("@") ? who : `${who}@demo.cellpath`);
  await page.fill("#password", password || demo.passwords[`${who}@demo.cellpath`]);
  await page.click("main button.primary");
  await page.waitForLoadState();
  await expect(page.locator("header")).toContainText(/Sign out|退出登录/);
  const want = WORDS[lang].html;
  if ((await page.getAttribute("html", "lang")) !== want) {
    await page.click("form[action='/language'] button");
    await expect(page.locator("html")).toHaveAttribute("lang", want);
  }
}

/** A page of the demo case. */
export function casePage(demo, path = "") {
  return `${demo.base}/cases/c-demo-1${path}`;
}

/** A demo account signed in, in a browser context of its own (JavaScript on or off), at a
 *  desktop width. */
export async function openAs(browser, demo, who, lang, js) {
  const ctx = await browser.newContext({ javaScriptEnabled: js, viewport: { width: 1280, height: 900 } });
  ctx._jsOff = !js;
  const page = await ctx.newPage();
  await signIn(page, demo, who, lang);
  return page;
}

/** No serious or critical axe violation on the page as it is now. axe runs as a script in
 *  the page: only where scripts run. */
export async function axe(page, label) {
  if (page.context()._jsOff) return;
  const results = await new AxeBuilder({ page }).analyze();
  const bad = results.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  expect(bad.map((v) => `${label}: ${v.id} (${v.impact}) ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`)).toEqual([]);
}
