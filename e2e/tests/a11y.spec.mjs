// axe-core on every page, in both languages, at phone and desktop widths: no serious or
// critical violations.
import AxeBuilder from "@axe-core/playwright";
import { test, expect, signIn, casePage } from "./fixtures.mjs";

const PAGES = {
  patient: ["", "/records", "/prescreen", "/journey", "/diary", "/support", "/messages", "/team"].map((p) => (d) => casePage(d, p))
    .concat([(d) => `${d.base}/consents`, (d) => `${d.base}/notifications`, (d) => `${d.base}/cases`, (d) => `${d.base}/about`]),
  caregiver: ["", "/diary", "/support"].map((p) => (d) => casePage(d, p)),
  coordinator: [(d) => `${d.base}/work`, (d) => casePage(d, "/summary"), (d) => casePage(d, "/prescreen"), (d) => casePage(d, "/mdt"), (d) => casePage(d, "/monitoring"), (d) => casePage(d, "/record"), (d) => casePage(d, "/record/history"), (d) => casePage(d, "/import"), (d) => casePage(d, "/plan"), (d) => `${d.base}/verify`],
  oncologist: [(d) => `${d.base}/work`, (d) => casePage(d, "/mdt"), (d) => casePage(d, "/monitoring"), (d) => `${d.base}/work/assignments`, (d) => casePage(d, "/prescreen")],
  admin: [(d) => `${d.base}/admin`],
};

async function check(page, label) {
  const results = await new AxeBuilder({ page }).analyze();
  const bad = results.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  expect(bad.map((v) => `${label}: ${v.id} (${v.impact}) ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`)).toEqual([]);
}

// One test per language and width, so that they can run side by side.
for (const lang of ["en", "zh-CN"]) {
  for (const width of [390, 1280]) {
    test(`every page passes axe (${lang}, ${width} px)`, async ({ demo, page }) => {
      await page.setViewportSize({ width, height: 900 });
      await page.context().clearCookies();
      await page.goto(`${demo.base}/sign-in`);
      await check(page, `sign-in ${width}`);
      await page.goto(`${demo.base}/set-password?token=x`);
      await check(page, `set-password ${width}`);
      for (const [who, pages] of Object.entries(PAGES)) {
        await page.context().clearCookies();
        await signIn(page, demo, who, lang);
        for (const url of pages) {
          await page.goto(url(demo));
          await check(page, `${who} ${page.url()} ${width}`);
        }
      }
      // A page with its errors shown, a diary answer, an error page.
      await page.context().clearCookies();
      await signIn(page, demo, "patient", lang);
      await page.goto(casePage(demo, "/support"));
      await page.fill("#details", " ");
      await page.click("form:has(#details) button.primary");
      await expect(page.locator(".notice.error")).toBeVisible();
      await check(page, `support with an error ${width}`);
      await page.goto(casePage(demo, "/diary"));
      await page.check("input[name=confusion]");
      await page.click("form.diary button.primary");
      await expect(page.locator(".answer")).toBeVisible();
      await check(page, `diary answer ${width}`);
      await page.goto(`${demo.base}/cases/c-nobody`);
      await check(page, `not found ${width}`);
    });
  }
}
