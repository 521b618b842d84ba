// Keyboard only: sign in, upload, the diary, an MDT opinion and a monitoring entry — every step reachable with Tab, done with
// Enter or Space, the focus always visible.
import { test, expect, casePage, signIn } from "./fixtures.mjs";

async function focusVisible(page) {
  const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
  expect(outline).not.toBe("none");
}

async function tabTo(page, selector, max = 40) {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press("Tab");
    if (await page.evaluate((s) => document.activeElement && document.activeElement.matches(s), selector)) {
      await focusVisible(page);
      return;
    }
  }
  throw new Error(`could not reach ${selector} with Tab`);
}

test("sign in, upload and the diary by keyboard alone", async ({ demo, page }) => {
  await page.goto(`${demo.base}/sign-in?next=/cases/c-demo-1/records`);
  await tabTo(page, "#email");
  await page.keyboard.type("patient@demo.cellpath");
  await tabTo(page, "#password");
  await page.keyboard.type(demo.passwords["patient@demo.cellpath"]);
  await page.keyboard.press("Enter");
  await expect(page).toHaveURL(casePage(demo, "/records"));
  // The file picker is the browser's own dialog; the file is given to the focused input.
  await tabTo(page, "#files");
  await page.setInputFiles("#files", { name: "scan.png", mimeType: "image/png", buffer: Buffer.from("89504e470d0a1a0a0000000d49484452", "hex") });
  await tabTo(page, "form.upload button.primary");
  await page.keyboard.press("Enter");
  await expect(page.locator(".flash")).toBeVisible();
  await expect(page.locator("table")).toContainText("scan.png");
  await page.goto(casePage(demo, "/diary"));
  await tabTo(page, "input[name=dizziness]");
  await page.keyboard.press("Space");
  await tabTo(page, "form.diary button.primary");
  await page.keyboard.press("Enter");
  await expect(page.locator(".answer")).toBeVisible();
});

test("an MDT opinion and a monitoring entry by keyboard alone", async ({ demo, browser, page }) => {
  // The coordinator assigns the oncologist (not the point of this test: by mouse).
  const coord = await (await browser.newContext()).newPage();
  await signIn(coord, demo, "coordinator");
  await coord.goto(casePage(demo, "/mdt"));
  await coord.selectOption("#user_id", { label: "oncologist@demo.cellpath" });
  await coord.fill("#due", "2027-01-15");
  await coord.click("form:has(#user_id) button.primary");
  await expect(coord.locator(".flash")).toBeVisible();

  await page.goto(`${demo.base}/sign-in?next=/cases/c-demo-1/mdt`);
  await tabTo(page, "#email");
  await page.keyboard.type("oncologist@demo.cellpath");
  await tabTo(page, "#password");
  await page.keyboard.type(demo.passwords["oncologist@demo.cellpath"]);
  await page.keyboard.press("Enter");
  await expect(page).toHaveURL(casePage(demo, "/mdt"));
  for (const q of ["biomarker_eligibility", "treatment_sequence", "alternatives", "benefit_and_risk", "access_and_logistics", "recommendation"]) {
    await tabTo(page, `#q_${q}`);
    await page.keyboard.type(`Answer to ${q}.`);
  }
  // A closed select takes the arrow keys: the first choice after the empty one.
  await tabTo(page, "#recommendation");
  await page.keyboard.press("ArrowDown");
  await tabTo(page, "#confidence");
  await page.keyboard.press("ArrowDown");
  await tabTo(page, "#rationale");
  await page.keyboard.type("Typed without a mouse.");
  await tabTo(page, "button[value=opinion]");
  await page.keyboard.press("Enter");
  await expect(page.locator(".flash")).toBeVisible();
  await expect(page.locator(".opinion-card")).toContainText("Typed without a mouse.");

  await page.goto(casePage(demo, "/monitoring"));
  await tabTo(page, "#temp", 60);
  await page.keyboard.type("38.4");
  for (const part of ["orientation", "naming", "commands", "writing", "attention"]) {
    await tabTo(page, `#ice_${part}`);
    await page.keyboard.press("End");
  }
  await expect(page.locator("#preview")).toContainText("ICE score: 10 of 10");
  await tabTo(page, "button[value=save]");
  await page.keyboard.press("Enter");
  await expect(page.locator(".flash")).toContainText("The entry was saved and graded.");
  await expect(page.locator("ul.alerts")).toContainText("CRS grade 1");
});
