// The registry as a coordinator meets it: a study that a catalogue programme rests on is
// imported, then changes (its eligibility text); the pre-screen says it is out of date, the
// programme waits for review with the difference, the coordinator records the review, and
// the study's page shows both versions. Both languages, axe on each page.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test, expect, signIn, casePage, axe } from "./fixtures.mjs";

const bin = process.env.CELLPATH_BIN || "../target/release/cellpath";
const FIXTURE = "../crates/registry/tests/data/NCT06008288.json";

/** A real record standing in under the number CT041-ST-01 names, imported as the server's
 *  operator would. */
function importStandIn(demo, eligibility) {
  const study = JSON.parse(readFileSync(FIXTURE, "utf8"));
  study.protocolSection.identificationModule.nctId = "NCT04581473";
  study.protocolSection.eligibilityModule.eligibilityCriteria = eligibility;
  const file = join(mkdtempSync(join(tmpdir(), "cellpath-e2e-study-")), "NCT04581473.json");
  writeFileSync(file, JSON.stringify(study));
  return execFileSync(bin, ["registry", "import", file, ...demo.databaseArgs], { encoding: "utf8" });
}

/** axe runs as a script in the page: only where scripts run (the phone project). */
async function check(page, label) {
  if (test.info().project.use.javaScriptEnabled === false) return;
  await axe(page, label);
}

const WORDS = {
  en: { stale: "Out of date", changed: "The eligibility criteria text changed.", reviewed: "The review is recorded.", version: "Version 2", note: "Catalogue entry checked against the study." },
  "zh-CN": { stale: "已过时", changed: "入选/排除标准文本有变更。", reviewed: "复核已记录。", version: "第 2 版", note: "目录条目已对照研究复核。" },
};

for (const lang of ["en", "zh-CN"]) {
  test(`a changed registry study is flagged, reviewed and shown with its history (${lang})`, async ({ demo, page }) => {
    const w = WORDS[lang];
    importStandIn(demo, "Inclusion Criteria:\n\n* Adults");
    await signIn(page, demo, "coordinator", lang);
    // A pre-screen made now, after the first version.
    await page.goto(casePage(demo, "/prescreen"));
    await page.locator(`form[action$="/prescreen"]:not(:has(input[name=do])) button`).click();
    await expect(page.locator("main")).not.toContainText(w.stale);

    expect(importStandIn(demo, "Inclusion Criteria:\n\n* Adults with CLDN18.2-positive tumours")).toContain("2 programmes flagged for review");
    await page.goto(casePage(demo, "/prescreen"));
    await expect(page.locator("main")).toContainText(w.stale);
    await expect(page.locator("main")).toContainText("NCT04581473");
    await check(page, "stale prescreen");

    await page.goto(`${demo.base}/notifications`);
    await expect(page.locator("main")).not.toBeEmpty();

    await page.click(`nav a[href="/registry/flags"]`);
    await expect(page.locator("main")).toContainText(w.changed);
    await check(page, "flags");
    const forms = page.locator(`main form[action^="/registry/flags/"]`);
    await expect(forms).toHaveCount(2);
    await forms.first().locator("textarea").fill(w.note);
    await forms.first().locator("button").click();
    await expect(page.locator(".flash")).toContainText(w.reviewed);
    await expect(page.locator(`main form[action^="/registry/flags/"]`)).toHaveCount(1);

    await page.locator(`main a[href="/registry/studies/NCT04581473"]`).first().click();
    await expect(page.locator("main")).toContainText(w.version);
    await expect(page.locator("main")).toContainText(w.changed);
    await check(page, "study");
  });
}
