// The NBC SDK behind a command like `python manage.py khqr decode --json`: reads
// codes from stdin, one a line, and writes one JSON line each (the SDK's decode
// answer). bench/khqr.py times it on the same input as Tonle's command.
// Needs SDK_DIR (a folder where bakong-khqr is installed; see khqr_sdk.sh).
"use strict";
const path = require("path");
const readline = require("readline");

const { BakongKHQR } = require(path.join(process.env.SDK_DIR, "node_modules/bakong-khqr"));

const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
lines.on("line", (line) => {
  if (line.trim()) process.stdout.write(JSON.stringify(BakongKHQR.decode(line).data) + "\n");
});
