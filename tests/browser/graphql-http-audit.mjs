// Runs graphql-http's server audits (the GraphQL-over-HTTP specification's
// MUST, SHOULD and MAY checks) against a running hamlet and exits non-zero if
// any MUST or SHOULD audit fails. MAY audits are listed, never failed on.
//
//   node tests/browser/graphql-http-audit.mjs http://127.0.0.1:8080
//
// It first waits (up to 60 s) for the server's /readyz to answer 200.

import { serverAudits } from "graphql-http";

const base = (process.argv[2] || "").replace(/\/+$/, "");
if (!/^https?:\/\//.test(base)) {
  console.error("usage: node graphql-http-audit.mjs http://HOST:PORT");
  process.exit(2);
}

async function waitForReady() {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const response = await fetch(`${base}/readyz`);
      if (response.status === 200) return;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      console.error(`${base}/readyz did not answer 200 within 60 s`);
      process.exit(1);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

await waitForReady();

const results = [];
for (const audit of serverAudits({ url: `${base}/graphql` })) {
  results.push(await audit.fn());
}

let failed = 0;
let notices = 0;
for (const result of results) {
  if (result.status === "ok") continue;
  const level = result.name.split(" ")[0];
  const fails = level === "MUST" || level === "SHOULD";
  if (fails) failed += 1;
  else notices += 1;
  let body = "";
  try {
    body = await result.response.text();
  } catch {
    // The body was read by the audit already.
  }
  console.log(`${fails ? "FAIL" : "note"} ${result.id} ${result.name}: ${result.reason}`);
  if (fails && body) console.log(`     status ${result.response.status}, body ${body.slice(0, 300)}`);
}
const passed = results.filter((result) => result.status === "ok").length;
console.log(
  `graphql-http ${results.length} audits: ${passed} passed, ${failed} MUST or SHOULD failed, ${notices} optional (MAY) not met`,
);
process.exit(failed === 0 ? 0 : 1);
