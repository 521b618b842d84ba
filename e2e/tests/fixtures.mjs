// One fresh demo server per test, and the steps every test takes: signing in as a demo
// account and choosing the language.
import { test as base, expect } from "@playwright/test";
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
