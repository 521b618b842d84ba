// The record editor with two people at once: the coordinator and the patient open the
// record; the patient saves first; the coordinator's save meets the conflict, sees the
// patient's value beside the field and their own in it, saves again; the history shows
// each fact that changed. In English and in Chinese, with and without JavaScript; axe on
// the editor, the conflict and the history.
import { test, expect, signIn, casePage, openAs, axe } from "./fixtures.mjs";

const W = {
  en: { saved: "The record was saved", conflict: "while you were editing", theirs: "Saved meanwhile by someone else: IVB", stage: "Primary cancer · Stage", notNumber: "is not a number" },
  "zh-CN": { saved: "病历已保存", conflict: "您编辑期间", theirs: "其他人在此期间保存的值：IVB", stage: "原发肿瘤 · 分期", notNumber: "不是数字" },
};

for (const lang of ["en", "zh-CN"]) {
  test(`a record conflict is merged by the coordinator and shown in the history (${lang})`, async ({ demo, browser }, info) => {
    const w = W[lang];
    const js = info.project.name !== "no-javascript";
    const open = (who) => openAs(browser, demo, who, lang, js);
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

const I = {
  en: { nothing: "nothing has been written", imported: "The FHIR record was imported", version: (n) => `Record version ${n}`, conflicts: "Conflicts to resolve", notSaved: "not saved", planSaved: "The plan was saved" },
  "zh-CN": { nothing: "尚未写入任何内容", imported: "FHIR 病历已导入", version: (n) => `病历版本 ${n}`, conflicts: "需要解决的冲突", notSaved: "未保存", planSaved: "计划已保存" },
};

for (const lang of ["en", "zh-CN"]) {
  test(`a FHIR import previewed changes nothing until confirmed; the planner follows its dates (${lang})`, async ({ demo, browser }, info) => {
    const w = I[lang];
    const js = info.project.name !== "no-javascript";
    const ctx = await browser.newContext({ javaScriptEnabled: js, viewport: { width: 1280, height: 900 } });
    ctx._jsOff = !js;
    const coord = await ctx.newPage();
    await signIn(coord, demo, "coordinator", lang);
    await coord.goto(casePage(demo, "/record"));
    const before = await coord.locator("input[name=version]").inputValue();

    await coord.goto(casePage(demo, "/import"));
    await axe(coord, "import");
    await coord.setInputFiles("#bundle", "../tests/data/fhir/realistic/intent-and-stop-reason.json");
    await coord.click("form.upload button.primary");
    await expect(coord.locator("main")).toContainText(w.nothing);
    await expect(coord.locator("main")).toContainText("MedicationRequest/idarubicin-brian-l");
    await axe(coord, "import preview");
    // In another tab, the record is as it was.
    const other = await ctx.newPage();
    await other.goto(casePage(demo, "/record"));
    await expect(other.locator("main")).toContainText(w.version(before));
    await other.close();
    await coord.selectOption("[name='lines._state']", "listed");
    await coord.click("button[value=import]");
    await expect(coord.locator(".flash")).toContainText(w.imported);
    await expect(coord.locator("main")).toContainText(w.version(Number(before) + 1));
    await expect(coord.locator("[name='therapies.0.drug']")).toHaveValue("idarubicin");

    // The planner: a visa ending too soon shows its conflict before anything is saved.
    await coord.goto(casePage(demo, "/plan"));
    await coord.fill("#visa_end", "2026-12-05");
    await coord.click("button[value=preview]");
    await expect(coord.locator("main")).toContainText(w.notSaved);
    await expect(coord.locator("main")).toContainText(w.conflicts);
    await axe(coord, "planner preview");
    await coord.fill("#visa_end", "2027-06-30");
    await coord.click("button[value=save]");
    await expect(coord.locator(".flash")).toContainText(w.planSaved);
  });
}
