// Playwright Test in Debian's Chromium (no browser download), against a real
// `cellpath serve --demo` per test (e2e/fixtures.mjs). Run: `npx playwright test`
// (CELLPATH_BIN names the binary; default ../target/release/cellpath).
import { defineConfig } from "@playwright/test";
import { CHROMIUM_ARGS } from "./demo.mjs";

export default defineConfig({
  testDir: "tests",
  timeout: 120_000,
  expect: { timeout: 10_000 },
  // Two at a time (this machine has two cores; every test starts its own server and data
  // folder, so tests share nothing). CELLPATH_E2E_WORKERS=1 for a quieter run.
  fullyParallel: true,
  workers: Number(process.env.CELLPATH_E2E_WORKERS || 2),
  forbidOnly: !!process.env.CI,
  retries: 0,
  reporter: process.env.CI ? [["list"]] : [["list"]],
  use: {
    launchOptions: { executablePath: process.env.CHROMIUM || "/usr/bin/chromium", args: CHROMIUM_ARGS },
    viewport: { width: 390, height: 844 },
    trace: "off",
  },
  projects: [
    { name: "phone", use: { javaScriptEnabled: true } },
    { name: "no-javascript", use: { javaScriptEnabled: false }, testIgnore: /a11y|keyboard|perf/ },
  ],
});
