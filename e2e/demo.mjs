// Shared by the browser tests and the screenshot script: start `cellpath serve --demo` on a
// fresh data folder and read the demo accounts' passwords from what it prints.
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export async function startDemo({ bin, port = 0, extra = [] }) {
  const data = mkdtempSync(join(tmpdir(), "cellpath-e2e-"));
  const args = ["serve", "--demo", "--data-dir", data, "--bind", `127.0.0.1:${port}`, ...extra];
  // On PostgreSQL (CELLPATH_E2E_POSTGRES=postgres://user@host:port), each server gets a
  // database of its own, made here and dropped by `stop`.
  const pg = process.env.CELLPATH_E2E_POSTGRES;
  let database = null;
  if (pg) {
    database = `cellpath_e2e_${process.pid}_${Date.now()}`;
    execFileSync("psql", [`${pg}/postgres`, "-qc", `CREATE DATABASE ${database}`]);
    args.push("--database-url", `${pg}/${database}`);
  }
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
  const stop = async () => {
    if (child.exitCode === null) {
      await new Promise((resolve) => { child.once("exit", resolve); child.kill("SIGINT"); });
    }
    if (database) execFileSync("psql", [`${pg}/postgres`, "-qc", `DROP DATABASE IF EXISTS ${database}`]);
  };
  // Where the server keeps its data, for a command run beside it (`cellpath registry import`).
  const databaseArgs = database ? ["--database-url", `${pg}/${database}`] : ["--data-dir", data];
  return { child, passwords, base, data, databaseArgs, stop };
}

export const CHROMIUM_ARGS = [
  "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
];
