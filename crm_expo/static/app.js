// crm-expo shell behaviour. No external scripts: venues often have no internet.
(function () {
  "use strict";
  document.querySelectorAll("select[data-autosubmit]").forEach(function (el) {
    el.addEventListener("change", function () { el.form.submit(); });
  });
  // fetch() helper for pages that call the JSON API with the session: sends the CSRF token.
  window.crmExpo = {
    csrfToken: function () {
      var m = document.querySelector('meta[name="csrf-token"]');
      return m ? m.getAttribute("content") : "";
    },
    api: function (method, url, body) {
      return fetch(url, {
        method: method, credentials: "same-origin",
        headers: {"Content-Type": "application/json", "X-CSRFToken": window.crmExpo.csrfToken()},
        body: body === undefined ? undefined : JSON.stringify(body)
      }).then(function (r) { return r.json().then(function (j) { return {status: r.status, body: j}; }); });
    }
  };
})();
