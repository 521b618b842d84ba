// The patient's and caregiver's journey end to end, in English and in Chinese, on a
// phone-sized window; the "no-javascript" project runs the same flows with scripts off.
import { test, expect, WORDS, signIn, casePage } from "./fixtures.mjs";

const PDF = Buffer.from("%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n");

for (const lang of ["en", "zh-CN"]) {
  test(`patient and caregiver journey (${lang})`, async ({ demo, browser, page }, info) => {
    const w = WORDS[lang];
    const js = info.project.use.javaScriptEnabled !== false;
    const context = () => browser.newContext({ javaScriptEnabled: js, viewport: { width: 390, height: 844 } });

    // The patient signs in and sees where the case is, in their language.
    await signIn(page, demo, "patient", lang);
    await page.goto(casePage(demo));
    await expect(page.locator("h1")).toHaveText(w.myCase);
    await expect(page.locator("html")).toHaveAttribute("lang", w.html);
    await expect(page.locator(".stages [aria-current=step]")).toHaveCount(1);
    await expect(page.locator("footer .advice")).toBeVisible();

    // The caregiver (view access) can open the case.
    const carerCtx = await context();
    const carer = await carerCtx.newPage();
    await signIn(carer, demo, "caregiver", lang);
    expect((await carer.goto(casePage(demo))).status()).toBe(200);

    // Consents: withdrawing caregiver access ends the caregiver's access at once; giving it
    // again restores it.
    await page.goto(`${demo.base}/consents`);
    await page.click("button[name=withdraw][value=caregiver-access]");
    await expect(page.locator(".flash")).toContainText(w.withdrawn);
    expect((await carer.goto(casePage(demo))).status()).toBe(403);
    await page.click("button[name=give][value=caregiver-access]");
    await expect(page.locator(".flash")).toBeVisible();
    await expect(page.locator("button[name=withdraw][value=caregiver-access]")).toBeVisible();
    expect((await carer.goto(casePage(demo))).status()).toBe(200);

    // Upload a record; it is listed with who added it, and downloads.
    await page.goto(casePage(demo, "/records"));
    await page.setInputFiles("#files", { name: "pathology-report.pdf", mimeType: "application/pdf", buffer: PDF });
    await page.click("form.upload button.primary");
    await expect(page.locator(".flash")).toContainText(w.uploaded);
    await expect(page.locator("table")).toContainText("pathology-report.pdf");
    await expect(page.locator("table")).toContainText("patient@demo.cellpath");

    // The pre-screen: the CLDN18.2 picture, each programme, the technical view one click away.
    await page.goto(casePage(demo, "/prescreen"));
    await expect(page.locator("svg.cldn")).toBeVisible();
    expect(await page.locator("section.programme").count()).toBeGreaterThan(2);
    const technical = page.locator("section.programme details").first();
    await technical.locator("summary").click();
    await expect(technical.locator("code").first()).toBeVisible();

    // Invite a caregiver by e-mail, see them get access, remove them, see it end. The
    // account is made by the admin and its password set through the one-time link.
    const adminCtx = await context();
    const admin = await adminCtx.newPage();
    await signIn(admin, demo, "admin", lang);
    await admin.goto(`${demo.base}/admin`);
    await admin.fill("#u-email", `helper-${lang}@example.org`);
    await admin.selectOption("#u-role", "caregiver");
    await admin.click("form:has(#u-email) button.primary");
    const link = await admin.inputValue("#pw-link");
    const newCtx = await context();
    const helper = await newCtx.newPage();
    await helper.goto(`${demo.base}${link}`);
    await helper.fill("#password", "a long enough password");
    await helper.fill("#again", "a long enough password");
    await helper.click("main button.primary");
    await expect(helper.locator(".flash")).toBeVisible();
    await signIn(helper, demo, `helper-${lang}@example.org`, lang, "a long enough password");
    expect((await helper.goto(casePage(demo))).status()).toBe(404);
    await page.goto(casePage(demo, "/team"));
    await page.fill("#invite-email", `helper-${lang}@example.org`);
    await page.click("form:has(#invite-email) button.primary");
    await expect(page.locator(".flash")).toContainText(w.invited);
    expect((await helper.goto(casePage(demo))).status()).toBe(200);
    await page.locator(`ul.people li:has-text("helper-${lang}@example.org") button.danger`).click();
    await expect(page.locator(".flash")).toContainText(w.removed);
    expect((await helper.goto(casePage(demo))).status()).toBe(404);

    // The caregiver's diary: a warning sign gets "call now", with the number, at once.
    await carer.goto(casePage(demo, "/diary"));
    await carer.check("input[name=unresponsive]");
    await carer.fill("#temperature", "39.2");
    await carer.click("form.diary button.primary");
    await expect(carer.locator(".answer.urgent")).toBeVisible();
    await expect(carer.locator(".answer.urgent a[href='tel:120']")).toContainText(w.callNow);
    await carer.reload();
    await expect(carer.locator(".history li").first()).toContainText("39.2");

    // A herbal remedy inside the infusion's risk window is held, with the reason.
    await page.goto(casePage(demo, "/support"));
    await page.selectOption("#kind", "tcm-herbal");
    await page.fill("#details", "Huangqi decoction");
    await page.fill("#from", "2027-01-20");
    await page.click("form:has(#details) button.primary");
    await expect(page.locator(".requests-list li").first()).toContainText(w.held);
    await expect(page.locator(".requests-list li").first()).toContainText("Huangqi decoction");

    for (const c of [carerCtx, adminCtx, newCtx]) await c.close();
  });
}

test("signed out, a page sends to sign in and back", async ({ demo, page }) => {
  await page.goto(casePage(demo, "/journey"));
  await expect(page).toHaveURL(/\/sign-in\?next=/);
  await page.fill("#email", "patient@demo.cellpath");
  await page.fill("#password", demo.passwords["patient@demo.cellpath"]);
  await page.click("main button.primary");
  await expect(page).toHaveURL(casePage(demo, "/journey"));
  await expect(page.locator("svg.timeline")).toBeVisible();
});
