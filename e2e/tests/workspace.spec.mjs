// The people who do the work, each in a browser of their own: the coordinator assigns the
// two specialists, each gives an opinion (one after a saved draft), the oncologist leads the
// consensus with the pathologist's dissent, both sign; on the infusion day the oncologist
// enters monitoring, sees the grade before saving, and the alert it raises leads the
// coordinator's work queue until acknowledged. In English and in Chinese; axe on each page
// with its content. Run on PostgreSQL too (CELLPATH_E2E_POSTGRES, see .ci/run).
import { test, expect, casePage, openAs, axe } from "./fixtures.mjs";

const W = {
  en: { assigned: "The specialist was assigned", draft: "Your draft was saved.", submitted: "Your opinion was submitted.", consensus: "The consensus was saved", signed: "Your signature was recorded.", all: "Signed by every assigned specialist", saved: "The entry was saved and graded.", ice: "ICE score: 10 of 10", grade1: "grade 1", alert: "1 alert", acked: "The alerts were acknowledged.", crs1: "CRS grade 1" },
  "zh-CN": { assigned: "已指派该专科医生", draft: "草稿已保存。", submitted: "您的意见已提交。", consensus: "共识已保存", signed: "您的签名已记录。", all: "所有指派的专科医生均已签署", saved: "记录已保存并完成分级。", ice: "ICE 评分：10 / 10", grade1: "1 级", alert: "1 条警报", acked: "警报已确认。", crs1: "CRS 1 级" },
};
const QUESTIONS = ["biomarker_eligibility", "treatment_sequence", "alternatives", "benefit_and_risk", "access_and_logistics", "recommendation"];

for (const lang of ["en", "zh-CN"]) {
  test(`from assignment to a signed consensus and a monitored infusion day (${lang})`, async ({ demo, browser }, info) => {
    const w = W[lang];
    const js = info.project.name !== "no-javascript";
    const open = (who) => openAs(browser, demo, who, lang, js);
    const coord = await open("coordinator");
    const onc = await open("oncologist");
    const path = await open("pathologist");

    // The coordinator assigns both specialists, each from their specialty.
    for (const email of ["oncologist@demo.cellpath", "pathologist@demo.cellpath"]) {
      await coord.goto(casePage(demo, "/mdt"));
      await coord.selectOption("#user_id", { label: email });
      await coord.fill("#due", "2027-01-15");
      await coord.click("form:has(#user_id) button.primary");
      await expect(coord.locator(".flash")).toContainText(w.assigned);
    }
    await axe(coord, "mdt, team assigned");

    // Opinions: the oncologist saves a draft first and finds it again.
    await onc.goto(casePage(demo, "/mdt"));
    await onc.fill("#q_alternatives", "Trifluridine/tipiracil remains an option.");
    await onc.click("button[value=draft]");
    await expect(onc.locator(".flash")).toContainText(w.draft);
    await expect(onc.locator("#q_alternatives")).toHaveValue("Trifluridine/tipiracil remains an option.");
    for (const page of [onc, path]) {
      await page.goto(casePage(demo, "/mdt"));
      for (const q of QUESTIONS) {
        if (q !== "alternatives" || page === path) await page.fill(`#q_${q}`, `Answer to ${q}.`);
      }
      await page.selectOption("#recommendation", "proceed-to-car-t-evaluation");
      await page.selectOption("#confidence", "moderate");
      await page.fill("#rationale", "CLDN18.2 2+/3+ in 60% of tumour cells; two prior lines.");
      await page.click("button[value=opinion]");
      await expect(page.locator(".flash")).toContainText(w.submitted);
    }
    await coord.goto(casePage(demo, "/mdt"));
    await expect(coord.locator(".opinion-card")).toHaveCount(2);
    await axe(coord, "mdt, opinions side by side");

    // The oncologist leads the consensus with the pathologist's dissent; both sign.
    await onc.goto(casePage(demo, "/mdt"));
    await onc.selectOption("#c_recommendation_choice", "proceed-to-car-t-evaluation");
    await onc.fill("#summary", "Proceed to CAR-T evaluation at the treating centre.");
    for (const q of QUESTIONS) await onc.fill(`#c_${q}`, `Consensus on ${q}.`);
    await onc.fill("textarea[name^=dissent_]", "Retest CLDN18.2 on a fresh biopsy first.");
    await onc.click("form.consensus-form button.primary");
    await expect(onc.locator(".flash")).toContainText(w.consensus);
    for (const page of [onc, path]) {
      await page.goto(casePage(demo, "/mdt"));
      await page.click("form:has(input[value=sign]) button");
      await expect(page.locator(".flash")).toContainText(w.signed);
    }
    await coord.goto(casePage(demo, "/mdt"));
    await expect(coord.locator("article.consensus")).toContainText(w.all);
    await expect(coord.locator("article.consensus")).toContainText("Retest CLDN18.2 on a fresh biopsy first.");
    await axe(coord, "mdt, signed consensus");
    // The signed consensus's reports open from its links: the MDT report and the patient's
    // summary in the page's language, each passing axe.
    const lang2 = lang === "zh-CN" ? "zh-CN" : "en";
    for (const kind of ["mdt", "patient"]) {
      await coord.click(`p.reports a[href*=".html?kind=${kind}&lang=${lang2}"]`);
      await expect(coord.locator("h1")).toContainText(kind === "mdt" ? (lang === "en" ? "MDT second-opinion report" : "多学科团队第二意见报告") : (lang === "en" ? "Summary for the patient" : "致患者和照护者的摘要"));
      await expect(coord.locator("body")).toContainText("CP-");
      await axe(coord, `report ${kind}`);
      await coord.goBack();
      // Its PDF, fetched as the browser would save it.
      const href = await coord.getAttribute(`p.reports a[href*=".pdf?kind=${kind}&lang=${lang2}"]`, "href");
      const pdf = await coord.request.get(new URL(href, coord.url()).toString());
      expect(pdf.status()).toBe(200);
      expect(pdf.headers()["content-type"]).toBe("application/pdf");
      expect((await pdf.body()).subarray(0, 5).toString()).toBe("%PDF-");
    }

    // The infusion day: the grade shows before saving (live with JavaScript, on asking without).
    await onc.goto(casePage(demo, "/monitoring"));
    await onc.fill("#temp", "38.6");
    for (const [part, v] of [["orientation", "4"], ["naming", "3"], ["commands", "1"], ["writing", "1"], ["attention", "1"]]) {
      await onc.selectOption(`#ice_${part}`, v);
    }
    if (!js) await onc.click("button[value=preview]");
    await expect(onc.locator("#preview")).toContainText(w.ice);
    await expect(onc.locator("#preview")).toContainText(w.grade1);
    await axe(onc, "monitoring with the preview");
    await onc.click("button[value=save]");
    await expect(onc.locator(".flash")).toContainText(w.saved);

    // The coordinator sees the alert first in the work queue, opens it, acknowledges it.
    await coord.goto(`${demo.base}/work`);
    await expect(coord.locator("tr.alerting")).toContainText(w.alert);
    await axe(coord, "work queue with an alert");
    await coord.click("tr.alerting a.badge");
    await expect(coord.locator("ul.alerts")).toContainText(w.crs1);
    await axe(coord, "monitoring with an alert");
    await coord.click("ul.alerts button");
    await expect(coord.locator(".flash")).toContainText(w.acked);
    await coord.goto(`${demo.base}/work`);
    await expect(coord.locator("tr.alerting")).toHaveCount(0);
  });
}
