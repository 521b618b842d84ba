// The record editor with two people at once: the coordinator and the patient open the
// record; the patient saves first; the coordinator's save meets the conflict, sees the
// patient's value beside the field and their own in it, saves again; the history shows
// each fact that changed. In English and in Chinese, with and without JavaScript; axe on
// the editor, the conflict and the history.
import AxeBuilder from "@axe-core/playwright";
import { test, expect, signIn, casePage } from "./fixtures.mjs";

const W = {
  en: { saved: "The record was saved", conflict: "while you were editing", theirs: "Saved meanwhile by someone else: IVB", stage: "Primary cancer · Stage", notNumber: "is not a number" },
  "zh-CN": { saved: "病历已保存", conflict: "您编辑期间", theirs: "其他人在此期间保存的值：IVB", stage: "原发肿瘤 · 分期", notNumber: "不是数字" },
};

async function axe(page, label) {
  if (page.context()._jsOff) return;
  const results = await new AxeBuilder({ page }).analyze();
  const bad = results.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  expect(bad.map((v) => `${label}: ${v.id} (${v.impact}) ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`)).toEqual([]);
}

for (const lang of ["en", "zh-CN"]) {
  test(`a record conflict is merged by the coordinator and shown in the history (${lang})`, async ({ demo, browser }, info) => {
    const w = W[lang];
    const js = info.project.name !== "no-javascript";
    const open = async (who) => {
      const ctx = await browser.newContext({ javaScriptEnabled: js, viewport: { width: 1280, height: 900 } });
      ctx._jsOff = !js;
      const page = await ctx.newPage();
      await signIn(page, demo, who, lang);
      return page;
    };
    const coord = await open("coordinator");
    const patient = await open("patient");
    await coord.goto(casePage(demo, "/record"));
    await patient.goto(casePage(demo, "/record"));
    await axe(coord, "record");

    // A wrong number is named at its field and nothing is saved.
    await coord.fill("[name='ecog.0.score']", "x");
    await coord.click("button[value=save]");
    await expect(coord.locator("#form-errors")).toContainText(w.notNumber);
    await expect(coord.locator("[name='ecog.0.score']")).toHaveAttribute("aria-invalid", "true");
    await axe(coord, "record with an error");

    // The patient saves the stage first.
    await patient.fill("[name='primary.stage']", "IVB");
    await patient.click("button[value=save]");
    await expect(patient.locator(".flash")).toContainText(w.saved);

    // The coordinator's form was read before that: the conflict, both values shown.
    await coord.fill("[name='ecog.0.score']", "2");
    await coord.fill("[name='primary.stage']", "IIIC");
    await coord.click("button[value=save]");
    await expect(coord.locator("#form-errors")).toContainText(w.conflict);
    await expect(coord.locator(".theirs")).toContainText(w.theirs);
    await expect(coord.locator("[name='primary.stage']")).toHaveValue("IIIC");
    await axe(coord, "record conflict");
    await coord.click("button[value=save]");
    await expect(coord.locator(".flash")).toContainText(w.saved);
    await expect(coord.locator("[name='primary.stage']")).toHaveValue("IIIC");
    await expect(coord.locator("[name='ecog.0.score']")).toHaveValue("2");

    // The history: the patient's and the coordinator's versions, fact by fact.
    await coord.goto(casePage(demo, "/record/history"));
    await expect(coord.locator("table.diff")).toContainText(w.stage);
    await expect(coord.locator("table.diff")).toContainText("IIIC");
    await axe(coord, "record history");
  });
}
