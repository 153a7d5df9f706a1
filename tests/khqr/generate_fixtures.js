// Writes tests/khqr/fixtures/sdk_cases.json from the NBC KHQR SDK (bakong-khqr).
//
// Run through generate_fixtures.sh, which installs the SDK into a temporary
// folder. Every case is an input in Tonle's snake_case JSON and the SDK's answer;
// cases marked "difference" are inputs the SDK mishandles, where Tonle answers
// differently on purpose (tests/khqr/test_sdk_fixtures.py says how).
"use strict";
const fs = require("fs");
const path = require("path");
const vm = require("vm");

const sdkDir = process.env.SDK_DIR;
const { BakongKHQR, IndividualInfo, MerchantInfo } = require(
  path.join(sdkDir, "node_modules/bakong-khqr"),
);
const crc16 = require(path.join(sdkDir, "node_modules/bakong-khqr/src/helper/crc16"));
const sdkVersion = require(path.join(sdkDir, "node_modules/bakong-khqr/package.json")).version;

const realNow = Date.now;
const NOW = 1767225600000; // 2026-01-01T00:00:00Z: pinned "now" for every case
const HOUR = 3600000;

// Deterministic PRNG (mulberry32).
let seed = 20260101;
function rand() {
  seed |= 0;
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = (xs) => xs[Math.floor(rand() * xs.length)];
const chance = (p) => rand() < p;

const LATIN = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -_.#/&";
const KHMER = "កខគឃងចឆជឈញដឋឌឍណតថទធនបផពភមយរលវសហឡអាិីឹឺុូួើឿៀេែៃោៅំះ្";
function text(n, alphabet = LATIN) {
  let s = "";
  for (let i = 0; i < n; i++) s += alphabet[Math.floor(rand() * alphabet.length)];
  return s;
}
function trimEnds(s) {
  // Spaces at the ends are legal but make unreadable fixtures.
  return s.replace(/^ /, "x").replace(/ $/, "y");
}
const latin = (n) => trimEnds(text(n));
const khmer = (n) => text(n, KHMER);

// Fields that become the SDK's optional object (camelCase).
const OPTIONAL = {
  account_information: "accountInformation",
  acquiring_bank: "acquiringBank",
  amount: "amount",
  currency: "currency",
  bill_number: "billNumber",
  mobile_number: "mobileNumber",
  store_label: "storeLabel",
  terminal_label: "terminalLabel",
  purpose_of_transaction: "purposeOfTransaction",
  language_preference: "languagePreference",
  merchant_name_alternate_language: "merchantNameAlternateLanguage",
  merchant_city_alternate_language: "merchantCityAlternateLanguage",
  upi_merchant_account: "upiMerchantAccount",
  merchant_category_code: "merchantCategoryCode",
  expiration_ms: "expirationTimestamp",
};
const CURRENCY = { KHR: 116, USD: 840 };

// JSON cannot carry NaN or Infinity: {"$js": "NaN"} stands for the JS value.
function jsValue(v) {
  if (v && typeof v === "object" && "$js" in v) return Number(v.$js);
  return v;
}

function runEncode(fields, nowMs) {
  const optional = {};
  for (const [ours, theirs] of Object.entries(OPTIONAL)) {
    if (!(ours in fields)) continue;
    let v = jsValue(fields[ours]);
    if (ours === "currency" && typeof v === "string" && v in CURRENCY) v = CURRENCY[v];
    optional[theirs] = v;
  }
  Date.now = () => nowMs;
  try {
    const khqr = new BakongKHQR();
    let result;
    if (fields.type === "merchant") {
      const info = new MerchantInfo(
        fields.bakong_account_id,
        fields.merchant_name,
        fields.merchant_city,
        fields.merchant_id,
        fields.acquiring_bank,
        optional,
      );
      result = khqr.generateMerchant(info);
    } else {
      const info = new IndividualInfo(
        fields.bakong_account_id,
        fields.merchant_name,
        fields.merchant_city,
        optional,
      );
      result = khqr.generateIndividual(info);
    }
    if (result.status.code === 1) {
      return { error: { code: result.status.errorCode, message: result.status.message } };
    }
    if (typeof result.data.qr !== "string") {
      return { crash: String(result.data.qr) };
    }
    const answer = { qr: result.data.qr, md5: result.data.md5 };
    answer.sdk_verify = BakongKHQR.verify(result.data.qr).isValid;
    return answer;
  } catch (e) {
    return { crash: String(e) };
  } finally {
    Date.now = realNow;
  }
}

function guarded(fn, arg, nowMs) {
  Date.now = () => nowMs;
  try {
    return vm.runInNewContext("fn(arg)", { fn, arg }, { timeout: 500 });
  } catch (e) {
    if (e.code === "ERR_SCRIPT_EXECUTION_TIMEOUT") return "hang";
    return { crash: String(e) };
  } finally {
    Date.now = realNow;
  }
}

const encodeCases = [];
function enc(name, fields, opts = {}) {
  const nowMs = opts.now_ms ?? NOW;
  const sdk = runEncode(fields, nowMs);
  encodeCases.push({
    id: `encode-${String(encodeCases.length + 1).padStart(4, "0")}`,
    name,
    fields,
    now_ms: nowMs,
    sdk,
    difference: opts.difference ?? null,
  });
}

const base = (extra = {}) => ({
  type: "individual",
  bakong_account_id: "jonhsmith@nbcq",
  merchant_name: "Jonh Smith",
  merchant_city: "Phnom Penh",
  ...extra,
});
const merchant = (extra = {}) => ({
  type: "merchant",
  bakong_account_id: "coffee_shop@aclb",
  merchant_name: "Coffee Shop",
  merchant_city: "Siem Reap",
  merchant_id: "123456",
  acquiring_bank: "ACLEDA Bank",
  ...extra,
});
const dyn = (extra = {}) => ({ expiration_ms: NOW + HOUR, ...extra });

// --- shapes -------------------------------------------------------------------
for (const make of [base, merchant]) {
  const t = make().type;
  enc(`${t} static minimal`, make());
  enc(`${t} static USD`, make({ currency: "USD" }));
  enc(`${t} static numeric currency`, make({ currency: 840 }));
  enc(`${t} dynamic KHR`, make(dyn({ amount: 50000 })));
  enc(`${t} dynamic USD`, make(dyn({ currency: "USD", amount: 1.5 })));
  enc(`${t} all optional fields`, make(dyn({
    currency: "KHR",
    amount: 12000,
    account_information: "012345678",
    bill_number: "INV-2026-0001",
    mobile_number: "85512345678",
    store_label: "Main store",
    terminal_label: "Till 2",
    purpose_of_transaction: "Coffee",
    language_preference: "km",
    merchant_name_alternate_language: "ហាងកាហ្វេ",
    merchant_city_alternate_language: "សៀមរាប",
    upi_merchant_account: "0002ABCD1234",
    merchant_category_code: "5812",
  })));
  enc(`${t} individual acquiring bank`, make({ acquiring_bank: "Dev Bank" }));
  enc(`${t} amount zero is static`, make({ amount: 0 }));
  enc(`${t} amount "0.00" is static`, make({ amount: "0.00", currency: "USD" }));
  enc(`${t} static ignores expiration`, make({ expiration_ms: NOW - HOUR }));
  enc(`${t} no city defaults to Phnom Penh`, make({ merchant_city: "" }));
  enc(`${t} null city defaults to Phnom Penh`, make({ merchant_city: null }));
}

// --- required fields and account id -------------------------------------------
enc("bakong account missing", base({ bakong_account_id: null }));
enc("bakong account empty", base({ bakong_account_id: "" }));
enc("bakong account without @", base({ bakong_account_id: "jonhsmith" }));
enc("bakong account bare @", base({ bakong_account_id: "@" }));
enc("bakong account two @", base({ bakong_account_id: "a@b@c" }));
enc("bakong account 32", base({ bakong_account_id: latin(27) + "@abcd" }));
enc("bakong account 33", base({ bakong_account_id: latin(28) + "@abcd" }));
enc("bakong account 33 without @", base({ bakong_account_id: latin(33).replace(/@/g, "x") }));
enc("merchant name missing", base({ merchant_name: null }));
enc("merchant name empty", base({ merchant_name: "" }));
enc("merchant id missing", merchant({ merchant_id: null }));
enc("merchant id empty", merchant({ merchant_id: "" }));
enc("acquiring bank missing", merchant({ acquiring_bank: null }));
enc("acquiring bank empty", merchant({ acquiring_bank: "" }));
enc("merchant ignores account information", merchant({ account_information: "999" }));
enc("individual ignores merchant id", base({ merchant_id: "999" }));

// --- every length limit: at the limit and one past it ----------------------------
const LIMITS = [
  ["merchant_name", 25, base],
  ["merchant_city", 15, base],
  ["merchant_id", 32, merchant],
  ["acquiring_bank", 32, merchant],
  ["acquiring_bank", 32, base],
  ["account_information", 32, base],
  ["bill_number", 25, base],
  ["mobile_number", 25, base],
  ["store_label", 25, base],
  ["terminal_label", 25, base],
  ["purpose_of_transaction", 25, base],
  ["merchant_name_alternate_language", 25, (x) => base({ language_preference: "km", ...x })],
  ["merchant_city_alternate_language", 15, base],
  ["upi_merchant_account", 99, base],
];
for (const [field, limit, make] of LIMITS) {
  for (const n of [1, limit - 1, limit, limit + 1]) {
    enc(`${field} ${n} latin (${make().type})`, make({ [field]: latin(n) }));
  }
  for (const n of [limit, limit + 1]) {
    if (field === "upi_merchant_account" || field === "mobile_number") continue;
    enc(`${field} ${n} khmer (${make().type})`, make({ [field]: khmer(n) }));
  }
}
enc("language preference 2", base({ language_preference: "km", merchant_name_alternate_language: "ចន" }));
enc("language preference 3", base({ language_preference: "kmr", merchant_name_alternate_language: "ចន" }));
enc("language preference 1", base({ language_preference: "k", merchant_name_alternate_language: "ចន" }));
enc("language preference without name", base({ language_preference: "km" }));
enc("language preference and city without name", base({ language_preference: "km", merchant_city_alternate_language: "ភ្នំពេញ" }));
enc("city alternate alone", base({ merchant_city_alternate_language: "ភ្នំពេញ" }));
enc("khmer name and city", base({ language_preference: "km", merchant_name_alternate_language: "ចន ស្មីន", merchant_city_alternate_language: "ភ្នំពេញ" }));
enc("khmer merchant name in tag 59", base({ merchant_name: "ហាងលក់ទំនិញ" }));
enc("khmer city in tag 60", base({ merchant_city: "ភ្នំពេញ" }));
enc("khmer bill number", base({ bill_number: "វិក្កយបត្រ១២៣" }));
enc("emoji counted as two units", base({ merchant_name: "Coffee \u2615 shop \ud83d\ude00" }));
enc("emoji name 25 units", base({ merchant_name: "\ud83d\ude00".repeat(12) + "x" }));
enc("emoji name 26 units", base({ merchant_name: "\ud83d\ude00".repeat(13) }));

// --- merchant category code --------------------------------------------------------
for (const mcc of ["5999", "0000", "9999", "5812", "12345", "59a9", "abcd", "1", "123", 4111, "", null, " 123"]) {
  enc(`merchant category code ${JSON.stringify(mcc)}`, base({ merchant_category_code: mcc }));
}

// --- currency -------------------------------------------------------------------
for (const currency of ["KHR", "USD", 116, 840, "116", "840", "THB", 764, "1160", "EURO", "11"]) {
  enc(`currency ${JSON.stringify(currency)}`, base({ currency }));
  enc(`currency ${JSON.stringify(currency)} dynamic`, base(dyn({ currency, amount: 100 })));
}
enc("UPI with USD", base({ currency: "USD", upi_merchant_account: "0002ABCD" }));
enc("UPI with KHR", base({ currency: "KHR", upi_merchant_account: "0002ABCD" }));
enc("UPI 100 with USD", base({ currency: "USD", upi_merchant_account: latin(100) }));

// --- amounts ----------------------------------------------------------------------
const KHR_AMOUNTS = [1, 100, 50000, 1000000, "1000", "1000.00", "5.", 1000.0, 9999999999999,
  10000000000000, 1000.5, "1000.5", 0.5, -5, "-5", "abc", "1,000", "0001", 100.0];
for (const amount of KHR_AMOUNTS) {
  enc(`KHR amount ${JSON.stringify(amount)}`, base(dyn({ currency: "KHR", amount })));
}
const USD_AMOUNTS = [1, 1.5, 0.01, 0.1, 10, 100.25, "1.50", "1.5", "1", "1.00", "1.0", "5.",
  ".5", 1234567890.25, 12345678901.25, "1234567890123", "12345678901234", 0.001, "0.001",
  1.005, -1, "-1.00", "0007.5", 9999999999.99];
for (const amount of USD_AMOUNTS) {
  enc(`USD amount ${JSON.stringify(amount)}`, base(dyn({ currency: "USD", amount })));
}
// The SDK accepts these and writes them into tag 54; banks refuse the code.
const SDK_BAD_AMOUNTS = [
  ["USD", "1,000"], ["USD", "abc"], ["USD", "1e5"], ["USD", { $js: "NaN" }],
  ["USD", { $js: "Infinity" }], ["USD", 1e21], ["KHR", 1e21], ["USD", 1e-7], ["USD", "12 "],
  ["USD", "0x10"],
];
for (const [currency, amount] of SDK_BAD_AMOUNTS) {
  enc(`${currency} amount ${JSON.stringify(amount)} (SDK accepts)`, base(dyn({ currency, amount })), {
    difference: "amount_not_plain_decimal",
  });
}
enc("KHR NaN", base(dyn({ currency: "KHR", amount: { $js: "NaN" } })));

// --- timestamps ---------------------------------------------------------------------
enc("dynamic without expiration", base({ amount: 100 }));
enc("dynamic expiration null", base({ amount: 100, expiration_ms: null }));
enc("dynamic expiration 12 digits", base({ amount: 100, expiration_ms: 999999999999 }));
enc("dynamic expiration 14 digits", base({ amount: 100, expiration_ms: 10000000000000 }));
enc("dynamic expiration in the past", base({ amount: 100, expiration_ms: NOW - 1 }));
enc("dynamic expiration now", base({ amount: 100, expiration_ms: NOW }));
enc("dynamic expiration one second", base({ amount: 100, expiration_ms: NOW + 1000 }));
enc("dynamic expiration as string", base({ amount: 100, expiration_ms: String(NOW + HOUR) }));
enc("dynamic expiration not a number", base({ amount: 100, expiration_ms: "soon" }));
enc("dynamic expiration negative", base({ amount: 100, expiration_ms: -(NOW + HOUR) }));
enc("dynamic expiration far future", base({ amount: 100, expiration_ms: 9999999999999 }));
enc("other pinned now", base(dyn({ amount: 100, expiration_ms: 1900000000000 })), { now_ms: 1800000000000 });

// --- order of checks: several errors at once ------------------------------------------
enc("bad account and bad amount", base(dyn({ bakong_account_id: "x", amount: -1 })));
enc("bad mcc and bad currency", base({ merchant_category_code: "x", currency: "THB" }));
enc("bad currency and bad name", base({ currency: "THB", merchant_name: "" }));
enc("bad amount and long name", base(dyn({ amount: 1.5, merchant_name: latin(30) })));
enc("long name and long bill", base({ merchant_name: latin(30), bill_number: latin(30) }));
enc("long bill and long language", base({ bill_number: latin(30), language_preference: "kmx", merchant_name_alternate_language: "ក" }));
enc("long terminal and no expiration", base({ amount: 100, terminal_label: latin(30) }));
enc("UPI too long and bad account", base({ upi_merchant_account: latin(100), bakong_account_id: "x" }));
enc("UPI USD and bad amount", base(dyn({ upi_merchant_account: "0002AB", currency: "USD", amount: "x" })));

// --- templates past 99 characters (the SDK writes a three-digit length) ----------------
enc("merchant template 108 characters", merchant({
  bakong_account_id: latin(27) + "@abcd",
  merchant_id: latin(32),
  acquiring_bank: latin(32),
}), { difference: "template_over_99" });
enc("individual template 104 characters", base({
  bakong_account_id: latin(27) + "@abcd",
  account_information: latin(32),
  acquiring_bank: latin(28),
}), { difference: "template_over_99" });
enc("additional data 116 characters", base({
  bill_number: latin(25),
  mobile_number: latin(25),
  store_label: latin(25),
  terminal_label: latin(25),
}), { difference: "template_over_99" });
enc("additional data 100 characters", base({
  bill_number: latin(25),
  mobile_number: latin(25),
  store_label: latin(25),
  terminal_label: latin(9),
}), { difference: "template_over_99" });
enc("additional data 99 characters", base({
  bill_number: latin(25),
  mobile_number: latin(25),
  store_label: latin(25),
  terminal_label: latin(8),
}));
enc("template over 99 and a bad amount", base(dyn({
  bill_number: latin(25), mobile_number: latin(25), store_label: latin(25),
  terminal_label: latin(25), amount: -3,
})));
enc("alternate name without preference", base({ merchant_name_alternate_language: "ចន" }), {
  difference: "language_preference_required",
});

// --- random valid codes of every shape ------------------------------------------------
function randomFields() {
  const isMerchant = chance(0.5);
  const f = isMerchant ? merchant() : base();
  const alpha = () => (chance(0.3) ? khmer : latin);
  f.bakong_account_id = trimEnds(text(1 + Math.floor(rand() * 20), "abcdefghijklmnopqrstuvwxyz_.0123456789")) + "@" + pick(["aclb", "abaa", "wing", "hatt", "devb", "nbcq"]);
  f.merchant_name = alpha()(1 + Math.floor(rand() * 25));
  if (chance(0.9)) f.merchant_city = alpha()(1 + Math.floor(rand() * 15));
  if (isMerchant) {
    f.merchant_id = latin(1 + Math.floor(rand() * 20));
    f.acquiring_bank = latin(1 + Math.floor(rand() * 20));
  } else {
    if (chance(0.3)) f.account_information = latin(1 + Math.floor(rand() * 20));
    if (chance(0.2)) f.acquiring_bank = latin(1 + Math.floor(rand() * 20));
  }
  f.currency = pick(["KHR", "USD", 116, 840]);
  if (chance(0.6)) {
    if (f.currency === "KHR" || f.currency === 116) f.amount = pick([100, 500, 1000, 25000, 4000000, "15000"]) * 1 + Math.floor(rand() * 100) * 100;
    else f.amount = pick([1, 2.5, 9.99, 0.05, 120, "3.10", "42"]);
    f.expiration_ms = NOW + 1000 * (30 + Math.floor(rand() * 86400));
  }
  let room = 99;
  for (const [field, max] of [["bill_number", 25], ["mobile_number", 12], ["store_label", 20], ["terminal_label", 15], ["purpose_of_transaction", 20]]) {
    if (!chance(0.3)) continue;
    const n = 1 + Math.floor(rand() * max);
    if (n + 4 > room) continue;
    room -= n + 4;
    f[field] = field === "mobile_number" ? "855" + text(n, "0123456789") : alpha()(n);
  }
  if (chance(0.25)) {
    f.language_preference = pick(["km", "th", "zh"]);
    f.merchant_name_alternate_language = khmer(1 + Math.floor(rand() * 25));
    if (chance(0.6)) f.merchant_city_alternate_language = khmer(1 + Math.floor(rand() * 15));
  }
  if (chance(0.1) && (f.currency === "KHR" || f.currency === 116)) f.upi_merchant_account = latin(8 + Math.floor(rand() * 30));
  if (chance(0.3)) f.merchant_category_code = pick(["5411", "5812", "5999", "7011", "4111"]);
  return f;
}
for (let i = 0; i < 360; i++) enc(`random ${i + 1}`, randomFields());

// Random codes with one field broken: the SDK's error must come out.
const BREAKS = [
  ["bakong_account_id", () => latin(10).replace(/@/g, "")],
  ["bakong_account_id", () => latin(30) + "@abcd"],
  ["merchant_name", () => latin(26 + Math.floor(rand() * 10))],
  ["merchant_name", () => khmer(26 + Math.floor(rand() * 10))],
  ["merchant_city", () => latin(16 + Math.floor(rand() * 10))],
  ["bill_number", () => latin(26)],
  ["store_label", () => khmer(26)],
  ["terminal_label", () => latin(40)],
  ["purpose_of_transaction", () => latin(26)],
  ["mobile_number", () => "855" + text(23, "0123456789")],
  ["merchant_category_code", () => pick(["12345", "ab12", "5 99"])],
  ["currency", () => pick(["THB", "EUR", 764, "1160"])],
  ["account_information", () => latin(33)],
];
for (let i = 0; i < 120; i++) {
  const f = randomFields();
  const [field, make] = pick(BREAKS);
  f[field] = make();
  enc(`random ${i + 1} with a bad ${field}`, f);
}

// --- numbers where text is expected (the SDK's README passes merchantID as one) -----
// The SDK writes a number given for a text field as its digits; Tonle accepts ints
// there too. Zero is "empty", as the SDK's own checks read it.
enc("merchant id as a number (the SDK README)", merchant({ merchant_id: 1243546472 }));
enc("merchant id 0 is missing", merchant({ merchant_id: 0 }));
enc("merchant id negative number", merchant({ merchant_id: -12 }));
enc("acquiring bank as a number", merchant({ acquiring_bank: 12345 }));
enc("acquiring bank 0 is missing", merchant({ acquiring_bank: 0 }));
enc("individual acquiring bank as a number", base({ acquiring_bank: 7 }));
enc("account information as a number", base({ account_information: 12345 }));
enc("bill number as a number", base({ bill_number: 12345 }));
enc("bill number 0 is left out", base({ bill_number: 0 }));
enc("bill number negative number", base({ bill_number: -7 }));
enc("mobile number as a number", base({ mobile_number: 85512345678 }));
enc("store label as a number", base({ store_label: 7 }));
enc("terminal label as a number", base({ terminal_label: 2 }));
enc("purpose as a number", base({ purpose_of_transaction: 42 }));
enc("every label a number, dynamic", merchant(dyn({
  amount: 1500, merchant_id: 900001, bill_number: 20260001, mobile_number: 85512345678,
  store_label: 12, terminal_label: 3, purpose_of_transaction: 1,
})));
enc("merchant name as a number", base({ merchant_name: 12345 }));
enc("merchant name 0 is missing", base({ merchant_name: 0 }));
enc("merchant city as a number", base({ merchant_city: 12345 }));
enc("merchant city 0 is the default", base({ merchant_city: 0 }));
enc("merchant city number past 15 digits", base({ merchant_city: 1234567890123456 }));
enc("language preference as a number", base({ language_preference: 12, merchant_name_alternate_language: "ចន" }));
enc("alternate name as a number", base({ language_preference: "km", merchant_name_alternate_language: 777 }));
enc("alternate city as a number", base({ merchant_city_alternate_language: 888 }));
enc("UPI account as a number", base({ upi_merchant_account: 12345678 }));
// The SDK skips its length check for a number and writes it; Tonle checks the digits.
enc("language preference number past 2 digits", base({ language_preference: 123, merchant_name_alternate_language: "ចន" }), {
  difference: "number_past_limit",
});
enc("alternate city number past 15 digits", base({ merchant_city_alternate_language: 1234567890123456 }), {
  difference: "number_past_limit",
});
// Not integers: the SDK writes "12.5" and "true" into the code; Tonle refuses them.
enc("merchant id as a fraction", merchant({ merchant_id: 12.5 }), { difference: "not_text_or_int" });
enc("merchant id as a boolean", merchant({ merchant_id: true }), { difference: "not_text_or_int" });
enc("bill number as a boolean", base({ bill_number: true }), { difference: "not_text_or_int" });
enc("store label as a fraction", base({ store_label: 1.5 }), { difference: "not_text_or_int" });
// The SDK crashes on a number for the account id (it calls .split on it).
enc("bakong account as a number", base({ bakong_account_id: 12345 }), { difference: "not_text_or_int" });

// --- decode and verify --------------------------------------------------------------------
const decodeCases = [];
function dec(name, qr, opts = {}) {
  const nowMs = opts.now_ms ?? NOW;
  const decoded = guarded((s) => BakongKHQR.decode(s), qr, nowMs);
  const verified = guarded((s) => BakongKHQR.verify(s), qr, nowMs);
  decodeCases.push({
    id: `decode-${String(decodeCases.length + 1).padStart(4, "0")}`,
    name,
    qr,
    now_ms: nowMs,
    sdk_decode: decoded === "hang" || decoded.crash ? decoded : decoded.data,
    sdk_verify: verified === "hang" || verified.crash ? verified : verified.isValid,
    difference: opts.difference ?? null,
  });
}
for (const c of encodeCases) {
  if (c.sdk.qr && !c.difference) dec(`encoded: ${c.name}`, c.sdk.qr, { now_ms: c.now_ms });
}
// Every KHQR-looking string in the SDK's own test suite (real bank codes among them).
const seen = new Set();
function walk(dir) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) walk(p);
    else if (entry.name.endsWith(".js")) {
      const src = fs.readFileSync(p, "utf8");
      for (const m of src.matchAll(/"(000201[^"\\]{20,})"/g)) {
        if (!seen.has(m[1])) {
          seen.add(m[1]);
          dec(`SDK test suite: ${path.relative(sdkDir, p)}`, m[1]);
        }
      }
    }
  }
}
walk(path.join(sdkDir, "node_modules/bakong-khqr/test"));

