// Keyboard only: sign in, upload, the diary — every step reachable with Tab, done with
// Enter or Space, the focus always visible.
import { test, expect, casePage } from "./fixtures.mjs";

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
