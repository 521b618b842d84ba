// Shared by the browser tests and the screenshot script: start `cellpath serve --demo` on a
// fresh data folder and read the demo accounts' passwords from what it prints.
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export async function startDemo({ bin, port = 0, extra = [] }) {
  const data = mkdtempSync(join(tmpdir(), "cellpath-e2e-"));
  const args = ["serve", "--demo", "--data-dir", data, "--bind", `127.0.0.1:${port}`, ...extra];
  const child = spawn(bin, args, { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, RUST_LOG: "warn" } });
  const passwords = {};
  let log = "";
  let base = "";
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the server did not start:\n${log}`)), 60000);
    child.stderr.on("data", (chunk) => {
      log += chunk.toString();
      for (const m of log.matchAll(/^\s+(\S+@demo\.cellpath)\s+\S+\s+password (\S+)$/gm)) passwords[m[1]] = m[2];
      // The whole line: a chunk may end in the middle of the address.
      const m = log.match(/cellpath serving on (http:\/\/\S+) \(/);
      if (m) { base = m[1]; clearTimeout(timer); resolve(); }
    });
    child.on("exit", (code) => { clearTimeout(timer); reject(new Error(`the server exited (${code}):\n${log}`)); });
  });
  return { child, passwords, base, data };
}

export const CHROMIUM_ARGS = [
  "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
];