// ThaiQR / PromptPay, built here with the SDK's CRC.
function tlv(tag, value) {
  return tag + String(value.length).padStart(2, "0") + value;
}
function withCrc(body) {
  const s = body + "6304";
  return s + crc16(s);
}
const promptpay = [
  ["PromptPay mobile static", tlv("00", "01") + tlv("01", "11") + tlv("29", tlv("00", "A000000677010111") + tlv("01", "0066812345678")) + tlv("53", "764") + tlv("58", "TH")],
  ["PromptPay mobile dynamic", tlv("00", "01") + tlv("01", "12") + tlv("29", tlv("00", "A000000677010111") + tlv("01", "0066812345678")) + tlv("53", "764") + tlv("54", "150.00") + tlv("58", "TH")],
  ["PromptPay national id", tlv("00", "01") + tlv("01", "11") + tlv("29", tlv("00", "A000000677010111") + tlv("02", "1234567890123")) + tlv("53", "764") + tlv("58", "TH")],
  ["PromptPay e-wallet", tlv("00", "01") + tlv("01", "12") + tlv("29", tlv("00", "A000000677010111") + tlv("03", "004999000288505")) + tlv("53", "764") + tlv("54", "25.50") + tlv("58", "TH")],
  ["PromptPay bill payment", tlv("00", "01") + tlv("01", "12") + tlv("30", tlv("00", "A000000677010112") + tlv("01", "010555012345601") + tlv("02", "INV0001") + tlv("03", "REF2")) + tlv("53", "764") + tlv("54", "1000.00") + tlv("58", "TH") + tlv("59", "SIAM SHOP CO LTD") + tlv("60", "BANGKOK") + tlv("62", tlv("07", "T01"))],
];
for (const [name, body] of promptpay) dec(name, withCrc(body), { difference: "not_khqr" });

