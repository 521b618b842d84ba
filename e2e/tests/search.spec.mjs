// The registry's search as a coordinator meets it: real records imported beside the running
// server (which takes them into its index on its next refresh), searched in Chinese and in
// English, narrowed by a facet, a study opened with its history, and the case's "Studies"
// tab with why each study was suggested. Both languages, axe on each page.
import { execFileSync } from "node:child_process";
import { test, expect, signIn, casePage, axe } from "./fixtures.mjs";

const bin = process.env.CELLPATH_BIN || "../target/release/cellpath";
const FIXTURES = "../crates/search/tests/data";

async function check(page, label) {
  if (test.info().project.use.javaScriptEnabled === false) return;
  await axe(page, label);
}

const WORDS = {
  en: { one: "1 study found", readAs: "is searched as any of", why: "It concerns CLDN18.2", version: "Version 1" },
  "zh-CN": { one: "找到 1 项研究", readAs: "按以下任一形式检索", why: "该研究涉及 CLDN18.2", version: "第 1 版" },
};

for (const lang of ["en", "zh-CN"]) {
  test(`the registry is searched in Chinese and English, and a case lists its studies (${lang})`, async ({ demo, page }) => {
    const w = WORDS[lang];
    const out = execFileSync(bin, ["registry", "import", FIXTURES, ...demo.databaseArgs], { encoding: "utf8" });
    expect(out).toContain("5 studies new");
    await signIn(page, demo, "coordinator", lang);
    await page.click(`nav a[href="/registry"]`);
    await check(page, "search form");
    // The server takes the import in on its next refresh (every few seconds).
    await expect(async () => {
      await page.fill("#q", "胃癌 CAR-T");
      await page.locator("form[role=search] button").click();
      await expect(page.locator("#results-h")).toContainText(w.one, { timeout: 1000 });
    }).toPass({ timeout: 30_000 });
    await expect(page.locator("main .hits")).toContainText("NCT06346392");
    await expect(page.locator("main .hits mark").first()).toBeVisible();
    await expect(page.locator("main .read-as")).toContainText(w.readAs);
    await check(page, "results");

    await page.fill("#q", "cldn18.2 car-t status:recruiting");
    await page.locator("form[role=search] button").click();
    await expect(page.locator("#results-h")).toContainText(w.one);
    // Narrow by country: the facet adds its filter to the query.
    await page.locator(`.facets a[href*="country%3Achina"]`).first().click();
    await expect(page.locator("#q")).toHaveValue(/country:china/);
    await expect(page.locator(".facets a[aria-current=true]").first()).toBeVisible();

    await page.locator(`main .hits a[href="/registry/studies/NCT06346392"]`).click();
    await expect(page.locator("main")).toContainText(w.version);
    await check(page, "study");

    // Confirming a programme from the study, item by item (the form; the download is
    // tested in the pages tests).
    await page.goto(`${demo.base}/registry/studies/NCT06346392/confirm`);
    await expect(page.locator("main form fieldset").first()).toBeVisible();
    await check(page, "confirm");

    await page.goto(casePage(demo, "/studies"));
    await expect(page.locator("main")).toContainText("NCT06346392");
    await expect(page.locator("main")).toContainText(w.why);
    await check(page, "case studies");
  });
}
