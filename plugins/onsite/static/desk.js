// Registration desk: a keyboard-wedge scanner types the code and Enter into the always-focused
// input; each scan is answered with a colour, a text and a beep (WebAudio, no sound files).
(function () {
  "use strict";
  var desk = document.getElementById("desk");
  if (!desk) { return; }
  var input = document.getElementById("scan");
  var box = document.getElementById("result");
  var title = document.getElementById("result-title");
  var who = document.getElementById("result-person");
  var why = document.getElementById("result-reason");
  var count = document.getElementById("gate-count");
  var gate = desk.dataset.gate;
  var titles = {};
  document.getElementById("titles").content.querySelectorAll("span").forEach(function (s) {
    titles[s.dataset.result] = s.textContent;
  });
  var audio = null;
  function beep(result) {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      // ok: one high tone; already in: two mid tones; refused: one long low tone.
      var plan = {ok: [[880, 0, 0.15]], already_in: [[620, 0, 0.12], [620, 0.18, 0.12]]}[result] ||
        [[220, 0, 0.5]];
      plan.forEach(function (p) {
        var osc = audio.createOscillator(), gain = audio.createGain();
        osc.frequency.value = p[0];
        osc.connect(gain); gain.connect(audio.destination);
        gain.gain.value = 0.2;
        osc.start(audio.currentTime + p[1]); osc.stop(audio.currentTime + p[1] + p[2]);
      });
    } catch (e) { /* no audio device: the colour and text still answer */ }
  }
  function nonce() {
    var a = new Uint8Array(12);
    window.crypto.getRandomValues(a);
    return Array.prototype.map.call(a, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }
  function show(result, body) {
    box.className = "result result-" + result;
    box.dataset.result = result;
    title.textContent = titles[result] || result;
    var p = body && body.person;
    who.textContent = p ? [p.name_zh, p.name_en, p.company, p.category_title].filter(Boolean).join(" · ") : "";
    why.textContent = body ? (body.reason || (body.error && body.error.message) || "") : "";
  }
  // Print on check-in (a show setting): the first admitted entry of a visitor whose badge was
  // never printed prints it at once; the PDF is fetched, shown in a hidden frame and printed
  // (a desk browser in kiosk-printing mode sends it straight to the badge printer). A badge
  // printed before is never reprinted here: reprints need a reason (server answers 409).
  var printStatus = document.getElementById("print-status");
  var printFrame = document.getElementById("print-frame");
  function say(text, link) {
    printStatus.hidden = false;
    printStatus.textContent = text;
    if (link) {
      var a = document.createElement("a");
      a.href = link; a.textContent = desk.dataset.msgReprint; a.target = "_blank";
      printStatus.appendChild(document.createTextNode(" "));
      printStatus.appendChild(a);
    }
  }
  function printBadge(registrationId) {
    say(desk.dataset.msgPrinting);
    var url = desk.dataset.badgeUrl.replace("/0?", "/" + encodeURIComponent(registrationId) + "?");
    // A POST with the page's CSRF token: printing is recorded, so it is never a plain link.
    return fetch(url, {method: "POST", credentials: "same-origin",
                       headers: {"X-CSRFToken": window.crmExpo.csrfToken()}}).then(function (r) {
      if (r.status === 409) {
        return r.json().then(function (j) { say(j.error.message, j.error.reprint_url); });
      }
      if (!r.ok) { throw new Error("HTTP " + r.status); }
      return r.blob().then(function (pdf) {
        if (printFrame.dataset.url) { URL.revokeObjectURL(printFrame.dataset.url); }
        printFrame.dataset.url = URL.createObjectURL(pdf);
        printFrame.onload = function () {
          try { printFrame.contentWindow.print(); } catch (e) { /* the PDF viewer prints on its own */ }
          say(desk.dataset.msgPrinted);
          printStatus.dataset.printed = String(registrationId);
        };
        printFrame.src = printFrame.dataset.url;
      });
    }).catch(function () { say(desk.dataset.msgPrintFailed); });
  }
  var printOnCheckin = desk.dataset.printOnCheckin === "1";
  // Today's count for this gate: this desk's admissions are added as they happen; the server's
  // figure (other desks at the same gate included) is fetched every half minute, not after
  // every scan: counting the day's scans is work the gate's hot path should not pay for.
  function refreshCount() {
    fetch(desk.dataset.countApi + "?gate=" + encodeURIComponent(gate), {credentials: "same-origin"})
      .then(function (r) { return r.json(); }).then(function (j) { count.textContent = j.count; })
      .catch(function () {});
  }
  setInterval(refreshCount, 30000);
  function scan(code) {
    var body = {code: code, gate: gate, nonce: nonce(), desk: "web", device: navigator.userAgent.slice(0, 64)};
    var send = function (retry) {
      return window.crmExpo.api("POST", desk.dataset.api, body).then(function (res) {
        if (res.status !== 200) { show("error", res.body); beep("error"); return; }
        show(res.body.result, res.body); beep(res.body.result);
        if (res.body.result === "ok" && res.body.reason_code !== "exit") { count.textContent = String((parseInt(count.textContent, 10) || 0) + 1); }
        if (printOnCheckin && res.body.reason_code === "admitted" && res.body.person) {
          printBadge(res.body.person.registration_id);
        }
      }, function () {
        // Network error: the same nonce makes a retry safe (never counted twice).
        if (retry) { return send(false); }
        show("error", {reason: desk.dataset.msgError}); beep("error");
      });
    };
    return send(true);
  }
  document.getElementById("scan-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var code = input.value.trim();
    input.value = "";
    if (code) { scan(code); }
    input.focus();
  });
  // Keep the scanner input focused unless the user works in another field.
  document.addEventListener("click", function (ev) {
    if (!ev.target.closest("input, select, textarea, button, a, summary, label")) { input.focus(); }
  });
  var search = document.getElementById("search");
  var list = document.getElementById("search-results");
  var rowTpl = document.getElementById("search-row");
  var timer = null;
  search.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(function () {
      var q = search.value.trim();
      list.innerHTML = "";
      if (q.length < 2) { return; }
      fetch(desk.dataset.search + "?q=" + encodeURIComponent(q), {credentials: "same-origin"})
        .then(function (r) { return r.json(); }).then(function (j) {
          j.items.forEach(function (it) {
            var li = rowTpl.content.firstElementChild.cloneNode(true);
            li.querySelector(".who").textContent = [it.name_zh, it.name_en, it.company, it.category_title]
              .filter(Boolean).join(" · ");
            li.querySelector(".checkin").addEventListener("click", function () { scan(it.code); input.focus(); });
            li.querySelector(".badge-form").action = it.badge_url;
            li.querySelector(".reprint-link").href = it.reprint_url;
            list.appendChild(li);
          });
        });
    }, 250);
  });
  // A walk-in just registered (and checked in) at this desk: print the new badge.
  var walkinBadge = document.getElementById("walkin-badge");
  if (printOnCheckin && walkinBadge) { printBadge(walkinBadge.dataset.registration); }
  input.focus();
})();
