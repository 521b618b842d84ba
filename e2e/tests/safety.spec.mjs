// The safety loop at phone width, in both languages, with and without JavaScript: a
// caregiver's warning at home is answered where the eyes are (in view, focused, with two
// call buttons), reaches the coordinator's queue first and the monitoring inbox, is
// acknowledged there, and the family sees the receipt. A temperature in °F is read and said
// so; an impossible one is explained in the page's language.
import { test, expect, signIn, casePage, axe } from "./fixtures.mjs";

const W = {
  en: {
    reported: "You reported: 39.6 °C, confusion.",
    team: "Call the treating team: +86 10 0000 0000",
    emergency: "Emergency: call 120",
    alerted: "The team on call was alerted at",
    acked: "acknowledged by coordinator@demo.cellpath",
    fahrenheit: "103 °F = 39.4 °C",
    impossible: "60 is not a body temperature",
  },
  "zh-CN": {
    reported: "您报告：39.6 °C、意识混乱。",
    team: "+86 10 0000 0000",
    emergency: "120",
    alerted: "已于",
    acked: "coordinator@demo.cellpath",
    fahrenheit: "103 °F = 39.4 °C",
    impossible: "60 不是摄氏或华氏的体温读数",
  },
};

for (const lang of ["en", "zh-CN"]) {
  test(`a warning at home reaches the team and comes back acknowledged (${lang})`, async ({ demo, browser, page }, info) => {
    const w = W[lang];
    const js = info.project.use.javaScriptEnabled !== false;
    page.context()._jsOff = !js;

    await signIn(page, demo, "caregiver", lang);
    await page.goto(casePage(demo, "/diary"));
    await page.check("input[name=confusion]");
    await page.fill("#temperature", "39.6");
    await page.click("form.diary button.primary");

    // The answer is in view and focused, says what was reported, and has two call buttons.
    const answer = page.locator("#answer");
    await expect(answer).toBeInViewport();
    await expect(answer).toBeFocused();
    await expect(answer).toContainText(w.reported);
    await expect(answer).toContainText(w.alerted);
    const team = answer.locator("a[href='tel:+861000000000']");
    await expect(team).toBeVisible();
    await expect(team).toContainText(w.team);
    await expect(answer.locator("a[href='tel:120']")).toContainText(w.emergency);
    await axe(page, "diary answer");
    await page.screenshot({ path: `test-results/safety-answer-${lang}-${js ? "js" : "nojs"}.png`, fullPage: false });

    // The coordinator's work queue shows the case alerting, first; the monitoring page lists
    // the warning from home, which the coordinator acknowledges.
    const coordCtx = await browser.newContext({ javaScriptEnabled: js, viewport: { width: 390, height: 844 } });
    coordCtx._jsOff = !js;
    const coord = await coordCtx.newPage();
    await signIn(coord, demo, "coordinator", lang);
    await coord.goto(`${demo.base}/work`);
    await expect(coord.locator("tbody tr").first()).toHaveClass(/alerting/);
    await coord.goto(casePage(demo, "/monitoring"));
    const warning = coord.locator("#home-alerts li.unseen");
    await expect(warning).toHaveCount(1);
    await expect(warning).toContainText(lang === "en" ? "confusion" : "意识混乱");
    await axe(coord, "monitoring with a warning from home");
    await warning.locator("input[value=called-back]").check();
    await warning.locator("textarea").fill("Spoke to the daughter; coming in now.");
    await warning.locator("button.primary").click();
    await expect(coord.locator("#home-alerts li.seen")).toHaveCount(1);
    await expect(coord.locator("#home-alerts li.unseen")).toHaveCount(0);

    // The family sees the receipt, in their language.
    await page.goto(casePage(demo, "/diary"));
    await expect(page.locator(".receipts li").first()).toContainText(w.acked);
    await expect(page.locator(".receipts li .badge.met")).toHaveCount(1);

    // °F is read and said so; an impossible value is explained.
    await page.fill("#temperature", "103");
    await page.click("form.diary button.primary");
    await expect(page.locator("#answer")).toContainText(w.fahrenheit);
    await expect(page.locator("#answer")).toBeInViewport();
    await page.fill("#temperature", "60");
    await page.click("form.diary button.primary");
    await expect(page.locator(".notice.error")).toContainText(w.impossible);

    await coordCtx.close();
  });
}
