// The NBC SDK's throughput on the inputs bench/khqr.py wrote (argv[2]).
// Prints one JSON line: {"sdk", "encode_per_s", "decode_per_s"}.
"use strict";
const fs = require("fs");
const path = require("path");

const sdkDir = process.env.SDK_DIR;
const { BakongKHQR, IndividualInfo, MerchantInfo } = require(
  path.join(sdkDir, "node_modules/bakong-khqr"),
);
const version = require(path.join(sdkDir, "node_modules/bakong-khqr/package.json")).version;
const { inputs, codes, seconds } = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));

const CURRENCY = { KHR: 116, USD: 840 };
const infos = inputs.map((f) => {
  const optional = {
    currency: CURRENCY[f.currency],
    amount: f.amount, // a decimal string, as Tonle gets a Decimal
    billNumber: f.bill_number,
    storeLabel: f.store_label,
    languagePreference: f.language_preference,
    merchantNameAlternateLanguage: f.merchant_name_alternate_language,
    merchantCityAlternateLanguage: f.merchant_city_alternate_language,
    expirationTimestamp: f.expiration_ms,
  };
  return f.type === "merchant"
    ? ["merchant", new MerchantInfo(f.bakong_account_id, f.merchant_name, f.merchant_city, f.merchant_id, f.acquiring_bank, optional)]
    : ["individual", new IndividualInfo(f.bakong_account_id, f.merchant_name, f.merchant_city, optional)];
});
const khqr = new BakongKHQR();
function encodeOne([type, info]) {
  const r = type === "merchant" ? khqr.generateMerchant(info) : khqr.generateIndividual(info);
  if (r.status.code !== 0) throw new Error(JSON.stringify(r.status));
  return r;
}
function decodeOne(qr) {
  return BakongKHQR.decode(qr);
}
// Best of three rounds, as bench/khqr.py does.
function rate(fn, items, rounds = 3) {
  let best = 0;
  for (let r = 0; r < rounds; r++) {
    let done = 0;
    const start = process.hrtime.bigint();
    const deadline = start + BigInt(Math.round(seconds * 1e9));
    for (;;) {
      for (const item of items) fn(item);
      done += items.length;
      const now = process.hrtime.bigint();
      if (now >= deadline) {
        best = Math.max(best, done / (Number(now - start) / 1e9));
        break;
      }
    }
  }
  return best;
}
// Same strings out as Tonle: a sanity check that both did the same work.
let same = 0;
infos.forEach((info, i) => {
  const qr = encodeOne(info).data.qr;
  // Dynamic codes differ only in tag 99's creation time (and so the CRC).
  const cut = qr.startsWith("000201010212") ? -46 : qr.length;
  if (qr.slice(0, cut) === codes[i].slice(0, cut)) same++;
});
rate(encodeOne, infos.slice(0, 200), 1); // warm-up (JIT)
rate(decodeOne, codes.slice(0, 200), 1);
const ready = { sdk: version, same_prefix: same, sdk_dir: sdkDir };

if (process.argv[3] === "--serve") {
  // One round per line read ("encode" or "decode"), so that bench/khqr.py can
  // interleave the SDK's rounds with Tonle's and both see the same machine load.
  console.log(JSON.stringify(ready));
  const readline = require("readline");
  const rl = readline.createInterface({ input: process.stdin });
  rl.on("line", (line) => {
    const op = line.trim();
    const perS = op === "encode" ? rate(encodeOne, infos, 1) : rate(decodeOne, codes, 1);
    console.log(JSON.stringify({ op, per_s: perS }));
  });
} else {
  const encodePerS = rate(encodeOne, infos);
  const decodePerS = rate(decodeOne, codes);
  console.log(JSON.stringify({ ...ready, encode_per_s: encodePerS, decode_per_s: decodePerS }));
}
