// Saves a PNG of every page, in both languages, at 390 px and 1280 px wide, for review:
// `scripts/screenshots.sh` (it builds cellpath and starts the demo).
import { chromium } from "@playwright/test";
import { mkdirSync } from "node:fs";
import { startDemo, CHROMIUM_ARGS } from "./demo.mjs";

const bin = process.env.CELLPATH_BIN || "../target/release/cellpath";
const out = process.env.SCREENSHOTS || "../screenshots";
mkdirSync(out, { recursive: true });
const demo = await startDemo({ bin });
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", args: CHROMIUM_ARGS });
const only = process.env.ONLY ? process.env.ONLY.split(",") : null;
const who = {
  patient: ["/cases/c-demo-1", "/cases/c-demo-1/records", "/cases/c-demo-1/prescreen", "/cases/c-demo-1/journey",
    "/cases/c-demo-1/diary", "/cases/c-demo-1/support", "/cases/c-demo-1/messages", "/cases/c-demo-1/team",
    "/consents", "/notifications", "/cases", "/about"],
  caregiver: ["/cases/c-demo-1", "/cases/c-demo-1/diary"],
  coordinator: ["/work", "/cases/c-demo-1/summary", "/cases/c-demo-1/record", "/cases/c-demo-1/record/history", "/cases/c-demo-1/import", "/cases/c-demo-1/plan", "/verify", "/cases/c-demo-1/monitoring", "/cases/c-demo-1/mdt", "/cases/c-demo-1/support"],
  oncologist: ["/work", "/cases/c-demo-1/summary", "/cases/c-demo-1/mdt", "/cases/c-demo-1/support", "/work/assignments", "/cases/c-demo-1/prescreen"],
  admin: ["/admin"],
};
/** Gives the workspace pages something to show: the specialists assigned, the
 *  oncologist's opinion, a monitoring entry that raised an alert. */
async function prepare() {
  const as = async (who) => {
    const page = await (await browser.newContext()).newPage();
    await page.goto(`${demo.base}/sign-in`);
    await page.fill("#email", `${who}@demo.cellpath`);
    await page.fill("#password", demo.passwords[`${who}@demo.cellpath`]);
    await page.click("button.primary");
    await page.waitForLoadState();
    return page;
  };
  const coord = await as("coordinator");
  for (const email of ["oncologist@demo.cellpath", "pathologist@demo.cellpath"]) {
    await coord.goto(`${demo.base}/cases/c-demo-1/mdt`);
    await coord.selectOption("#user_id", { label: email });
    await coord.fill("#due", "2027-01-15");
    await coord.click("form:has(#user_id) button.primary");
    await coord.waitForLoadState();
  }
  const path = await as("pathologist");
  await path.goto(`${demo.base}/cases/c-demo-1/mdt`);
  for (const q of ["biomarker_eligibility", "treatment_sequence", "alternatives", "benefit_and_risk", "access_and_logistics", "recommendation"]) {
    await path.fill(`#q_${q}`, "CLDN18.2 2+/3+ in 60% of tumour cells on the 2026 biopsy; HER2 negative.");
  }
  await path.selectOption("#recommendation", "proceed-to-car-t-evaluation");
  await path.selectOption("#confidence", "moderate");
  await path.fill("#rationale", "Meets the published biomarker threshold; two prior lines.");
  await path.click("button[value=opinion]");
  await path.waitForLoadState();
  const patient = await as("patient");
  await patient.goto(`${demo.base}/cases/c-demo-1/support`);
  await patient.selectOption("#kind", "nutrition");
  await patient.fill("#details", "Advice on eating after the infusion");
  await patient.click("form:has(#details) button.primary");
  await patient.waitForLoadState();
  const onc = await as("oncologist");
  for (const temp of ["37.2", "38.7"]) {
    await onc.goto(`${demo.base}/cases/c-demo-1/monitoring`);
    await onc.fill("#temp", temp);
    for (const [part, v] of [["orientation", "4"], ["naming", "3"], ["commands", "1"], ["writing", "1"], ["attention", "1"]]) {
      await onc.selectOption(`#ice_${part}`, v);
    }
    await onc.click("button[value=save]");
    await onc.waitForLoadState();
  }
}

let n = 0;
try {
  await prepare();
  for (const width of [390, 1280]) {
    for (const lang of ["en", "zh-CN"]) {
      for (const [role, pages] of Object.entries(who)) {
        if (only && !only.includes(role)) continue;
        const ctx = await browser.newContext({ viewport: { width, height: 900 }, locale: lang });
        const page = await ctx.newPage();
        await page.goto(`${demo.base}/sign-in`);
        await page.screenshot({ path: `${out}/sign-in-${lang}-${width}.png`, fullPage: true });
        await page.fill("#email", `${role}@demo.cellpath`);
        await page.fill("#password", demo.passwords[`${role}@demo.cellpath`]);
        await page.click("button.primary");
        await page.waitForLoadState();
        // The account's language rules once signed in: switch it to the one wanted.
        const want = lang === "en" ? "en" : "zh-Hans";
        if ((await page.getAttribute("html", "lang")) !== want) {
          await page.click("form[action='/language'] button");
          await page.waitForLoadState();
        }
        for (const path of pages) {
          await page.goto(`${demo.base}${path}`);
          const name = `${role}${path.replaceAll("/", "-").replace("-cases-c-demo-1", "")}`.replace(/-$/, "") || role;
          await page.screenshot({ path: `${out}/${name}-${lang}-${width}.png`, fullPage: true });
          n++;
        }
        await ctx.close();
      }
    }
  }
} finally {
  await browser.close();
  demo.child.kill("SIGINT");
}
console.log(`${n} screenshots in ${out}`);
