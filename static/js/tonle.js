/* Tonle's page behaviour. No inline handlers anywhere (the Content-Security-Policy
   refuses them): elements say what they want with data- attributes. */
(function () {
  "use strict";
  function ready(fn) {
    if (document.readyState !== "loading") { fn(); }
    else { document.addEventListener("DOMContentLoaded", fn); }
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
  });
})();
