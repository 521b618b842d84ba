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
  en: { other: "This file may be about another patient", stopped: "This file's patient differs from the case's", differs: "the file says 2009", nothing: "nothing has been written", imported: "The FHIR record was imported", version: (n) => `Record version ${n}`, conflicts: "Conflicts to resolve", notSaved: "not saved", planSaved: "The plan was saved" },
  "zh-CN": { other: "此文件可能属于另一位患者", stopped: "此文件中的患者与本病例不符", differs: "2009", nothing: "尚未写入任何内容", imported: "FHIR 病历已导入", version: (n) => `病历版本 ${n}`, conflicts: "需要解决的冲突", notSaved: "未保存", planSaved: "计划已保存" },
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
    // The file is another patient's (a boy born in 2009, against a woman born in 1969): a red
    // banner names the differences before anything else.
    await expect(coord.locator("#identity")).toContainText(w.other);
    await expect(coord.locator("#identity")).toContainText(w.differs);
    await expect(coord.locator("#identity")).toBeInViewport();
    await axe(coord, "import preview");
    // In another tab, the record is as it was.
    const other = await ctx.newPage();
    await other.goto(casePage(demo, "/record"));
    await expect(other.locator("main")).toContainText(w.version(before));
    await other.close();
    // Importing without the override is refused, and the preview stays to correct.
    await coord.click("button[value=import]");
    await expect(coord.locator("#form-errors")).toContainText(w.stopped);
    await expect(coord.locator("#identity")).toBeVisible();
    // The coordinator says it is the same patient, and why: kept with the version.
    await coord.check("input[name=override]");
    await coord.fill("#reason", "Demo: the test bundle stands in for the hospital's");
    await coord.selectOption("[name='lines._state']", "listed");
    await coord.click("button[value=import]");
    await expect(coord.locator(".flash")).toContainText(w.imported);
    await expect(coord.locator("main")).toContainText(w.version(Number(before) + 1));
    // Merged: the typed therapies are still first, the file's are added.
    await expect(coord.locator("[name='therapies.0.drug']")).not.toHaveValue("idarubicin");
    await expect(coord.locator("input[name$='.drug'][value='idarubicin']")).toHaveCount(1);

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