// Strings the SDK mishandles: it hangs on a subtag whose length is not a number,
// "decodes" an unparseable template into junk keys ("0", "1", ...), and accepts
// a wrong country and duplicate tags.
const khqrBody = tlv("00", "01") + tlv("01", "11") + tlv("29", tlv("00", "jonhsmith@nbcq")) +
  tlv("52", "5999") + tlv("53", "116");
const tail = tlv("58", "KH") + tlv("59", "Jonh Smith") + tlv("60", "Phnom Penh");
dec("subtag length not a number (SDK hangs)", withCrc(khqrBody + tail + "6204" + "01ab"), {
  difference: "sdk_hangs",
});
dec("template 64 not TLV (SDK hangs)", withCrc(khqrBody + tail + tlv("64", "km")), {
  difference: "sdk_hangs",
});
dec("template 62 not TLV (SDK returns junk keys)", withCrc(khqrBody + tail + tlv("62", "ab12cd")), {
  difference: "sdk_junk_keys",
});
dec("country TH in a KHQR (SDK accepts)", withCrc(khqrBody + tlv("58", "TH") + tlv("59", "Jonh Smith") + tlv("60", "Phnom Penh")), {
  difference: "country_not_kh",
});
dec("tag 59 twice (SDK accepts)", withCrc(khqrBody + tail + tlv("59", "Other Name")), {
  difference: "duplicate_tag",
});
dec("amount 1,000 (SDK accepts)", withCrc(khqrBody.replace("010211", "010211") + tlv("54", "1,000") + tail + tlv("99", tlv("00", String(NOW)) + tlv("01", String(NOW + HOUR)))), {
  difference: "amount_not_plain_decimal",
});

fs.mkdirSync(path.join(__dirname, "fixtures"), { recursive: true });
const out = {
  sdk: `bakong-khqr@${sdkVersion}`,
  generated_by: "tests/khqr/generate_fixtures.sh",
  now_ms: NOW,
  encode: encodeCases,
  decode: decodeCases,
};
// One case a line: small diffs when the SDK changes.
const lines = (cases) => cases.map((c) => "  " + JSON.stringify(c)).join(",\n");
const json = [
  "{",
  `"sdk": ${JSON.stringify(out.sdk)},`,
  `"generated_by": ${JSON.stringify(out.generated_by)},`,
  `"now_ms": ${NOW},`,
  `"encode": [\n${lines(encodeCases)}\n],`,
  `"decode": [\n${lines(decodeCases)}\n]`,
  "}",
].join("\n");
JSON.parse(json);
fs.writeFileSync(path.join(__dirname, "fixtures/sdk_cases.json"), json + "\n");
console.log(`bakong-khqr@${sdkVersion}: ${encodeCases.length} encode cases, ${decodeCases.length} decode cases`);
