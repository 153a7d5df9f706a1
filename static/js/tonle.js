/* Tonle's page behaviour. No inline handlers anywhere (the Content-Security-Policy
   refuses them): elements say what they want with data- attributes. Listeners sit on
   the document, so content swapped in later (the payment page's live part) works
   without being wired again. Every page works without this file too. */
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function ready(fn) {
    if (document.readyState !== "loading") { fn(); }
    else { document.addEventListener("DOMContentLoaded", fn); }
  }

  // --- destructive actions ask first -------------------------------------------
  // <form data-confirm="Revoke this key?" data-confirm-button="Revoke key">: the
  // submit opens a dialog; confirming posts the form with confirmed=yes. Without
  // JavaScript the server answers the same question on a page of its own.
  var dialog = null;
  var pending = null;

  // the words this script writes, in the page's language: <body data-word-copy="…">
  function word(name, english) {
    var key = "word" + name.charAt(0).toUpperCase() + name.slice(1);
    return (document.body && document.body.dataset[key]) || english;
  }

  function confirmDialog() {
    if (dialog) { return dialog; }
    dialog = document.createElement("dialog");
    dialog.className = "confirm";
    dialog.id = "confirm-dialog";
    dialog.setAttribute("aria-labelledby", "confirm-dialog-text");
    var text = document.createElement("p");
    text.id = "confirm-dialog-text";
    var actions = document.createElement("div");
    actions.className = "actions";
    var cancel = document.createElement("button");
    cancel.type = "button";
    cancel.textContent = word("cancel", "Cancel");
    cancel.dataset.confirmCancel = "";
    var ok = document.createElement("button");
    ok.type = "button";
    ok.className = "danger solid";
    ok.dataset.confirmOk = "";
    actions.appendChild(cancel);
    actions.appendChild(ok);
    dialog.appendChild(text);
    dialog.appendChild(actions);
    document.body.appendChild(dialog);
    cancel.addEventListener("click", function () { pending = null; dialog.close(); });
    ok.addEventListener("click", function () {
      var job = pending;
      pending = null;
      dialog.close();
      if (!job) { return; }
      var flag = document.createElement("input");
      flag.type = "hidden";
      flag.name = "confirmed";
      flag.value = "yes";
      job.form.appendChild(flag);
      job.form.dataset.confirmed = "yes";
      if (job.form.requestSubmit) { job.form.requestSubmit(job.submitter || undefined); }
      else { job.form.submit(); }
    });
    return dialog;
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches || !form.matches("form[data-confirm]")) { return; }
    if (form.dataset.confirmed === "yes") { return; }
    var box = confirmDialog();
    if (typeof box.showModal !== "function") { return; }  // the server asks instead
    event.preventDefault();
    pending = {form: form, submitter: event.submitter};
    box.querySelector("#confirm-dialog-text").textContent = form.dataset.confirm;
    box.querySelector("[data-confirm-ok]").textContent =
      form.dataset.confirmButton || word("confirm", "Yes, do it");
    box.showModal();
  });

  // --- copy buttons ----------------------------------------------------------------
  // <button data-copy="#new-key" hidden>Copy</button>: shown here, copies the
  // target's text.
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-copy]") : null;
    if (!button) { return; }
    var target = document.querySelector(button.dataset.copy);
    if (!target) { return; }
    var text = target.textContent.trim();
    function done() {
      button.classList.add("copied");
      button.textContent = word("copied", "Copied");
      setTimeout(function () {
        button.classList.remove("copied");
        button.textContent = word("copy", "Copy");
      }, 2000);
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () { select(target); });
    } else {
      select(target);
      try { if (document.execCommand("copy")) { done(); } } catch (e) { /* selected */ }
    }
  });

  function select(element) {
    var range = document.createRange();
    range.selectNodeContents(element);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  function showCopyButtons(root) {
    root.querySelectorAll("[data-copy][hidden]").forEach(function (el) { el.hidden = false; });
  }

  // --- the payment page: live status, and the whole page turns when it changes ----
  // <div data-live-status-url=… data-live-fragment-url=… data-status=… data-flag=…>
  function livePayment(root) {
    var badge = document.getElementById("live-status");
    var flag = document.getElementById("live-flag");
    var banner = document.getElementById("paid-banner");
    var countdown = document.getElementById("countdown");
    var countdownLine = document.getElementById("countdown-line");
    var part = document.getElementById("payment-live");
    var state = {status: root.dataset.status, flag: root.dataset.flag || ""};
    var deadline = countdown ? parseInt(countdown.dataset.expires, 10) * 1000 : null;
    var started = Date.now();

    function tick() {
      if (!countdown || state.status !== "pending") { return; }
      var left = Math.max(0, Math.round((deadline - Date.now()) / 1000));
      var h = Math.floor(left / 3600), m = Math.floor((left % 3600) / 60), s = left % 60;
      var text = (h ? h + ":" + (m < 10 ? "0" : "") : "") + m + ":" + (s < 10 ? "0" : "") + s;
      countdown.textContent = left > 0 ? text : word("expired", "expired");
    }

    function refresh() {
      // the details, Bakong transactions, actions and refund form, as the server
      // renders them now
      if (!part) { return Promise.resolve(); }
      return fetch(root.dataset.liveFragmentUrl, {credentials: "same-origin"})
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) {
          if (html === null) { return; }
          part.innerHTML = html;
          showCopyButtons(part);
        });
    }

    function show(data) {
      var changed = data.status !== state.status || (data.flag || "") !== state.flag;
      state = {status: data.status, flag: data.flag || ""};
      badge.dataset.status = data.status;
      badge.className = "badge " + data.status;
      badge.textContent = data.status_label;
      if (data.flag) { flag.hidden = false; flag.textContent = data.flag_label; }
      else { flag.hidden = true; }
      banner.hidden = data.status !== "paid";
      if (data.status !== "pending" && countdownLine) { countdownLine.hidden = true; }
      if (changed) { return refresh(); }
    }

    function delay() {
      // every 2 s while a customer may be scanning, then gently less often
      return Date.now() - started < 5 * 60 * 1000 ? 2000 : 10000;
    }

    function poll() {
      fetch(root.dataset.liveStatusUrl, {
        headers: {"Accept": "application/json"}, credentials: "same-origin"
      })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) { if (data) { return show(data); } })
        .catch(function () {})
        .finally(function () {
          if (state.status === "pending") { setTimeout(poll, delay()); }
        });
    }

    tick();
    setInterval(tick, 1000);
    if (state.status === "pending") { setTimeout(poll, 1500); }
  }

  ready(function () {
    // <select data-submit-on-change>: choosing submits its form (the merchant switch)
    document.querySelectorAll("select[data-submit-on-change]").forEach(function (el) {
      el.addEventListener("change", function () { el.form.submit(); });
    });
    // <a data-history-back>: back to the previous page
    document.querySelectorAll("a[data-history-back]").forEach(function (el) {
      el.addEventListener("click", function (event) {
        if (window.history.length > 1) { event.preventDefault(); window.history.back(); }
      });
    });
    // <button data-nav-toggle>: on a phone the navigation folds behind it
    document.querySelectorAll("[data-nav-toggle]").forEach(function (button) {
      var bar = button.closest(".topbar");
      button.addEventListener("click", function () {
        var open = bar.classList.toggle("nav-open");
        button.setAttribute("aria-expanded", open ? "true" : "false");
      });
    });
    showCopyButtons(document);
    var live = document.querySelector("[data-live-status-url]");
    if (live) { livePayment(live); }
  });
})();
