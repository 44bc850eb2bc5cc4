// Live progress for a CSV import: polls the run's JSON status and moves the <progress> bar.
// Without JavaScript the page refreshes itself (a <noscript> meta refresh) and shows the same figures.
(function () {
  "use strict";
  var card = document.getElementById("import-run");
  var bar = document.getElementById("import-progress");
  var text = document.getElementById("import-progress-text");
  if (!card || !bar || !text) return;
  var url = card.dataset.statusUrl;
  var shown = card.dataset.status;
  var checking = { uploaded: true, checking: true };

  function figure(n) {
    return Number(n).toLocaleString("en");
  }

  function show(run) {
    if (run.done || checking[run.status] !== checking[shown]) {
      window.location.reload(); // the next step has its own page: the preview, or the outcome
      return;
    }
    bar.max = run.max || 1;
    if (run.status === "uploaded" || run.status === "confirmed") {
      text.textContent = "Waiting for the worker…";
    } else if (run.status === "checking") {
      bar.value = run.value;
      text.textContent = figure(run.value) + " of " + figure(run.max) + " rows checked";
    } else if (run.value) {
      bar.value = run.value;
      text.textContent = figure(run.value) + " of " + figure(run.max) + " rows written";
    }
    window.setTimeout(poll, 1000);
  }

  function poll() {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw new Error(response.status);
        return response.json();
      })
      .then(show)
      .catch(function () {
        window.setTimeout(poll, 5000);
      });
  }

  window.setTimeout(poll, 1000);
})();
