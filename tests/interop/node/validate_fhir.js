// Validates FHIR R4 resources with the npm `fhir` package (an independent validator from
// the Python fhir.resources models). Reads a JSON array of resources on stdin; prints a
// JSON array of {valid, messages} (errors only) in the same order.
"use strict";
const { Fhir } = require("fhir");

const fhir = new Fhir();
let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => { input += chunk; });
process.stdin.on("end", () => {
  const resources = JSON.parse(input);
  const out = resources.map((resource) => {
    const result = fhir.validate(resource, { errorOnUnexpected: true });
    const errors = result.messages.filter((m) => m.severity === "error");
    return { valid: errors.length === 0, messages: errors };
  });
  process.stdout.write(JSON.stringify(out));
});
