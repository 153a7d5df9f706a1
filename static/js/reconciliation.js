/* The review queue in place: j/k move, c confirm, r reject, u undo the last
   decision (unmatch or unreject). Each row's form still works without this
   script (it posts and the page comes back); with it, the decision is sent with
   fetch and the row updates where it is. No inline handlers: CSP allows this
   file and nothing else. */
(function () {
  "use strict";

  var queue = document.querySelector("[data-review-queue]");
  if (!queue) return;
  var status = document.getElementById("queue-status");
  // the words come from the page, translated there into the reader's language
  var words = queue.dataset;
  var undoStack = [];
  var current = null;

  function rows() {
    return Array.prototype.slice.call(queue.querySelectorAll("tr.queue-row"));
  }

  function say(text, kind) {
    if (!status) return;
    status.hidden = false;
    status.textContent = text;
    status.className = "msg " + (kind || "");
  }

  function focusRow(row) {
    if (!row) return;
    if (current) current.classList.remove("current");
    current = row;
    row.classList.add("current");
    row.focus({ preventScroll: true });
    var box = row.getBoundingClientRect();
    if (box.top < 70 || box.bottom > window.innerHeight) {
      row.scrollIntoView({ block: "center" });
    }
  }

  function move(step) {
    var all = rows();
    if (!all.length) return;
    var at = current ? all.indexOf(current) : -1;
    var next = Math.min(Math.max(at + step, 0), all.length - 1);
    focusRow(all[next]);
  }

  function nextOpen(from) {
    var all = rows();
    for (var i = all.indexOf(from) + 1; i < all.length; i++) {
      if (!all[i].classList.contains("decided")) return all[i];
    }
    return from;
  }

  function csrf(form) {
    var field = form && form.querySelector("input[name=csrfmiddlewaretoken]");
    if (field) return field.value;
    var any = document.querySelector("input[name=csrfmiddlewaretoken]");
    return any ? any.value : "";
  }

  function post(url, form, extra) {
    var body = form ? new FormData(form) : new FormData();
    Object.keys(extra || {}).forEach(function (key) {
      body.set(key, extra[key]);
    });
    return fetch(url, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRFToken": csrf(form) },
    }).then(function (response) {
      return response.json().then(function (data) {
        data.ok = response.ok;
        return data;
      });
    });
  }

  function settle(row, state, text) {
    row.classList.add("decided");
    row.dataset.status = state;
    var cell = row.querySelector("[data-state] .result");
    if (!cell) {
      cell = document.createElement("div");
      cell.className = "result";
      row.querySelector("[data-state]").appendChild(cell);
    }
    var badge = state === "confirmed" ? "ok" : state === "rejected" ? "bad" : "pending";
    cell.innerHTML = "";
    var label = document.createElement("span");
    label.className = "badge " + badge;
    label.textContent = words["state" + state.charAt(0).toUpperCase() + state.slice(1)] || state;
    cell.appendChild(label);
    var form = row.querySelector("form.decide");
    if (form) form.hidden = state !== "proposed";
    say(text, "success");
  }

  function decide(row, action) {
    var form = row && row.querySelector("form.decide");
    if (!form || row.classList.contains("decided")) return;
    var url = action === "reject" ? form.dataset.rejectUrl : form.action;
    var error = form.querySelector("[data-error]");
    if (error) error.textContent = "";
    post(url, form).then(function (data) {
      if (!data.ok) {
        if (error) error.textContent = data.message;
        say(data.message, "error");
        var field = data.field && form.querySelector("[name=" + data.field + "]");
        if (field) field.focus();
        return;
      }
      undoStack.push({ row: row, url: form.dataset.unmatchUrl, was: data.status });
      settle(row, data.status, data.message + " " + words.undoHint);
      focusRow(nextOpen(row));
    }).catch(function () {
      say(words.noAnswer, "error");
    });
  }

  function undo() {
    var last = undoStack.pop();
    if (!last) {
      say(words.nothingToUndo, "");
      return;
    }
    post(last.url, last.row.querySelector("form.decide"), {
      reason: words.undoReason,
    }).then(function (data) {
      if (!data.ok) {
        say(data.message, "error");
        return;
      }
      if (data.status === "proposed") {
        last.row.classList.remove("decided");
        last.row.dataset.status = "proposed";
        var result = last.row.querySelector("[data-state] .result");
        if (result) result.remove();
        var form = last.row.querySelector("form.decide");
        if (form) form.hidden = false;
        say(data.message, "success");
      } else {
        settle(last.row, data.status, data.message);
      }
      focusRow(last.row);
    });
  }

  queue.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-action]");
    var row = event.target.closest("tr.queue-row");
    if (row) focusRow(row);
    if (!button || !row) return;
    event.preventDefault();
    decide(row, button.dataset.action);
  });

  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    var tag = (event.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "select" || tag === "textarea") {
      if (event.key === "Escape") event.target.blur();
      return;
    }
    var key = event.key;
    if (key === "j") move(1);
    else if (key === "k") move(-1);
    else if (key === "c") decide(current, "confirm");
    else if (key === "r") decide(current, "reject");
    else if (key === "u") undo();
    else return;
    event.preventDefault();
  });

  var pageBox = document.querySelector("[data-select-page]");
  if (pageBox) {
    pageBox.addEventListener("change", function () {
      queue.querySelectorAll("input[name=ids]").forEach(function (box) {
        box.checked = pageBox.checked;
      });
    });
  }

  var first = rows()[0];
  if (first) focusRow(first);
})();
