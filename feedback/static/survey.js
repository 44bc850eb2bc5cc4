// Progressive only: the survey works without this file. It moves focus to the error summary when the page
// comes back with errors, and shows "x of n answered" as the customer goes.
(function () {
  "use strict";
  // Opened means a person: tell the server once the page is actually shown (mail scanners fetch, never show).
  var beacon = document.querySelector("[data-seen-url]");
  var told = false;
  function tell() {
    if (told || !beacon || document.visibilityState !== "visible") return;
    told = true;
    var url = beacon.getAttribute("data-seen-url");
    if (!(navigator.sendBeacon && navigator.sendBeacon(url))) {
      fetch(url, { method: "POST", credentials: "same-origin", keepalive: true }).catch(function () {});
    }
  }
  tell();
  document.addEventListener("visibilitychange", tell);

  var summary = document.getElementById("error-summary");
  if (summary && document.activeElement !== summary) summary.focus();

  var form = document.getElementById("survey-form");
  var progress = document.getElementById("survey-progress");
  if (!form || !progress) return;
  var questions = form.querySelectorAll(".question");
  function answered(question) {
    var fields = question.querySelectorAll("input, textarea");
    for (var i = 0; i < fields.length; i++) {
      var field = fields[i];
      if ((field.type === "radio" || field.type === "checkbox") ? field.checked : field.value.trim() !== "") return true;
    }
    return false;
  }
  function update() {
    var count = 0;
    for (var i = 0; i < questions.length; i++) if (answered(questions[i])) count++;
    progress.textContent = progress.dataset.template.replace("{answered}", count).replace("{total}", questions.length);
  }
  form.addEventListener("change", update);
  update();
  progress.hidden = false;
})();
