import { chromium } from "@playwright/test";
import { mkdirSync } from "node:fs";
import { startDemo, CHROMIUM_ARGS } from "./demo.mjs";
const out = "/tmp/shots"; mkdirSync(out, { recursive: true });
const demo = await startDemo({ bin: "../target/release/cellpath" });
const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: CHROMIUM_ARGS });
const ctxs = {};
async function as(who, locale = "en") {
  const ctx = await browser.newContext({ locale });
  const r = await ctx.request.post(`${demo.base}/api/v1/sessions`, { data: { email: `${who}@demo.cellpath`, password: demo.passwords[`${who}@demo.cellpath`] } });
  const csrf = (await r.json()).csrf_token;
  const api = async (method, path, data) => {
    const resp = await ctx.request.fetch(`${demo.base}${path}`, { method, headers: { "x-csrf-token": csrf }, data });
    return resp.json().catch(() => null);
  };
  return { ctx, api };
}
try {
  const coord = await as("coordinator"), onc = await as("oncologist"), path = await as("pathologist"), patient = await as("patient");
  const answers = { biomarker_eligibility: "CLDN18.2 2+ or stronger in 60% of tumour cells", treatment_sequence: "Third line", alternatives: "Trifluridine/tipiracil", benefit_and_risk: "See the evidence", access_and_logistics: "Shanghai, about 8 weeks", recommendation: "Proceed" };
  for (const s of [onc, path]) {
    const me = await s.api("GET", "/api/v1/me");
    await coord.api("POST", "/api/v1/cases/c-demo-1/mdt/assignments", { user_id: me.id, due: "2026-12-10" });
    await s.api("POST", "/api/v1/cases/c-demo-1/mdt/opinions", { recommendation: "proceed-to-car-t-evaluation", rationale: "r", answers, confidence: "high" });
  }
  await onc.api("POST", "/api/v1/cases/c-demo-1/mdt/consensus", { recommendation: "proceed-to-car-t-evaluation", summary: "Proceed.", answers, dissent: [] });
  for (const s of [onc, path]) await s.api("POST", "/api/v1/cases/c-demo-1/mdt/consensus/1/signatures");
  for (const lang of ["en", "zh-CN"]) {
    const c2 = await as("coordinator", lang), p2 = await as("patient", lang);
    for (const width of [390, 1280])
    for (const [name, who, url, sel] of [["mdt", c2, "/cases/c-demo-1/mdt", "p.reports"], ["mycase", p2, "/cases/c-demo-1", "#report-h"], ["verify", c2, "/verify", "form"]]) {
      const page = await who.ctx.newPage();
      await page.setViewportSize({ width, height: 900 });
      await page.goto(`${demo.base}${url}`);
      const el = page.locator(sel).first();
      await el.scrollIntoViewIfNeeded();
      await page.screenshot({ path: `${out}/${name}-${lang}-${width}.png` });
      await page.close();
    }
  }
} finally { await browser.close(); await demo.stop(); }
